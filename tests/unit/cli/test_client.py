"""The SDK's HTTP client, against a fake API."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from hostler.sdk import client

from . import canned
from .fakeapi import FakeApi, reply, unused_port


def make(api: FakeApi) -> client.Client:
    return client.Client(transport=api.transport)


def test_client_defaults_to_environment_url_and_bearer_token(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTLER_URL", "http://elsewhere:9000/")
    monkeypatch.setenv("HOSTLER_TOKEN", "s3cret")
    api.on("GET", "/namespaces/default", (200, canned.NAMESPACE))

    with make(api) as hostler:
        assert hostler.get_namespace("default") == canned.NAMESPACE

    request = api.requests[0]
    assert str(request.url) == "http://elsewhere:9000/api/v1/namespaces/default"
    assert request.headers["Authorization"] == "Bearer s3cret"


def test_client_falls_back_to_local_server_without_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HOSTLER_URL")
    with client.Client() as hostler:
        assert hostler.url == "http://127.0.0.1:8080"


def test_client_sends_no_authorization_without_token(api: FakeApi) -> None:
    api.on("GET", "/health", (200, {"status": "ok", "version": "0.1.0"}))

    with make(api) as hostler:
        assert hostler.health() == {"status": "ok", "version": "0.1.0"}

    assert "Authorization" not in api.requests[0].headers


def test_client_posts_bodies_of_the_contract(api: FakeApi) -> None:
    api.on("POST", "/namespaces", (201, {"namespace": canned.NAMESPACE, "result": "created"}))
    api.on("POST", "/namespaces/default/pipelines", (201, {"result": "created"}))
    api.on("POST", "/namespaces/default/pipelines/hello/versions", (201, {"result": "created"}))
    api.on("POST", "/namespaces/default/pipelines/hello/runs", (201, canned.run()))
    api.on("POST", "/namespaces/default/pipelines/hello/runs/1/cancel", (202, {"result": "x"}))

    with make(api) as hostler:
        hostler.create_namespace("default", "Where everything starts")
        hostler.up_pipeline("default", canned.CONFIG)
        hostler.register_version("default", "hello", canned.CONFIG)
        hostler.start_run("default", "hello", {"GREETING": "hi"})
        hostler.cancel_run("default", "hello", 1)

    assert api.bodies("POST", "/namespaces") == [
        {"name": "default", "description": "Where everything starts"}
    ]
    assert api.bodies("POST", "/namespaces/default/pipelines") == [{"config": canned.CONFIG}]
    assert api.bodies("POST", "/namespaces/default/pipelines/hello/versions") == [
        {"config": canned.CONFIG}
    ]
    assert api.bodies("POST", "/namespaces/default/pipelines/hello/runs") == [
        {"variables": {"GREETING": "hi"}}
    ]
    assert api.requests[-1].method == "POST"


def test_client_reads_every_route_of_the_contract(api: FakeApi) -> None:
    base = "/namespaces/default/pipelines/hello"
    api.on("GET", "/namespaces", (200, canned.page(canned.NAMESPACE)))
    api.on("GET", "/namespaces/default/pipelines", (200, canned.page(canned.PIPELINE)))
    api.on("GET", base, (200, canned.PIPELINE))
    api.on("GET", f"{base}/versions", (200, canned.page(canned.VERSION)))
    api.on("GET", f"{base}/versions/1", (200, canned.VERSION))
    api.on("GET", f"{base}/runs", (200, canned.page(canned.run())))
    api.on("GET", f"{base}/runs/1", (200, canned.run()))
    api.on("GET", f"{base}/runs/1/tasks", (200, canned.page(canned.task())))
    api.on("GET", f"{base}/runs/1/tasks/fetch", (200, canned.task()))
    logs = {"lines": [], "next_offset": 0, "ended": False}
    api.on("GET", f"{base}/runs/1/tasks/fetch/logs", (200, logs))

    with make(api) as hostler:
        assert hostler.list_namespaces(limit=10) == canned.page(canned.NAMESPACE)
        assert hostler.list_pipelines("default") == canned.page(canned.PIPELINE)
        assert hostler.get_pipeline("default", "hello") == canned.PIPELINE
        assert hostler.list_versions("default", "hello") == canned.page(canned.VERSION)
        assert hostler.get_version("default", "hello", 1) == canned.VERSION
        assert hostler.list_runs("default", "hello", state=["pending", "running"])["items"]
        assert hostler.get_run("default", "hello", 1) == canned.run()
        assert hostler.list_tasks("default", "hello", 1) == canned.page(canned.task())
        assert hostler.get_task("default", "hello", 1, "fetch", attempt=2) == canned.task()
        assert hostler.read_logs("default", "hello", 1, "fetch", offset=5) == logs

    queries = {r.url.path: r.url.params for r in api.requests}
    assert queries["/api/v1/namespaces"]["limit"] == "10"
    assert "cursor" not in queries["/api/v1/namespaces"]
    assert queries[f"/api/v1{base}/runs"].get_list("state") == ["pending", "running"]
    assert queries[f"/api/v1{base}/runs/1/tasks/fetch"]["attempt"] == "2"
    assert queries[f"/api/v1{base}/runs/1/tasks/fetch/logs"]["offset"] == "5"


def test_client_quotes_path_segments(api: FakeApi) -> None:
    api.on("GET", "/namespaces/a/b", (200, canned.NAMESPACE))  # the fake matches decoded paths

    with make(api) as hostler:
        hostler.get_namespace("a/b")

    assert api.requests[0].url.raw_path == b"/api/v1/namespaces/a%2Fb"


def test_iterate_walks_every_page_by_next_cursor(api: FakeApi) -> None:
    first = canned.page(canned.run(), next_cursor="c2")
    second = canned.page(canned.run("running"), next_cursor=None)
    api.on("GET", "/namespaces/default/pipelines/hello/runs", (200, first), (200, second))

    with make(api) as hostler:
        runs = list(hostler.iterate(hostler.list_runs, "default", "hello", limit=1))

    assert [run["state"] for run in runs] == ["pending", "running"]
    cursors = [r.url.params.get("cursor") for r in api.requests]
    assert cursors == [None, "c2"]
    assert all(r.url.params["limit"] == "1" for r in api.requests)


def test_problem_answer_raises_api_error_with_its_fields(api: FakeApi) -> None:
    body = canned.problem(
        404,
        "not_found",
        "pipeline 'default/nope': not found",
        field="pipeline",
        hint="'hostler pipeline list' shows the pipelines",
    )
    api.on("GET", "/namespaces/default/pipelines/nope", (404, body))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        hostler.get_pipeline("default", "nope")

    error = caught.value
    assert str(error) == "pipeline 'default/nope': not found"
    assert (error.status, error.code, error.field) == (404, "not_found", "pipeline")
    assert error.hint == "'hostler pipeline list' shows the pipelines"


def test_error_answer_that_is_not_a_problem_still_raises_api_error(api: FakeApi) -> None:
    api.on("GET", "/health", httpx.Response(502, text="<html>Bad Gateway</html>"))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        hostler.health()

    assert caught.value.status == 502
    assert caught.value.code == "internal"
    assert "Bad Gateway" in caught.value.detail


def test_connection_refused_says_the_server_is_not_reachable_and_how_to_start_it() -> None:
    url = f"http://127.0.0.1:{unused_port()}"

    with client.Client(url) as hostler, pytest.raises(client.ApiError) as caught:
        hostler.health()

    assert caught.value.code == "unavailable"
    assert f"server at {url} is not reachable" in str(caught.value)
    assert "hostler service start" in str(caught.value)


# -- server-sent events -----------------------------------------------------------------------


def test_parse_events_reads_fields_comments_and_multi_line_data() -> None:
    chunks = [
        ": keep-alive\n\n",
        'event: line\nid: 0\ndata: {"a":\n',
        "data: 1}\n\n",
        "data: no type\n\n",
        "event: end\ndata: {}\n\n",
    ]

    events = list(client.parse_events(chunks))

    assert events == [
        client.Event("line", '{"a":\n1}', "0"),
        client.Event("message", "no type", "0"),
        client.Event("end", "{}", "0"),
    ]
    assert events[0].json() == {"a": 1}


def test_parse_events_accepts_every_line_ending_even_split_across_chunks() -> None:
    chunks = ["event: line\r", "\nid: 1\rdata: x\r\n\r", "\n", "data:y\r\r"]

    events = list(client.parse_events(chunks))

    assert events == [client.Event("line", "x", "1"), client.Event("message", "y", "1")]


def test_parse_events_does_not_dispatch_an_event_cut_off_before_its_blank_line() -> None:
    events = list(client.parse_events(["id: 1\ndata: whole\n\n", "id: 2\ndata: cut"]))

    assert events == [client.Event("message", "whole", "1")]


def sse(*events: tuple[str, int | None, object]) -> str:
    return "".join(
        f"event: {name}\n" + (f"id: {ident}\n" if ident is not None else "") + f"data: "
        f"{json.dumps(data)}\n\n"
        for name, ident, data in events
    )


def line(offset: int, text: str) -> dict[str, object]:
    return {"offset": offset, "time": "2024-05-01T12:00:01Z", "stream": "stdout", "text": text}


def dropping(text: str) -> Iterator[bytes]:
    """A response body that sends ``text`` and then loses its connection."""
    yield text.encode()
    raise httpx.ReadError("connection reset by peer")


def test_follow_logs_resumes_after_a_dropped_connection_with_last_event_id(
    api: FakeApi,
) -> None:
    path = "/namespaces/default/pipelines/hello/runs/1/tasks/fetch/logs"
    first = sse(("line", 0, line(0, "one")), ("line", 1, line(1, "two")))
    rest = sse(("line", 2, line(2, "three")), ("end", None, {"next_offset": 3}))
    api.on(
        "GET",
        path,
        httpx.Response(200, content=dropping(first + "event: line\nid: 2\n")),
        httpx.Response(200, content=rest.encode()),
    )

    with make(api) as hostler:
        events = list(hostler.follow_logs("default", "hello", 1, "fetch", reconnect_delay=0))

    assert [e.json()["text"] for e in events if e.event == "line"] == ["one", "two", "three"]
    assert events[-1].event == "end"
    assert events[-1].json() == {"next_offset": 3}
    assert "Last-Event-ID" not in api.requests[0].headers
    assert api.requests[1].headers["Last-Event-ID"] == "1"
    assert api.requests[0].url.params["follow"] == "true"


def test_follow_logs_gives_up_after_reconnects_that_bring_nothing(api: FakeApi) -> None:
    path = "/namespaces/default/pipelines/hello/runs/1/tasks/fetch/logs"
    api.on("GET", path, lambda request: httpx.Response(200, content=dropping(": hi\n\n")))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        list(hostler.follow_logs("default", "hello", 1, "fetch", reconnects=2, reconnect_delay=0))

    assert caught.value.code == "unavailable"
    assert len(api.requests) == 3


def test_follow_logs_raises_the_problem_of_an_error_answer(api: FakeApi) -> None:
    path = "/namespaces/default/pipelines/hello/runs/1/tasks/nope/logs"
    api.on("GET", path, (404, canned.problem(404, "not_found", "task 'nope': not found")))

    with make(api) as hostler, pytest.raises(client.ApiError, match="task 'nope': not found"):
        list(hostler.follow_logs("default", "hello", 1, "nope"))


def test_list_events_sends_its_filters_as_query_parameters(api: FakeApi) -> None:
    api.on("GET", "/events", (200, canned.page(canned.event(1, "run.created"))))

    with make(api) as hostler:
        page = hostler.list_events(
            kind=["run.*", "task.complete"], pipeline="hello", run=1, limit=10
        )
        hostler.list_events()

    assert page["items"][0]["kind"] == "run.created"
    params = api.requests[0].url.params
    assert params.get_list("kind") == ["run.*", "task.complete"]
    assert (params["pipeline"], params["run"], params["limit"]) == ("hello", "1", "10")
    assert "namespace" not in params
    assert dict(api.requests[1].url.params) == {}


def test_follow_events_resumes_after_a_dropped_connection_with_last_event_id(
    api: FakeApi,
) -> None:
    first = sse(("run.running", 5, canned.event(5, "run.running")))
    second = sse(("task.queued", 6, canned.event(6, "task.queued", task="fetch")))
    api.on(
        "GET",
        "/events/stream",
        httpx.Response(200, content=dropping(first + "event: run.complete\nid: 9\n")),
        httpx.Response(200, content=second.encode()),  # ends: the server went away
        httpx.Response(200, content=dropping(": keep-alive\n\n")),
        httpx.Response(200, content=sse(("run.complete", 7, canned.event(7, "run.complete")))),
    )

    with make(api) as hostler:
        stream = hostler.follow_events(kind=["run.*", "task.*"], run=1, after=4, reconnect_delay=0)
        events = list(itertools.islice(stream, 3))

    assert [(e.id, e.event) for e in events] == [
        ("5", "run.running"),
        ("6", "task.queued"),
        ("7", "run.complete"),
    ]
    assert events[1].json()["task"] == "fetch"
    assert "Last-Event-ID" not in api.requests[0].headers
    assert [r.headers.get("Last-Event-ID") for r in api.requests[1:]] == ["5", "6", "6"]
    assert api.requests[0].url.params.get_list("kind") == ["run.*", "task.*"]
    assert (api.requests[0].url.params["after"], api.requests[0].url.params["run"]) == ("4", "1")


def test_follow_events_gives_up_after_reconnects_that_bring_nothing(api: FakeApi) -> None:
    api.on("GET", "/events/stream", lambda request: httpx.Response(200, content=b": hi\n\n"))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        list(hostler.follow_events(reconnects=2, reconnect_delay=0))

    assert caught.value.code == "unavailable"
    assert caught.value.detail == "server at http://hostler.test: event stream ended"
    assert len(api.requests) == 3


def test_follow_events_raises_the_problem_of_a_bad_filter(api: FakeApi) -> None:
    problem = canned.problem(
        422, "invalid_argument", "event kind 'x': not a known kind", field="kind"
    )
    api.on("GET", "/events/stream", (422, problem))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        next(hostler.follow_events(kind=["x"]))

    assert (caught.value.code, caught.value.field) == ("invalid_argument", "kind")
    assert len(api.requests) == 1


def test_importing_the_client_does_not_import_the_server() -> None:
    code = (
        "import sys, hostler.sdk.client\n"
        "heavy = ('fastapi', 'sqlalchemy', 'docker', 'uvicorn')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_importing_the_cli_does_not_import_the_server() -> None:
    code = (
        "import sys, hostler.cli.main\n"
        "heavy = ('fastapi', 'sqlalchemy', 'docker', 'uvicorn')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_reply_helper_marks_errors_as_problems() -> None:
    assert reply(404, {}).headers["content-type"] == "application/problem+json"


def test_a_quiet_stream_that_stayed_open_a_while_is_not_counted_as_a_failure(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each connection stays open "10 s" (the clock jumps while the body is read), then drops:
    # separate outages of a quiet follow, which must not add up to giving up.
    clock = itertools.count(0.0, 10.0)
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(time, "sleep", lambda _: None)
    answers = [httpx.Response(200, content=b": hi\n\n") for _ in range(5)]
    answers.append(
        httpx.Response(
            200, content=sse(("run.complete", 1, canned.event(1, "run.complete"))).encode()
        )
    )
    api.on("GET", "/events/stream", *answers)

    with make(api) as hostler:
        stream = hostler.follow_events(reconnects=2, reconnect_delay=0)
        [event] = list(itertools.islice(stream, 1))

    assert (event.id, event.event) == ("1", "run.complete")
    assert len(api.requests) == 6
