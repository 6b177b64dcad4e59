"""Fixtures: a fake Hostler API, and a way to run the CLI against it."""

from __future__ import annotations

from typing import Protocol

import pytest
import typer.testing

from hostler.cli import common, main

from .fakeapi import FakeApi


class Invoke(Protocol):
    def __call__(self, *args: str) -> typer.testing.Result: ...


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Rich see a wide, plain, non-interactive terminal, whatever the CI sets."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "HOSTLER_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("HOSTLER_URL", "http://hostler.test")
    monkeypatch.delenv("HOSTLER_TOKEN", raising=False)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the CLI asked for (it never really sleeps in these tests)."""
    return []


@pytest.fixture
def invoke(api: FakeApi, sleeps: list[float]) -> Invoke:
    runner = typer.testing.CliRunner()
    state = common.State(transport=api.transport, sleep=sleeps.append)

    def run(*args: str) -> typer.testing.Result:
        return runner.invoke(main.app, list(args), obj=state)

    return run
