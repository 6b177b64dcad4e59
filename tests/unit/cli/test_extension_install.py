"""``hostler extension install|update|avail|installed|remove``: against the real API app in-process
(a memory store, a fake engine's images), the CLI's output checked against golden files: an
upgrade plan, ``Up-to-date.``, a downgrade and the same version refused, and the plans of an
install and of updating all. HOSTLER_UPDATE_GOLDEN=1 rewrites the golden files."""

from __future__ import annotations

import datetime
import os
import pathlib
import warnings
from collections.abc import Iterator

import httpx
import pytest
import typer.testing
from starlette import exceptions as starlette_exceptions

from hostler import config, testing
from hostler.api import app
from hostler.cli import common, main
from hostler.core import images
from hostler.crypto import aesgcm
from hostler.services import installs, pipelines
from hostler.services.context import Context

from .conftest import TerminalRunner

with warnings.catch_warnings():
    warnings.simplefilter("ignore", starlette_exceptions.StarletteDeprecationWarning)
    from fastapi import testclient

GOLDEN = pathlib.Path(__file__).parent / "golden" / "extension"
T0 = datetime.datetime(2025, 7, 1, 12, 0, tzinfo=datetime.UTC)


class AppTransport(httpx.BaseTransport):
    """Sends each request to the API app through a Starlette test client."""

    def __init__(self, test_client: testclient.TestClient) -> None:
        self._client = test_client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self._client.send(request)
        return response


@pytest.fixture
def engine() -> testing.FakeScheduler:
    """Return a fake engine with slack 1.0.0, 1.2.0, 1.3.0 and 2.0.0, and pager 0.9.0."""
    scheduler = testing.FakeScheduler()
    for name, version in [
        ("slack", "1.0.0"),
        ("slack", "1.2.0"),
        ("slack", "1.3.0"),
        ("slack", "2.0.0"),
        ("pager", "0.9.0"),
    ]:
        labels = {images.NAME_LABEL: name, images.VERSION_LABEL: version}
        scheduler.add_image(f"hostler-ext-{name}:{version}", labels)
    return scheduler


@pytest.fixture
def ctx(engine: testing.FakeScheduler) -> Context:
    """Return a context over a memory store where two pipelines subscribe to slack."""
    made = Context(
        store=testing.MemoryStore(),
        logs=testing.MemoryLogStore(),
        images=engine.images,
        clock=lambda: T0,
        cipher=aesgcm.Keyring(aesgcm.parse_key(aesgcm.new_key())),
    )
    for pipeline in ("build", "deploy"):
        trigger = {"extension": "slack", "settings": {"channel": "#ops"}}
        body = {"id": pipeline, "tasks": [{"id": "t", "image": "x"}], "notifications": [trigger]}
        pipelines.up(made, "default", body)
    return made


@pytest.fixture
def transport(ctx: Context, tmp_path: pathlib.Path) -> Iterator[httpx.BaseTransport]:
    settings = config.Settings(data_dir=tmp_path / "server", dev=True)
    with testclient.TestClient(app.create(ctx, settings)) as test_client:
        yield AppTransport(test_client)


def hostler(
    transport: httpx.BaseTransport, *args: str, answer: str | None = None
) -> typer.testing.Result:
    """Run the CLI against the in-process server; with ``answer``, on a terminal where a person
    types it."""
    runner = typer.testing.CliRunner() if answer is None else TerminalRunner()
    state = common.State(transport=transport)
    return runner.invoke(main.app, list(args), obj=state, input=answer)


def golden(name: str, *runs: tuple[tuple[str, ...], typer.testing.Result]) -> None:
    """Compare what ``runs`` printed and their exit statuses with the golden file ``name``."""
    text = ""
    for args, done in runs:
        text += f"$ hostler {' '.join(args)}\n{done.stdout}"
        if done.stderr:
            text += f"[stderr]\n{done.stderr}"
        text += f"[exit {done.exit_code}]\n"
        assert "Traceback" not in done.output
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("HOSTLER_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{path} differs:\n{text}"


def step(
    transport: httpx.BaseTransport, *args: str, answer: str | None = None
) -> tuple[tuple[str, ...], typer.testing.Result]:
    return args, hostler(transport, *args, answer=answer)


def test_install_shows_its_plan_asks_and_installs(
    transport: httpx.BaseTransport, ctx: Context
) -> None:
    golden(
        "install",
        step(transport, "extension", "install", "slack", "hostler-ext-slack", "--dry-run"),
        step(transport, "extension", "install", "slack", "hostler-ext-slack", "--version", "1"),
        step(
            transport,
            "extension",
            "install",
            "slack",
            "hostler-ext-slack",
            "--version",
            "1",
            "--config",
            "TOKEN=xoxb-1",
            answer="n\n",
        ),
        step(
            transport,
            "extension",
            "install",
            "slack",
            "hostler-ext-slack:1.2.0",
            "--config",
            "TOKEN=xoxb-1",
            answer="y\n",
        ),
        step(transport, "extension", "installed"),
    )
    assert installs.config_of(ctx, ctx.store.get_extension("slack")) == {"TOKEN": "xoxb-1"}


def test_an_upgrade_plan_then_up_to_date(transport: httpx.BaseTransport) -> None:
    hostler(transport, "extension", "install", "slack", "hostler-ext-slack:1.2.0", "-y")
    golden(
        "upgrade",
        step(transport, "extension", "avail"),
        step(transport, "extension", "update", "slack", "-y"),
        step(transport, "extension", "update", "slack"),
        step(transport, "extension", "avail"),
    )


def test_a_downgrade_and_the_same_version_are_refused_without_their_flag(
    transport: httpx.BaseTransport,
) -> None:
    hostler(transport, "extension", "install", "slack", "hostler-ext-slack:1.2.0", "-y")
    golden(
        "refused",
        step(transport, "extension", "update", "slack@1.0.0", "-y"),
        step(transport, "extension", "update", "slack@1.2.0", "-y"),
        step(transport, "extension", "update", "slack@1.2.0", "--force-same-version", "-y"),
        step(transport, "extension", "update", "slack@1.0.0", "--allow-downgrade", "-y"),
    )


def test_update_all_pins_and_remove(transport: httpx.BaseTransport) -> None:
    hostler(transport, "extension", "install", "slack", "hostler-ext-slack:1.0.0", "-y")
    hostler(transport, "extension", "install", "pager", "hostler-ext-pager", "-y")
    golden(
        "all",
        step(transport, "extension", "update", "--all", "--dry-run"),
        step(transport, "extension", "update", "slack@1", "-y"),
        step(transport, "extension", "update", "--all"),
        step(transport, "extension", "remove", "pager"),
        step(transport, "extension", "remove", "pager", "-y"),
        step(transport, "extension", "installed"),
    )


def test_usage_errors_are_clear(transport: httpx.BaseTransport) -> None:
    golden(
        "usage",
        step(transport, "extension", "update"),
        step(transport, "extension", "update", "slack", "--all"),
        step(transport, "extension", "install", "slack", "hostler-ext-slack", "--config", "X"),
        step(transport, "extension", "install", "chat", "hostler-ext-slack", "-y"),
        step(transport, "extension", "install", "slack", "busybox", "-y"),
        step(transport, "extension", "update", "ghost"),
    )
