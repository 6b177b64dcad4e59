"""Task logs: JSON reads by offset, and the Server-Sent Events follow (history, live, resume)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any, cast

import anyio
import fastapi
import pytest
from fastapi import testclient

from hostler.api import logstream
from hostler.core import tasks
from hostler.services.context import Context

from .conftest import PIPELINES, assert_problem, log_line

LOGS = f"{PIPELINES}/hello/runs/1/tasks/fetch/logs"
KEY = "default/hello/1/fetch/1"


def write(ctx: Context, *numbers: int, end: bool = False) -> None:
    """Append log lines ``numbers`` to the fetch task's log; end it if asked."""
    ctx.logs.append(KEY, [log_line(n) for n in numbers])
    if end:
        ctx.logs.end(KEY)


def events(text: str) -> list[dict[str, str]]:
    """Parse a text/event-stream body into its events (comments left out)."""
    found = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if fields:
            found.append(fields)
    return found


def texts(found: list[dict[str, str]]) -> list[str]:
    """Return the text of each line event, and ``end n`` for the end event."""
    out = []
    for e in found:
        data = json.loads(e["data"])
        out.append(data["text"] if e["event"] == "line" else f"end {data['next_offset']}")
    return out


@pytest.fixture
def later() -> Iterator[list[threading.Timer]]:
    """Collects timers that write to the log while a request runs; waits for them at the end."""
    timers: list[threading.Timer] = []
    yield timers
    for timer in timers:
        timer.join()


def after(timers: list[threading.Timer], seconds: float, action: Any) -> None:
    """Run ``action`` in a thread after ``seconds``."""
    timer = threading.Timer(seconds, action)
    timers.append(timer)
    timer.start()


def test_read_log_as_json(client: testclient.TestClient, run: dict[str, Any], ctx: Context) -> None:
    write(ctx, 0, 1, 2, end=True)
    response = client.get(LOGS)
    assert response.status_code == 200
    body = response.json()
    assert [(line["offset"], line["text"]) for line in body["lines"]] == [
        (0, "line 0"),
        (1, "line 1"),
        (2, "line 2"),
    ]
    assert body["lines"][0]["stream"] == "stdout"
    assert body["lines"][0]["time"] == "2025-03-01T12:00:00Z"
    assert (body["next_offset"], body["ended"]) == (3, True)


def test_read_log_from_an_offset_with_a_limit(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    write(ctx, 0, 1, 2, end=True)
    body = client.get(LOGS, params={"offset": 1, "limit": 1}).json()
    assert [(line["offset"], line["text"]) for line in body["lines"]] == [(1, "line 1")]
    assert (body["next_offset"], body["ended"]) == (2, False)


def test_read_log_of_a_task_that_has_not_run_is_empty(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    assert client.get(LOGS).json() == {"lines": [], "next_offset": 0, "ended": False}


def test_read_log_with_a_negative_offset_names_it(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    assert_problem(client.get(LOGS, params={"offset": -1}), 422, "invalid_argument", field="offset")


def test_follow_sends_history_then_end(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    write(ctx, 0, 1, 2, end=True)
    response = client.get(LOGS, params={"follow": "true"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    found = events(response.text)
    assert texts(found) == ["line 0", "line 1", "line 2", "end 3"]
    assert [e.get("id") for e in found] == ["0", "1", "2", None]
    assert [e["event"] for e in found] == ["line", "line", "line", "end"]
    assert json.loads(found[0]["data"]) == {
        "offset": 0,
        "time": "2025-03-01T12:00:00Z",
        "stream": "stdout",
        "text": "line 0",
    }


def test_follow_resumes_after_last_event_id(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    write(ctx, 0, 1, 2, 3, end=True)
    response = client.get(LOGS, params={"follow": "true"}, headers={"Last-Event-ID": "1"})
    found = events(response.text)
    assert texts(found) == ["line 2", "line 3", "end 4"]
    assert [e.get("id") for e in found] == ["2", "3", None]


def test_follow_starts_at_the_offset(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    write(ctx, 0, 1, 2, end=True)
    response = client.get(LOGS, params={"follow": "true", "offset": 2})
    assert texts(events(response.text)) == ["line 2", "end 3"]


def test_follow_sends_live_lines_in_order_until_the_end(
    client: testclient.TestClient,
    run: dict[str, Any],
    ctx: Context,
    later: list[threading.Timer],
) -> None:
    write(ctx, 0)
    after(later, 0.3, lambda: write(ctx, 1, 2))
    after(later, 0.6, lambda: write(ctx, 3, end=True))
    response = client.get(LOGS, params={"follow": "true"})
    found = events(response.text)
    assert texts(found) == ["line 0", "line 1", "line 2", "line 3", "end 4"]
    assert [e.get("id") for e in found] == ["0", "1", "2", "3", None]


def test_follow_sends_keep_alive_comments_while_quiet(
    client: testclient.TestClient,
    run: dict[str, Any],
    ctx: Context,
    later: list[threading.Timer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logstream, "KEEP_ALIVE_SECONDS", 0.1)
    after(later, 0.5, lambda: write(ctx, 0, end=True))
    response = client.get(LOGS, params={"follow": "true"})
    assert ": keep-alive\n\n" in response.text
    assert texts(events(response.text)) == ["line 0", "end 1"]


def test_follow_ends_when_the_task_completes_without_a_log(
    client: testclient.TestClient,
    run: dict[str, Any],
    ctx: Context,
    later: list[threading.Timer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logstream, "REFRESH_SECONDS", 0.1)

    def skip() -> None:
        execution = ctx.store.get_execution("default", "hello", 1, "fetch")
        skipped = execution.evolve(state=tasks.State.COMPLETE, status=tasks.Status.SKIPPED)
        ctx.store.update_execution(skipped, execution.revision)

    after(later, 0.3, skip)
    response = client.get(LOGS, params={"follow": "true"})
    assert texts(events(response.text)) == ["end 0"]


@pytest.mark.timeout(30)
def test_follow_stops_when_the_client_goes_away(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    write(ctx, 0)  # the log never ends
    with client.stream("GET", LOGS, params={"follow": "true"}) as response:
        lines = response.iter_lines()
        assert next(lines) == "event: line"
        assert next(lines) == "id: 0"
    # Leaving the block closed the response; the stream must have stopped for us to get here.
    assert client.get(LOGS).json()["next_offset"] == 1


def test_follow_of_a_missing_task_is_a_problem_not_a_stream(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    response = client.get(f"{PIPELINES}/hello/runs/1/tasks/nope/logs", params={"follow": "true"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_follow_with_a_bad_last_event_id_names_the_header(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    response = client.get(LOGS, params={"follow": "true"}, headers={"Last-Event-ID": "x"})
    assert_problem(response, 422, "invalid_argument", field="Last-Event-ID")


def test_follow_stops_without_end_when_the_request_is_disconnected(
    run: dict[str, Any], ctx: Context
) -> None:
    class Gone:
        async def is_disconnected(self) -> bool:
            return True

    write(ctx, 0)  # the log never ends
    execution = ctx.store.get_execution("default", "hello", 1, "fetch")

    async def collect() -> list[str]:
        request = cast(fastapi.Request, Gone())
        return [e async for e in logstream.follow(ctx, execution, 0, request)]

    sent = anyio.run(collect)
    assert texts(events("".join(sent))) == ["line 0"]
