"""Reading pipeline files: YAML, JSON, or a Python script that prints the pipeline's JSON."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

import yaml

from hostler.cli import common

SUFFIXES = (".yaml", ".yml", ".json", ".py")
"""The file types ``read_pipeline`` understands."""

SCRIPT_TIMEOUT = 60.0
"""Seconds a pipeline script may take to print its pipeline."""


def read_pipeline(path: pathlib.Path) -> dict[str, Any]:
    """Return the pipeline configuration in ``path``; raise ``common.Failure`` saying what is wrong.

    ``.yaml``/``.yml`` and ``.json`` files hold the configuration; a ``.py`` file is run with this
    Python and must print the configuration as JSON (``Pipeline.main()`` of the SDK does).
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise common.Failure(
            f"file '{path}': unknown type '{suffix or path.name}'",
            hint="a pipeline file ends in .yaml, .yml, .json or .py",
        )
    if not path.is_file():
        raise common.Failure(f"file '{path}': not found")
    if suffix == ".py":
        value = _run_script(path)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise common.Failure(f"file '{path}': cannot be read ({exc})") from None
        value = _parse_json(path, text) if suffix == ".json" else _parse_yaml(path, text)
    if not isinstance(value, dict):
        found = "nothing" if value is None else type(value).__name__
        raise common.Failure(f"file '{path}': a pipeline must be a mapping, found {found}")
    return value


def _parse_yaml(path: pathlib.Path, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise common.Failure(f"{path}{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise common.Failure(f"{path}: not valid YAML ({exc})") from None


def _parse_json(path: pathlib.Path | str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise common.Failure(f"{path} line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def _run_script(path: pathlib.Path) -> Any:
    try:
        done = subprocess.run(
            [sys.executable, str(path)],
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise common.Failure(
            f"pipeline script '{path}': printed no pipeline within {SCRIPT_TIMEOUT:.0f}s"
        ) from None
    if done.returncode != 0:
        stderr = done.stderr.strip()
        raise common.Failure(
            f"pipeline script '{path}': exited with status {done.returncode}"
            + (f"\n{stderr}" if stderr else "")
        )
    if not done.stdout.strip():
        raise common.Failure(
            f"pipeline script '{path}': printed nothing",
            hint="end the script with pipeline.main() to print the pipeline's JSON",
        )
    return _parse_json(f"output of pipeline script '{path}'", done.stdout)
