"""The event log over HTTP: the paged list with its filters, and the Server-Sent Events stream."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any, cast

import anyio
import fastapi
import pytest
from fastapi import testclient

from hostler.api import eventstream
from hostler.core import events, tasks
from hostler.sdk import sse
from hostler.services.context import Context

from .conftest import API, PIPELINES, assert_problem

EVENTS = f"{API}/events"
STREAM = f"{API}/events/stream"


def advance(ctx: Context, task: str, *states: tasks.State) -> None:
    """Move task ``task`` of run default/hello#1 through ``states``, as the engine would."""
    for state in states:
        current = ctx.store.get_execution("default", "hello", 1, task)
        status = tasks.Status.SUCCESSFUL if state is tasks.State.COMPLETE else current.status
        ctx.store.update_execution(current.evolve(state=state, status=status), current.revision)


def run_fetch(ctx: Context) -> None:
    """Carry the fetch task of run 1 from waiting to complete."""
    advance(
        ctx,
        "fetch",
        tasks.State.QUEUED,
        tasks.State.STARTING,
        tasks.State.RUNNING,
        tasks.State.COMPLETE,
    )


def everything(client: testclient.TestClient, **params: Any) -> list[dict[str, Any]]:
    """Return every event the list answers for ``params``, walking all pages."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = client.get(EVENTS, params={**params, "cursor": cursor}).json()
        found += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def take(
    client: testclient.TestClient,
    count: int,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> list[sse.Event]:
    """Open the stream, read its first ``count`` events, and hang up."""
    with client.stream("GET", STREAM, params=params, headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(itertools.islice(sse.parse_events(response.iter_text()), count))


@pytest.fixture
def later() -> Iterator[list[threading.Timer]]:
    """Collects timers that make changes while a request runs; waits for them at the end."""
    timers: list[threading.Timer] = []
    yield timers
    for timer in timers:
        timer.join()


# the list ------------------------------------------------------------------------------------


def test_list_shows_every_change_oldest_first(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    advance(ctx, "fetch", tasks.State.QUEUED)
    body = client.get(EVENTS).json()
    assert [(e["kind"], e["pipeline"], e["run"], e["task"]) for e in body["items"]] == [
        ("version.created", "hello", None, None),
        ("pipeline.deployed", "hello", None, None),
        ("run.created", "hello", 1, None),
        ("task.queued", "hello", 1, "fetch"),
    ]
    assert body["next_cursor"] is None
    queued = body["items"][3]
    assert set(queued) == {
        "id",
        "time",
        "kind",
        "namespace",
        "pipeline",
        "run",
        "task",
        "attempt",
        "data",
    }
    assert queued["time"].endswith("Z")
    assert (queued["namespace"], queued["attempt"]) == ("default", 1)
    assert queued["data"] == {
        "state": "queued",
        "status": "unknown",
        "reason": None,
        "previous_state": "waiting",
    }
    assert body["items"][1]["data"] == {"from": None, "to": 1}


def test_list_filters_by_kinds_families_and_subject(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    client.post(f"{API}/namespaces", json={"name": "team-a"})
    run_fetch(ctx)

    def kinds(**params: Any) -> list[str]:
        return [e["kind"] for e in everything(client, **params)]

    assert kinds(kind=["run.*", "pipeline.deployed"]) == ["pipeline.deployed", "run.created"]
    assert kinds(kind="task.*", pipeline="hello", run=1) == [
        "task.queued",
        "task.starting",
        "task.running",
        "task.complete",
    ]
    assert kinds(namespace="team-a") == ["namespace.created"]
    assert kinds(pipeline="hello", run=2) == []


def test_list_pages_with_a_cursor(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    run_fetch(ctx)
    first = client.get(EVENTS, params={"limit": 3}).json()
    assert len(first["items"]) == 3
    pages = [first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(EVENTS, params={"limit": 3, "cursor": cursor}).json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
    assert [len(page) for page in pages] == [3, 3, 1]
    ids = [e["id"] for page in pages for e in page]
    assert ids == sorted(set(ids))
    assert ids == [e["id"] for e in client.get(EVENTS, params={"limit": 500}).json()["items"]]


def test_an_unknown_kind_is_a_problem_naming_the_field_and_the_known_kinds(
    client: testclient.TestClient,
) -> None:
    response = client.get(EVENTS, params={"kind": ["run.*", "run.exploded"]})
    body = assert_problem(response, 422, "invalid_argument", field="kind")
    assert body["detail"] == "event kind 'run.exploded': not a known kind"
    assert all(kind in body["hint"] for kind in events.KINDS)


def test_bad_cursor_limit_and_run_are_problems_naming_them(client: testclient.TestClient) -> None:
    assert_problem(
        client.get(EVENTS, params={"cursor": "nope"}), 422, "invalid_argument", field="cursor"
    )
    assert_problem(client.get(EVENTS, params={"limit": 0}), 422, "invalid_argument", field="limit")
    assert_problem(client.get(EVENTS, params={"run": "x"}), 422, "invalid_argument", field="run")


# the stream ----------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_stream_sends_each_event_with_its_id_kind_and_json(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    listed = everything(client)
    sent = take(client, len(listed))
    assert [(e.id, e.event) for e in sent] == [(str(e["id"]), e["kind"]) for e in listed]
    assert [e.json() for e in sent] == listed


@pytest.mark.timeout(30)
def test_stream_resumed_with_last_event_id_sees_every_event_once(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    first = take(client, 2)
    run_fetch(ctx)  # while nobody listens
    total = len(everything(client))
    rest = take(client, total - 2, headers={"Last-Event-ID": str(first[-1].id)})
    advance(ctx, "build", tasks.State.QUEUED)
    last = take(client, 1, headers={"Last-Event-ID": str(rest[-1].id)})

    seen = [int(str(e.id)) for e in [*first, *rest, *last]]
    assert seen == [e["id"] for e in everything(client)]
    assert last[0].event == "task.queued"
    assert last[0].json()["task"] == "build"


@pytest.mark.timeout(30)
def test_stream_starts_after_the_after_parameter_and_last_event_id_overrides_it(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    ids = [str(e["id"]) for e in everything(client)]
    assert [e.id for e in take(client, 1, params={"after": ids[0]})] == [ids[1]]
    overridden = take(client, 1, params={"after": ids[0]}, headers={"Last-Event-ID": ids[1]})
    assert [e.id for e in overridden] == [ids[2]]


@pytest.mark.timeout(30)
def test_stream_applies_the_filters_and_resumes_within_them(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    run_fetch(ctx)
    params = {"kind": ["task.running", "task.complete", "run.created"], "run": 1}
    sent = take(client, 2, params=params)
    resumed = take(client, 1, params=params, headers={"Last-Event-ID": str(sent[-1].id)})
    assert [e.event for e in [*sent, *resumed]] == ["run.created", "task.running", "task.complete"]


@pytest.mark.timeout(30)
def test_stream_sends_new_events_as_they_are_recorded(
    client: testclient.TestClient,
    run: dict[str, Any],
    ctx: Context,
    later: list[threading.Timer],
) -> None:
    last = everything(client)[-1]["id"]
    timer = threading.Timer(0.3, lambda: advance(ctx, "fetch", tasks.State.QUEUED))
    later.append(timer)
    timer.start()
    sent = take(client, 1, params={"after": last})
    assert [(e.event, e.json()["task"]) for e in sent] == [("task.queued", "fetch")]


@pytest.mark.timeout(30)
def test_stream_sends_keep_alive_comments_while_quiet(
    client: testclient.TestClient,
    run: dict[str, Any],
    ctx: Context,
    later: list[threading.Timer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(eventstream, "KEEP_ALIVE_SECONDS", 0.1)
    last = everything(client)[-1]["id"]
    timer = threading.Timer(0.6, lambda: advance(ctx, "fetch", tasks.State.QUEUED))
    later.append(timer)
    timer.start()
    text = ""
    with client.stream("GET", STREAM, params={"after": last}) as response:
        for chunk in response.iter_text():
            text += chunk
            if "event: task.queued" in text:
                break
    assert ": keep-alive\n\n" in text.split("event: task.queued")[0]


def test_stream_with_an_unknown_kind_is_a_problem_not_a_stream(
    client: testclient.TestClient,
) -> None:
    response = client.get(STREAM, params={"kind": "task.exploded"})
    assert_problem(response, 422, "invalid_argument", field="kind")


def test_stream_with_a_bad_last_event_id_names_the_header(client: testclient.TestClient) -> None:
    response = client.get(STREAM, headers={"Last-Event-ID": "-1"})
    assert_problem(response, 422, "invalid_argument", field="Last-Event-ID")


def test_stream_stops_when_the_client_is_gone(ctx: Context, run: dict[str, Any]) -> None:
    class Gone:
        async def is_disconnected(self) -> bool:
            return True

    async def collect() -> list[str]:
        request = cast(fastapi.Request, Gone())
        return [e async for e in eventstream.follow(ctx, events.Filter(), 0, request)]

    sent = list(sse.parse_events(anyio.run(collect)))
    assert [e.event for e in sent] == ["version.created", "pipeline.deployed", "run.created"]
    assert [json.loads(e.data)["id"] for e in sent] == [int(str(e.id)) for e in sent]


def test_the_hello_fixture_pipeline_is_what_the_events_name(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    version = client.get(f"{PIPELINES}/hello/versions/1").json()
    created = everything(client, kind="version.created")
    assert [e["data"] for e in created] == [{"version": 1, "digest": version["digest"]}]
