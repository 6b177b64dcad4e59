"""``hostler extension``: list and logs."""

from __future__ import annotations

import json

from .conftest import Invoke, lines
from .fakeapi import FakeApi

ITEMS = [
    {"name": "cron", "state": "running", "pid": 4242, "restarts": 1, "subscriptions": 3},
    {"name": "interval", "state": "waiting", "pid": None, "restarts": 0, "subscriptions": 0},
    {
        "name": "shellhook",
        "state": "running",
        "pid": None,
        "container": "3f1abd22ad5d",
        "restarts": 0,
        "subscriptions": 1,
    },
]


def test_extension_list_shows_how_each_stands(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/extensions", (200, {"items": ITEMS}))

    done = invoke("extension", "list")

    assert done.exit_code == 0, done.output
    table = lines(done.stdout)
    assert table[0].split() == ["NAME", "STATE", "RUNS", "IN", "RESTARTS", "SUBSCRIPTIONS"]
    assert table[2].split() == ["cron", "running", "pid", "4242", "1", "3"]
    assert table[3].split() == ["interval", "waiting", "-", "0", "0"]
    assert table[4].split() == ["shellhook", "running", "container", "3f1abd22ad5d", "0", "1"]


def test_extension_list_says_when_there_are_none(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/extensions", (200, {"items": []}))
    assert lines(invoke("extension", "list").stdout) == ["No extensions run on this server."]


def test_extension_list_json_is_the_api_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/extensions", (200, {"items": ITEMS}))
    assert json.loads(invoke("extension", "list", "-o", "json").stdout) == {"items": ITEMS}


def test_extension_logs_prints_the_lines_asked_for(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/extensions/cron/logs", (200, {"name": "cron", "lines": ['{"a": 1}', "x"]}))

    done = invoke("extension", "logs", "cron", "-n", "2")

    assert lines(done.stdout) == ['{"a": 1}', "x"]
    assert [dict(q) for q in api.queries("GET", "/extensions/cron/logs")] == [{"lines": "2"}]


def test_an_unknown_extension_is_a_clear_error(api: FakeApi, invoke: Invoke) -> None:
    api.on(
        "GET",
        "/extensions/ghost/logs",
        (
            404,
            {
                "type": "https://hostler.dev/problems/not_found",
                "title": "Not Found",
                "status": 404,
                "detail": "extension 'ghost': not installed (installed: cron)",
                "code": "not_found",
                "field": "name",
                "hint": "list the extensions with 'hostler extension list'",
            },
        ),
    )
    done = invoke("extension", "logs", "ghost")
    assert done.exit_code == 1
    assert "error: extension 'ghost': not installed (installed: cron)" in done.stderr
    assert "Traceback" not in done.output
