"""The ``hostler`` application as a whole, ``service start`` and ``config default``."""

from __future__ import annotations

import pathlib
import sys
import types
from typing import Any

import pytest
import typer
import typer.main
import typer.testing

import hostler
from hostler import config
from hostler.cli import main

from .conftest import Invoke


def commands(group: Any, path: str = "hostler") -> list[tuple[str, Any]]:
    found = [(path, group)]
    for name, command in getattr(group, "commands", {}).items():
        found += commands(command, f"{path} {name}")
    return found


def test_every_command_and_option_has_help_text() -> None:
    missing = [
        f"{path} {param.name}" if param else path
        for path, command in commands(typer.main.get_command(main.app))
        for param in [None, *command.params]
        if not (param.help if param else command.help)
    ]
    assert missing == []


def test_every_command_turns_expected_errors_into_error_lines() -> None:
    callbacks = [
        command.callback
        for group in main.app.registered_groups
        for command in group.typer_instance.registered_commands  # type: ignore[union-attr]
    ]
    assert callbacks
    assert all(hasattr(callback, "__wrapped__") for callback in callbacks)


def test_config_default_prints_the_documented_default_file(invoke: Invoke) -> None:
    done = invoke("config", "default")

    assert done.exit_code == 0
    assert done.stdout == config.default_file().rstrip("\n") + "\n"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> list[config.Settings]:
    """Replace the server with a recorder of the settings it would be started with.

    Runs in an empty directory, so that no ./hostler.toml is read.
    """
    monkeypatch.chdir(tmp_path)
    started: list[config.Settings] = []
    fake = types.ModuleType("hostler.bootstrap")
    fake.serve = started.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hostler.bootstrap", fake)
    monkeypatch.setattr(hostler, "bootstrap", fake, raising=False)
    return started


def test_service_start_layers_options_over_file_and_environment(
    served: list[config.Settings], tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "server.toml"
    file.write_text("[server]\nport = 9000\nhost = '0.0.0.0'\n")
    monkeypatch.setenv("HOSTLER_ENGINE__MAX_RUNNING_TASKS", "3")
    data = tmp_path / "data"

    done = typer.testing.CliRunner().invoke(
        main.app,
        [
            "service",
            "start",
            "--dev",
            "--config",
            str(file),
            "--data-dir",
            str(data),
            "--port",
            "9100",
        ],
    )

    assert done.exit_code == 0, done.output
    [settings] = served
    assert settings.dev is True
    assert settings.data_dir == data
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 9100)
    assert settings.engine.max_running_tasks == 3


def test_service_start_with_a_bad_setting_is_an_error(
    served: list[config.Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTLER_SERVER__PROT", "9000")

    done = typer.testing.CliRunner().invoke(main.app, ["service", "start"])

    assert done.exit_code == 1
    assert done.stderr.startswith("error: config: 'server.prot' is not a known setting")
    assert "hint: " in done.stderr
    assert served == []


def test_version_option_prints_the_version() -> None:
    done = typer.testing.CliRunner().invoke(main.app, ["--version"])

    assert done.exit_code == 0
    assert done.stdout.startswith("hostler ")


def test_main_runs_the_application(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["hostler", "--version"])

    with pytest.raises(SystemExit) as exited:
        main.main()

    assert exited.value.code == 0


def test_unknown_command_is_a_usage_error(invoke: Invoke) -> None:
    done = invoke("launch")

    assert done.exit_code == 2
    assert "No such command" in done.stderr
