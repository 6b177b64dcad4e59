"""Fixtures: a fake Hostler API, and a way to run the CLI against it."""

from __future__ import annotations

import contextlib
import io
import pathlib
import sys
from collections.abc import Iterator, Mapping
from typing import Protocol

import pytest
import typer.testing

from hostler.cli import common, main

from .fakeapi import FakeApi


def lines(text: str) -> list[str]:
    """Return the lines of ``text`` without trailing blanks (Rich pads the cells of a table)."""
    return [line.rstrip() for line in text.splitlines()]


class Invoke(Protocol):
    """Run the CLI with ``args``; with ``input``, stdin is a terminal where a person types it."""

    def __call__(self, *args: str, input: str | None = None) -> typer.testing.Result: ...


class TerminalRunner(typer.testing.CliRunner):
    """A runner whose standard input is a terminal (a TTY), so that commands may ask."""

    @contextlib.contextmanager
    def isolation(
        self,
        input: str | bytes | None = None,
        env: Mapping[str, str | None] | None = None,
        color: bool = False,
    ) -> Iterator[tuple[io.BytesIO, io.BytesIO, io.BytesIO]]:
        with super().isolation(input, env, color) as streams:
            sys.stdin.isatty = lambda: True  # type: ignore[method-assign]
            yield streams


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Rich see a wide, plain, non-interactive terminal, whatever the CI sets."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "HOSTLER_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("HOSTLER_URL", "http://hostler.test")
    monkeypatch.delenv("HOSTLER_TOKEN", raising=False)


@pytest.fixture(autouse=True)
def config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> pathlib.Path:
    """Keep CLI contexts in a fresh directory, never in the real home; return it."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("HOSTLER_CONTEXT", raising=False)
    return home


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the CLI asked for (it never really sleeps in these tests)."""
    return []


@pytest.fixture
def invoke(api: FakeApi, sleeps: list[float]) -> Invoke:
    state = common.State(transport=api.transport, sleep=sleeps.append)

    def run(*args: str, input: str | None = None) -> typer.testing.Result:
        runner = typer.testing.CliRunner() if input is None else TerminalRunner()
        return runner.invoke(main.app, list(args), obj=state, input=input)

    return run
