"""``hostler event``: list the event log, and follow it live."""

from __future__ import annotations

import json

import httpx
import pytest

from hostler.cli import event

from . import canned
from .conftest import Invoke
from .fakeapi import FakeApi

FAILED = {"kind": "exit_code", "description": "exited with code 4"}
EVENTS = [
    canned.event(3, "run.created"),
    canned.event(4, "task.running", task="fetch"),
    canned.event(5, "task.complete", task="fetch", status="failed", reason=FAILED),
]


def stream(*events: dict[str, object]) -> bytes:
    """Return an event stream body that sends ``events`` and then ends."""
    return "".join(
        f"event: {e['kind']}\nid: {e['id']}\ndata: {json.dumps(e)}\n\n" for e in events
    ).encode()


def test_event_list_renders_a_table_and_sends_the_filters(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/events", (200, canned.page(*EVENTS, next_cursor="abc")))

    done = invoke(
        "event", "list", "--kind", "task.*", "--kind", "run.created", "-p", "hello", "--run", "1"
    )

    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["TIME", "ID", "KIND", "SUBJECT", "CHANGE", "REASON"]
    assert "default/hello#1/fetch" in done.stdout
    assert "complete failed" in done.stdout
    assert "exited with code 4" in done.stdout
    assert "more: add --cursor abc" in done.stdout
    params = api.requests[0].url.params
    assert params.get_list("kind") == ["task.*", "run.created"]
    assert (params["pipeline"], params["run"], params["limit"]) == ("hello", "1", "50")
    assert "namespace" not in params


def test_event_list_json_is_the_api_page(api: FakeApi, invoke: Invoke) -> None:
    page = canned.page(*EVENTS)
    api.on("GET", "/events", (200, page))

    done = invoke("event", "list", "-o", "json", "-n", "team-a")

    assert json.loads(done.stdout) == page
    assert api.requests[0].url.params["namespace"] == "team-a"


def test_event_list_all_walks_every_page(api: FakeApi, invoke: Invoke) -> None:
    api.on(
        "GET",
        "/events",
        (200, canned.page(EVENTS[0], next_cursor="c1")),
        (200, canned.page(*EVENTS[1:])),
    )

    done = invoke("event", "list", "--all", "-o", "json")

    assert [e["id"] for e in json.loads(done.stdout)["items"]] == [3, 4, 5]
    assert api.requests[1].url.params["cursor"] == "c1"


def test_event_list_with_an_unknown_kind_is_an_error(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(
        422,
        "invalid_argument",
        "event kind 'run.exploded': not a known kind",
        field="kind",
        hint="use one of run.created, run.running, run.complete",
    )
    api.on("GET", "/events", (422, problem))

    done = invoke("event", "list", "--kind", "run.exploded")

    assert done.exit_code == 1
    assert done.stderr.splitlines() == [
        "error: event kind 'run.exploded': not a known kind",
        "hint: use one of run.created, run.running, run.complete",
    ]


def test_event_follow_prints_one_line_per_event(api: FakeApi, invoke: Invoke) -> None:
    api.on(
        "GET",
        "/events/stream",
        httpx.Response(200, content=stream(*EVENTS)),
        (422, canned.problem(422, "invalid_argument", "stop here")),
    )

    done = invoke("event", "follow", "--run", "1", "-p", "hello", "--after", "2")

    assert done.stdout.splitlines() == [
        "2024-05-01 12:00:01  #3  run.created  default/hello#1  pending",
        "2024-05-01 12:00:01  #4  task.running  default/hello#1/fetch  running",
        "2024-05-01 12:00:01  #5  task.complete  default/hello#1/fetch  complete failed  "
        "(exited with code 4)",
    ]
    first, resumed = api.requests
    assert (first.url.params["after"], first.url.params["run"]) == ("2", "1")
    assert resumed.headers["Last-Event-ID"] == "5"
    assert done.stderr == "error: stop here\n"


def test_event_follow_json_prints_one_event_object_per_line(api: FakeApi, invoke: Invoke) -> None:
    api.on(
        "GET",
        "/events/stream",
        httpx.Response(200, content=stream(*EVENTS[:2])),
        (422, canned.problem(422, "invalid_argument", "stop here")),
    )

    done = invoke("event", "follow", "-o", "json", "--kind", "task.*")

    assert [json.loads(text) for text in done.stdout.splitlines()] == EVENTS[:2]
    assert api.requests[0].url.params.get_list("kind") == ["task.*"]


def test_event_follow_ends_quietly_on_ctrl_c(api: FakeApi, invoke: Invoke) -> None:
    def interrupt(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    api.on("GET", "/events/stream", interrupt)

    done = invoke("event", "follow")

    assert done.exit_code == 130
    assert (done.stdout, done.stderr) == ("", "")


@pytest.mark.parametrize(
    ("fields", "subject", "change"),
    [
        ({"kind": "namespace.created", "namespace": "team-a", "data": {}}, "team-a", None),
        (
            {
                "kind": "version.created",
                "namespace": "default",
                "pipeline": "hello",
                "data": {"version": 2},
            },
            "default/hello",
            "version 2",
        ),
        (
            {
                "kind": "pipeline.deployed",
                "namespace": "default",
                "pipeline": "hello",
                "data": {"from": None, "to": 1},
            },
            "default/hello",
            "version none -> 1",
        ),
        (
            {
                "kind": "task.queued",
                "namespace": "default",
                "pipeline": "hello",
                "run": 2,
                "task": "build",
                "attempt": 3,
                "data": {"state": "queued", "status": "unknown"},
            },
            "default/hello#2/build (attempt 3)",
            "queued",
        ),
    ],
)
def test_each_kind_has_a_subject_and_a_change(
    fields: dict[str, object], subject: str, change: str | None
) -> None:
    assert event.subject(fields) == subject
    assert event.change(fields) == change
