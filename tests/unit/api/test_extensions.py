"""Extensions over the API: how each stands, and its output."""

from __future__ import annotations

import dataclasses
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
        ]

    def log(self, name: str, lines: int) -> list[str]:
        if name != "cron":
            raise errors.NotFound(f"extension '{name}': not installed", field="name")
        return [f"line {n}" for n in range(10)][-lines:]


@pytest.fixture
def api(ctx: Context, settings: config.Settings) -> Iterator[testclient.TestClient]:
    with testclient.TestClient(
        app.create(dataclasses.replace(ctx, extensions=Host()), settings)
    ) as client:
        yield client


def test_extensions_are_listed_with_how_they_stand(api: testclient.TestClient) -> None:
    answer = api.get(f"{API}/extensions")
    assert answer.status_code == 200
    assert answer.json()["items"] == [
        {"name": "cron", "state": "running", "pid": 4242, "restarts": 1, "subscriptions": 3},
        {"name": "interval", "state": "waiting", "pid": None, "restarts": 0, "subscriptions": 0},
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
