"""Extensions over the API: how each stands, and its output."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterator

import pytest
from fastapi import testclient

from hostler import config
from hostler.api import app
from hostler.core import errors, extensions
from hostler.services import tokens
from hostler.services.context import Context

from .conftest import API, assert_problem


class Host:
    """Stands in for the supervisor."""

    def statuses(self) -> list[extensions.Status]:
        return [
            extensions.Status("cron", extensions.State.RUNNING, 4242, 1, 3),
            extensions.Status("interval", extensions.State.WAITING, None, 0, 0),
            extensions.Status("hook", extensions.State.RUNNING, None, 0, 1, "3f1abd22ad5d"),
        ]

    def __init__(self) -> None:
        self.delivered: list[extensions.Delivery] = []

    def forward(self, name: str, delivery: extensions.Delivery) -> extensions.Reply:
        if name != "webhook":
            raise errors.NotFound(f"extension '{name}': not installed", field="name")
        self.delivered.append(delivery)
        return extensions.Reply(202, {"run": 7})

    def wake(self) -> None:
        pass

    def log(self, name: str, lines: int) -> list[str]:
        if name != "cron":
            raise errors.NotFound(f"extension '{name}': not installed", field="name")
        return [f"line {n}" for n in range(10)][-lines:]


@pytest.fixture
def host() -> Host:
    return Host()


@pytest.fixture
def api(ctx: Context, settings: config.Settings, host: Host) -> Iterator[testclient.TestClient]:
    with testclient.TestClient(
        app.create(dataclasses.replace(ctx, extensions=host), settings)
    ) as client:
        yield client


def test_extensions_are_listed_with_how_they_stand(api: testclient.TestClient) -> None:
    answer = api.get(f"{API}/extensions")
    assert answer.status_code == 200
    assert answer.json()["items"] == [
        {"name": "cron", "state": "running", "pid": 4242, "container": None, "restarts": 1}
        | {"subscriptions": 3},
        {"name": "interval", "state": "waiting", "pid": None, "container": None, "restarts": 0}
        | {"subscriptions": 0},
        {"name": "hook", "state": "running", "pid": None, "container": "3f1abd22ad5d"}
        | {"restarts": 0, "subscriptions": 1},
    ]


def test_an_extensions_log_is_its_last_lines(api: testclient.TestClient) -> None:
    answer = api.get(f"{API}/extensions/cron/logs", params={"lines": 2})
    assert answer.json() == {"name": "cron", "lines": ["line 8", "line 9"]}
    assert_problem(api.get(f"{API}/extensions/ghost/logs"), 404, "not_found", field="name")
    assert_problem(
        api.get(f"{API}/extensions/cron/logs", params={"lines": 0}),
        422,
        "invalid_argument",
        field="lines",
    )


def test_a_server_without_extensions_lists_none(client: testclient.TestClient) -> None:
    assert client.get(f"{API}/extensions").json() == {"items": []}


def test_runs_an_extension_starts_say_so_even_in_development_mode(
    client: testclient.TestClient, ctx: Context, hello: dict[str, object]
) -> None:
    text = tokens.for_extension(ctx, "cron")
    started = client.post(
        f"{API}/namespaces/default/pipelines/hello/runs",
        json={},
        headers={"Authorization": f"Bearer {text}"},
    )
    assert started.json()["trigger"] == "extension:cron"
    # its token is replaced each time the extension starts
    again = tokens.for_extension(ctx, "cron")
    names = [t.name for t in ctx.store.list_tokens(None, 10)]
    assert names == ["extension-cron"]
    assert again != text
    plain = client.post(f"{API}/namespaces/default/pipelines/hello/runs", json={})
    assert plain.json()["trigger"] == "manual"


HOOK = f"{API}/extensions/webhook/events/default/hello/on-push"


def test_a_webhook_reaches_its_extension_whole_and_its_answer_goes_back(
    ctx: Context, tmp_path: pathlib.Path, host: Host
) -> None:
    secure = config.Settings(data_dir=tmp_path, server=config.Server(max_event_bytes=2048))
    with testclient.TestClient(
        app.create(dataclasses.replace(ctx, extensions=host), secure)
    ) as client:
        # no Hostler token: the extension checks the sender
        answer = client.post(
            HOOK,
            content=b'{"ref": "main"}',
            headers={"X-Signature": "sha256=ab"},
            params={"a": "1"},
        )
        assert (answer.status_code, answer.json()) == (202, {"run": 7})
        [delivery] = host.delivered
        assert delivery.subscription == "default/hello/on-push"
        assert (delivery.method, delivery.path, delivery.body) == (
            "POST",
            "/default/hello/on-push",
            b'{"ref": "main"}',
        )
        assert delivery.headers["x-signature"] == "sha256=ab"
        assert dict(delivery.query) == {"a": "1"}

        too_big = client.post(HOOK, content=b"x" * 2049)
        body = assert_problem(too_big, 413, "too_large", field=None)
        assert "server.max_event_bytes" in body["hint"]
        unknown = client.post(f"{API}/extensions/ghost/events/default/hello/t", content=b"{}")
        assert_problem(unknown, 404, "not_found", field="name")
        assert len(host.delivered) == 1
