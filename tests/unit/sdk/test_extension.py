"""The extension SDK: the contract served over HTTP, the hooks it calls, timers, logs, the entry."""

from __future__ import annotations

import base64
import datetime
import http.server
import io
import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

import httpx
import pydantic
import pytest

from hostler.core import errors
from hostler.sdk import client, extension
from hostler.sdk.extension import contract, entrypoints, logs, server, timers

KEY = "extension-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
T0 = datetime.datetime(2026, 3, 29, 0, 30, tzinfo=datetime.UTC)
ROOT = pathlib.Path(__file__).resolve().parents[3]


class SampleSettings(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    seconds: int = pydantic.Field(gt=0, description="Seconds between two runs.")
    label: str = ""


class SampleConfig(pydantic.BaseModel):
    greeting: str = pydantic.Field("hello", description="What the sample says.")
    password: pydantic.SecretStr = pydantic.Field(description="A secret it needs.")


class Sample(extension.Extension[SampleSettings]):
    """A trigger that records what the SDK asks of it."""

    name = "sample"
    version = "1.2.3"
    kind = "trigger"
    description = "Records what it is asked."
    Config = SampleConfig
    config: SampleConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, str, int]] = []
        self.healthy = True
        self.closed = False
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def describe(self, sub: extension.Subscription[SampleSettings]) -> extension.Summary:
        if sub.settings.label == "refused":
            raise errors.InvalidArgument(
                f"setting 'label' of {sub}: 'refused' is refused",
                field="label",
                hint="choose another label",
            )
        return extension.Summary(f"every {sub.settings.seconds}s", [T0])

    def subscribe(self, sub: extension.Subscription[SampleSettings]) -> None:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        if sub.settings.label == "crash":
            raise RuntimeError("boom")
        self.calls.append(("subscribe", sub.id, sub.settings.seconds))
        self.timers.at(sub.id, self.timers.now() + datetime.timedelta(hours=1), lambda: None)

    def unsubscribe(self, sub: extension.Subscription[SampleSettings]) -> None:
        self.calls.append(("unsubscribe", sub.id, sub.settings.seconds))

    def external_event(self, event: extension.Event[SampleSettings]) -> extension.Answer:
        if event.header("X-Signature") != "good":
            raise errors.Unauthenticated(
                "webhook: signature does not match", hint="sign the body with the secret"
            )
        data = event.json()
        if event.subscription is not None and "sha" in data:
            sub = event.subscription
            run = self.start_run(sub.namespace, sub.pipeline, {"SHA": data["sha"]})
            return extension.Answer(status=201, body={"run": run["id"]})
        return extension.Answer(
            status=202,
            body={
                "got": data,
                "subscription": event.subscription.id if event.subscription else None,
                "method": event.method,
                "path": event.path,
                "query": dict(event.query),
            },
        )

    def health(self) -> bool:
        return self.healthy

    def on_shutdown(self) -> None:
        self.closed = True


class StandIn:
    """A stand-in for the Hostler API on a real port: answers every POST with run 7."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                seen.append((self.path, dict(self.headers), json.loads(body)))
                data = json.dumps({"id": 7, "state": "pending"}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.thread.join()
        self.httpd.server_close()


def environ(url: str = "http://hostler.invalid", **extra: str) -> dict[str, str]:
    """Return the environment Hostler would give the sample (port 0: any free one)."""
    return {
        "HOSTLER_EXTENSION_SYSTEM_NAME": "sample-1",
        "HOSTLER_EXTENSION_SYSTEM_PORT": "0",
        "HOSTLER_EXTENSION_SYSTEM_KEY": KEY,
        "HOSTLER_EXTENSION_SYSTEM_URL": url,
        "HOSTLER_EXTENSION_SYSTEM_TOKEN": "hst_extension",
        "HOSTLER_EXTENSION_CONFIG_PASSWORD": "s3cret",
        **extra,
    }


def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    """Return once ``check()`` holds; fail if it does not ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.01)


def subscribe_body(sub: str = "sub-1", **settings: Any) -> dict[str, Any]:
    return {"namespace": "default", "pipeline": "hello", "subscription": sub, "settings": settings}


@pytest.fixture
def sample() -> Sample:
    transport = httpx.MockTransport(lambda request: httpx.Response(500))
    api = client.Client("http://hostler.invalid", transport=transport)
    system = contract.System(port=0, key=pydantic.SecretStr(KEY), url="http://hostler.invalid")
    return Sample(system, SampleConfig(password=pydantic.SecretStr("s3cret")), api=api)


@pytest.fixture
def running(sample: Sample) -> Iterator[extension.Server]:
    with extension.Server(sample, key=KEY) as served:
        yield served


@pytest.fixture
def hostler(running: extension.Server) -> Iterator[httpx.Client]:
    """Return a client that calls the extension as Hostler does, with the key."""
    with httpx.Client(base_url=running.url, headers=AUTH, timeout=10) as session:
        yield session


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Restore the root logger's handlers and level after a test that configures logging."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# -- authentication ----------------------------------------------------------------------------


def test_health_answers_without_a_key(running: extension.Server) -> None:
    answer = httpx.get(f"{running.url}/api/health")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_health_answers_503_when_the_extension_says_it_is_unhealthy(
    sample: Sample, hostler: httpx.Client
) -> None:
    sample.healthy = False

    answer = hostler.get("/api/health")

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "unavailable"
    assert answer.json()["detail"] == "extension 'sample': unhealthy"


@pytest.mark.parametrize(
    "route", [r for r in contract.ROUTES if not r.public], ids=lambda r: r.operation
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}])
def test_every_route_but_health_refuses_a_request_without_the_right_key(
    sample: Sample, running: extension.Server, route: contract.Route, headers: dict[str, str]
) -> None:
    answer = httpx.request(route.method, f"{running.url}{route.path}", headers=headers, json={})

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    problem = answer.json()
    assert problem["code"] == "unauthenticated"
    assert "HOSTLER_EXTENSION_SYSTEM_KEY" in problem["hint"]
    assert not running.wait(0)
    assert sample.calls == []


# -- info --------------------------------------------------------------------------------------


def test_info_says_what_the_extension_is_and_what_it_reads(hostler: httpx.Client) -> None:
    answer = hostler.get("/api/info")

    assert answer.status_code == 200
    assert answer.json() == {
        "name": "sample",
        "version": "1.2.3",
        "kind": "trigger",
        "description": "Records what it is asked.",
        "settings_schema": SampleSettings.model_json_schema(),
        "config": [
            {
                "name": "HOSTLER_EXTENSION_CONFIG_GREETING",
                "description": "What the sample says.",
                "required": False,
                "secret": False,
            },
            {
                "name": "HOSTLER_EXTENSION_CONFIG_PASSWORD",
                "description": "A secret it needs.",
                "required": True,
                "secret": True,
            },
        ],
        "contract": 1,
    }


@pytest.mark.parametrize(
    ("attribute", "value", "what"),
    [
        ("version", "1.0", "'1.0' is not a semantic version such as '1.0.0'"),
        ("kind", "pusher", "'pusher' is neither 'trigger' nor 'notifier'"),
        ("name", "Bad Name", "'Bad Name' is not lower-case letters, digits and dashes"),
        ("description", "", "is required"),
    ],
)
def test_info_refuses_a_class_that_names_itself_wrongly(
    monkeypatch: pytest.MonkeyPatch, attribute: str, value: str, what: str
) -> None:
    class Wrong(Sample):
        pass

    monkeypatch.setattr(Wrong, attribute, value)

    with pytest.raises(errors.InvalidArgument) as caught:
        Wrong.info()

    assert caught.value.field == attribute
    assert caught.value.message.startswith(
        f"extension class '{__name__}.{Wrong.__qualname__}': attribute '{attribute}': {what}"
    )


def test_settings_come_from_the_type_argument_or_default_to_none() -> None:
    class Plain(extension.Extension[extension.NoSettings]):
        name = "plain"
        version = "0.1.0"
        kind = "notifier"
        description = "Takes nothing."

    assert Sample.Settings is SampleSettings
    assert Plain.Settings is extension.NoSettings
    assert Plain.info().settings_schema["additionalProperties"] is False


# -- subscribe ---------------------------------------------------------------------------------


def test_subscribe_answers_the_extensions_summary(sample: Sample, hostler: httpx.Client) -> None:
    answer = hostler.post("/api/subscribe", json=subscribe_body(seconds=30))

    assert answer.status_code == 200
    assert answer.json() == {
        "subscription": "sub-1",
        "result": "created",
        "description": "every 30s",
        "next_fires": ["2026-03-29T00:30:00Z"],
    }
    assert sample.calls == [("subscribe", "sub-1", 30)]
    assert list(sample.subscriptions) == ["sub-1"]
    assert sample.subscriptions["sub-1"].settings == SampleSettings(seconds=30)


@pytest.mark.parametrize(
    ("settings", "field", "detail"),
    [
        ({}, "settings.seconds", "setting 'seconds' of subscription 'sub-1': is required"),
        (
            {"seconds": 0},
            "settings.seconds",
            "setting 'seconds' of subscription 'sub-1': input should be greater than 0",
        ),
        (
            {"seconds": 1, "colour": "red"},
            "settings.colour",
            "setting 'colour' of subscription 'sub-1': is not a known field",
        ),
        (
            {"seconds": 1, "label": "refused"},
            "settings.label",
            "setting 'label' of subscription 'sub-1' of pipeline 'default/hello': "
            "'refused' is refused",
        ),
    ],
    ids=["missing", "wrong", "unknown", "refused-by-describe"],
)
def test_bad_settings_are_refused_with_422_naming_the_setting(
    sample: Sample, hostler: httpx.Client, settings: dict[str, Any], field: str, detail: str
) -> None:
    answer = hostler.post("/api/subscribe", json=subscribe_body(**settings))

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "invalid_argument"
    assert problem["field"] == field
    assert problem["detail"] == detail
    assert problem["hint"]
    assert sample.calls == []
    assert sample.subscriptions == {}


def test_subscribing_again_with_equal_settings_changes_nothing(
    sample: Sample, hostler: httpx.Client
) -> None:
    hostler.post("/api/subscribe", json=subscribe_body(seconds=30))
    pending = sample.timers.pending("sub-1")

    again = hostler.post("/api/subscribe", json=subscribe_body(seconds=30))

    assert again.status_code == 200
    assert again.json()["result"] == "unchanged"
    assert again.json()["description"] == "every 30s"
    assert sample.calls == [("subscribe", "sub-1", 30)]
    assert sample.timers.pending("sub-1") == pending


def test_subscribing_again_with_other_settings_replaces_the_subscription(
    sample: Sample, hostler: httpx.Client
) -> None:
    hostler.post("/api/subscribe", json=subscribe_body(seconds=30))

    again = hostler.post("/api/subscribe", json=subscribe_body(seconds=60))

    assert again.json()["result"] == "changed"
    assert sample.calls == [
        ("subscribe", "sub-1", 30),
        ("unsubscribe", "sub-1", 30),
        ("subscribe", "sub-1", 60),
    ]
    assert sample.subscriptions["sub-1"].settings.seconds == 60
    assert len(sample.timers.pending("sub-1")) == 1


def test_refused_settings_keep_the_previous_subscription(
    sample: Sample, hostler: httpx.Client
) -> None:
    hostler.post("/api/subscribe", json=subscribe_body(seconds=30))

    refused = hostler.post("/api/subscribe", json=subscribe_body(seconds=30, label="refused"))

    assert refused.status_code == 422
    assert sample.calls == [("subscribe", "sub-1", 30)]
    assert sample.subscriptions["sub-1"].settings == SampleSettings(seconds=30)


def test_a_dry_run_describes_the_settings_and_subscribes_nothing(
    sample: Sample, hostler: httpx.Client
) -> None:
    answer = hostler.post("/api/subscribe", json={**subscribe_body(seconds=5), "dry_run": True})

    assert answer.status_code == 200
    assert answer.json()["result"] == "created"
    assert answer.json()["description"] == "every 5s"
    assert sample.calls == []
    assert sample.subscriptions == {}


def test_a_failing_subscribe_answers_500_and_leaves_no_subscription(
    sample: Sample, hostler: httpx.Client
) -> None:
    hostler.post("/api/subscribe", json=subscribe_body(seconds=30))

    answer = hostler.post("/api/subscribe", json=subscribe_body(seconds=30, label="crash"))

    assert answer.status_code == 500
    assert answer.json()["code"] == "internal"
    assert answer.json()["detail"] == "extension 'sample': internal error"
    assert sample.subscriptions == {}
    assert sample.timers.pending("sub-1") == []


# -- unsubscribe -------------------------------------------------------------------------------


def test_unsubscribe_ends_the_subscription_and_its_timers_once(
    sample: Sample, hostler: httpx.Client
) -> None:
    hostler.post("/api/subscribe", json=subscribe_body(seconds=30))
    body = {"namespace": "default", "pipeline": "hello", "subscription": "sub-1"}

    first = hostler.post("/api/unsubscribe", json=body)
    second = hostler.post("/api/unsubscribe", json=body)

    assert (first.status_code, first.json()) == (
        200,
        {"subscription": "sub-1", "result": "removed"},
    )
    assert (second.status_code, second.json()) == (
        200,
        {"subscription": "sub-1", "result": "unchanged"},
    )
    assert sample.calls == [("subscribe", "sub-1", 30), ("unsubscribe", "sub-1", 30)]
    assert sample.subscriptions == {}
    assert sample.timers.pending("sub-1") == []


def test_removed_is_told_only_when_a_subscription_ends_for_good_and_arrivals_are_remembered(
    sample: Sample,
) -> None:
    told: list[tuple[str, str]] = []
    sample.removed = lambda sub: told.append(("removed", sub.id))  # type: ignore[method-assign]
    arrivals: list[bool] = []
    subscribe = sample.subscribe

    def recording(sub: extension.Subscription[SampleSettings]) -> None:
        arrivals.append(sample.first_arrival(sub))
        subscribe(sub)

    sample.subscribe = recording  # type: ignore[method-assign]
    request = contract.Subscribe.model_validate(subscribe_body(seconds=30))
    changed = contract.Subscribe.model_validate(subscribe_body(seconds=60))
    ended = contract.Unsubscribe(namespace="default", pipeline="hello", subscription="sub-1")

    sample.handle_subscribe(request)
    sample.handle_subscribe(changed)  # replaced: unsubscribed, not removed
    assert told == []
    sample.handle_unsubscribe(ended)
    assert told == [("removed", "sub-1")]
    sample.handle_subscribe(request)  # back again in the same process: not a first arrival
    assert arrivals == [True, False, False]


def test_unsubscribing_an_unknown_id_is_fine(sample: Sample, hostler: httpx.Client) -> None:
    body = {"namespace": "default", "pipeline": "hello", "subscription": "never"}

    answer = hostler.post("/api/unsubscribe", json=body)

    assert answer.status_code == 200
    assert answer.json() == {"subscription": "never", "result": "unchanged"}
    assert sample.calls == []


# -- external events ---------------------------------------------------------------------------


def event_body(subscription: str | None, body: bytes, **headers: str) -> dict[str, Any]:
    return {
        "subscription": subscription,
        "method": "POST",
        "path": "/hook",
        "query": {"ref": "main"},
        "headers": {"Content-Type": "application/json", **headers},
        "body": base64.b64encode(body).decode(),
    }


def test_an_external_event_reaches_the_extension_and_its_answer_comes_back(
    hostler: httpx.Client,
) -> None:
    hostler.post("/api/subscribe", json=subscribe_body(seconds=30))
    raw = json.dumps({"hello": "wörld"}).encode()

    answer = hostler.post(
        "/api/external-event", json=event_body("sub-1", raw, **{"X-Signature": "good"})
    )

    assert answer.status_code == 200
    assert answer.json() == {
        "status": 202,
        "body": {
            "got": {"hello": "wörld"},
            "subscription": "sub-1",
            "method": "POST",
            "path": "/hook",
            "query": {"ref": "main"},
        },
    }


def test_a_hostler_error_raised_by_the_extension_becomes_the_answer_for_the_sender(
    hostler: httpx.Client,
) -> None:
    unsigned = hostler.post("/api/external-event", json=event_body(None, b"{}"))
    not_json = hostler.post(
        "/api/external-event", json=event_body(None, b"<xml/>", **{"X-Signature": "good"})
    )

    assert unsigned.status_code == 200
    assert unsigned.json()["status"] == 401
    assert unsigned.json()["body"]["detail"] == "webhook: signature does not match"
    assert unsigned.json()["body"]["hint"] == "sign the body with the secret"
    assert not_json.json()["status"] == 422
    assert not_json.json()["body"]["detail"].startswith("request body: not JSON")


def test_an_event_for_an_unknown_subscription_is_answered_404_for_the_sender(
    hostler: httpx.Client,
) -> None:
    answer = hostler.post("/api/external-event", json=event_body("gone", b"{}"))

    assert answer.status_code == 200
    assert answer.json()["status"] == 404
    assert answer.json()["body"]["detail"] == (
        "subscription 'gone': not subscribed to extension 'sample'"
    )


def test_an_extension_without_external_events_answers_404_for_the_sender() -> None:
    class Quiet(extension.Extension[extension.NoSettings]):
        name = "quiet"
        version = "1.0.0"
        kind = "notifier"
        description = "Takes no events."

    system = contract.System(port=0, key=pydantic.SecretStr(KEY), url="http://hostler.invalid")
    with (
        extension.Server(Quiet(system), key=KEY) as quiet,
        httpx.Client(base_url=quiet.url, headers=AUTH) as session,
    ):
        answer = session.post("/api/external-event", json=event_body(None, b""))

    assert answer.json()["status"] == 404
    assert answer.json()["body"]["detail"] == "extension 'quiet': takes no external events"


# -- malformed requests ------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_refused_with_400(hostler: httpx.Client) -> None:
    answer = hostler.post(
        "/api/subscribe", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "bad_request"
    assert problem["title"] == "Bad request"
    assert problem["detail"].startswith("request body: not JSON")


def test_a_request_missing_a_field_is_refused_with_422_naming_it(hostler: httpx.Client) -> None:
    answer = hostler.post("/api/subscribe", json={"namespace": "default", "pipeline": "hello"})

    assert answer.status_code == 422
    assert answer.json()["field"] == "subscription"
    assert answer.json()["detail"] == "field 'subscription': is required"


def test_a_body_with_a_broken_base64_field_is_refused_with_422(hostler: httpx.Client) -> None:
    answer = hostler.post("/api/external-event", json={**event_body(None, b""), "body": "a"})

    assert answer.status_code == 422
    assert answer.json()["field"] == "body"


def test_an_unknown_route_is_404_and_a_wrong_method_405(hostler: httpx.Client) -> None:
    unknown = hostler.get("/api/nothing")
    wrong = hostler.get("/api/subscribe")

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    assert unknown.json()["detail"] == "route 'GET /api/nothing': not found"
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "POST"


def test_a_body_over_the_limit_is_refused_with_413(sample: Sample) -> None:
    class Small(Sample):
        max_request_bytes = 64

    system = contract.System(port=0, key=pydantic.SecretStr(KEY), url="http://hostler.invalid")
    small = Small(system, SampleConfig(password=pydantic.SecretStr("x")), api=sample.api)
    with extension.Server(small, key=KEY) as served:
        answer = httpx.post(
            f"{served.url}/api/subscribe",
            headers=AUTH,
            json=subscribe_body(seconds=1, label="x" * 64),
        )

    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"


# -- shutdown ----------------------------------------------------------------------------------


def test_shutdown_answers_then_stops_the_server_and_closes_the_extension(
    sample: Sample, running: extension.Server, hostler: httpx.Client
) -> None:
    hostler.post("/api/subscribe", json=subscribe_body(seconds=30))

    answer = hostler.post("/api/shutdown")

    assert answer.status_code == 200
    assert answer.json() == {"status": "stopping"}
    assert running.wait(10)
    assert sample.closed
    with pytest.raises(RuntimeError):
        sample.timers.at("sub-2", T0, lambda: None)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.url}/api/health")


def test_shutdown_answers_the_requests_in_flight_first(
    sample: Sample, running: extension.Server, hostler: httpx.Client
) -> None:
    sample.gate = threading.Event()
    answers: list[httpx.Response] = []
    slow = threading.Thread(
        target=lambda: answers.append(
            hostler.post("/api/subscribe", json=subscribe_body(seconds=3))
        )
    )
    slow.start()
    assert sample.entered.wait(10)

    stopping = hostler.post("/api/shutdown")
    still_serving = not running.wait(0.2)
    sample.gate.set()
    slow.join(10)

    assert stopping.status_code == 200
    assert still_serving
    assert [a.status_code for a in answers] == [200]
    assert running.wait(10)
    assert sample.closed


def test_main_stops_cleanly_on_sigterm(tmp_path: pathlib.Path) -> None:
    module = tmp_path / "sigterm_sample.py"
    module.write_text(
        textwrap.dedent(
            """
            from hostler.sdk import extension

            class Quiet(extension.Extension[extension.NoSettings]):
                name = "quiet"
                version = "1.0.0"
                kind = "trigger"
                description = "Does nothing."

                def on_shutdown(self) -> None:
                    self.log.info("shutdown hook ran")

            Quiet.main()
            """
        )
    )
    env = {
        **os.environ,
        **environ(),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")]),
    }
    process = subprocess.Popen(
        [sys.executable, str(module)], env=env, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    try:
        first = json.loads(process.stderr.readline())
        assert first["event"] == "extension listening"
        assert first["url"].startswith("http://127.0.0.1:")
        assert httpx.get(f"{first['url']}/api/health").status_code == 200
        process.send_signal(signal.SIGTERM)
        rest = [json.loads(line) for line in process.stderr]
        assert process.wait(10) == 0
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    assert [line["event"] for line in rest] == ["shutdown hook ran", "extension stopped"]
    assert rest[0]["logger"] == "hostler.extension.sample-1"


# -- environment and the Hostler API -----------------------------------------------------------


def test_the_extension_starts_runs_through_the_hostler_api_with_its_token() -> None:
    stand_in = StandIn()
    try:
        with (
            server.from_environ(Sample, environ(stand_in.url)) as served,
            httpx.Client(base_url=served.url, headers=AUTH) as session,
        ):
            session.post("/api/subscribe", json=subscribe_body(seconds=30))
            raw = json.dumps({"sha": "abc123"}).encode()
            answer = session.post(
                "/api/external-event", json=event_body("sub-1", raw, **{"X-Signature": "good"})
            )
    finally:
        stand_in.close()

    assert answer.json() == {"status": 201, "body": {"run": 7}}
    assert len(stand_in.requests) == 1
    path, headers, body = stand_in.requests[0]
    assert path == "/api/v1/namespaces/default/pipelines/hello/runs"
    assert headers["Authorization"] == "Bearer hst_extension"
    assert body == {"variables": {"SHA": "abc123"}}


def test_the_environment_configures_the_extension() -> None:
    sample = Sample.from_environ(
        environ(HOSTLER_EXTENSION_CONFIG_GREETING="bonjour", HOSTLER_EXTENSION_SYSTEM_HOST="::1")
    )
    try:
        assert sample.config == SampleConfig(
            greeting="bonjour", password=pydantic.SecretStr("s3cret")
        )
        assert sample.system.name == "sample-1"
        assert sample.system.host == "::1"
        assert sample.system.token.get_secret_value() == "hst_extension"
        assert sample.api.url == "http://hostler.invalid"
        assert sample.log.name == "hostler.extension.sample-1"
    finally:
        sample.close()


@pytest.mark.parametrize(
    ("change", "variable", "ending"),
    [
        ({"HOSTLER_EXTENSION_SYSTEM_KEY": None}, "HOSTLER_EXTENSION_SYSTEM_KEY", "is required"),
        (
            {"HOSTLER_EXTENSION_SYSTEM_PORT": "http"},
            "HOSTLER_EXTENSION_SYSTEM_PORT",
            "input should be a valid integer, unable to parse string as an integer",
        ),
        (
            {"HOSTLER_EXTENSION_CONFIG_PASSWORD": None},
            "HOSTLER_EXTENSION_CONFIG_PASSWORD",
            "is required",
        ),
    ],
    ids=["missing-key", "bad-port", "missing-config"],
)
def test_a_wrong_environment_is_refused_naming_the_variable(
    change: dict[str, str | None], variable: str, ending: str
) -> None:
    env = {k: v for k, v in {**environ(), **change}.items() if v is not None}

    with pytest.raises(errors.InvalidArgument) as caught:
        Sample.from_environ(env)

    assert caught.value.field == variable
    assert caught.value.message == f"environment variable '{variable}': {ending}"
    assert caught.value.hint


def test_main_exits_2_when_the_environment_is_wrong(
    monkeypatch: pytest.MonkeyPatch, root_logging: None
) -> None:
    for name in list(os.environ):
        if name.startswith("HOSTLER_EXTENSION_"):
            monkeypatch.delenv(name)
    stream = io.StringIO()
    configure = logs.configure
    monkeypatch.setattr(logs, "configure", lambda: configure("info", stream))

    with pytest.raises(SystemExit) as caught:
        Sample.main()

    assert caught.value.code == server.EXIT_MISCONFIGURED
    line = json.loads(stream.getvalue())
    assert line["event"] == "extension cannot start"
    assert "HOSTLER_EXTENSION_SYSTEM_" in line["detail"]


# -- logs --------------------------------------------------------------------------------------


def test_the_log_is_one_json_object_a_line_with_the_extra_fields(root_logging: None) -> None:
    stream = io.StringIO()
    logs.configure("debug", stream)
    log = logging.getLogger("hostler.extension.sample")

    log.info("run started", extra={"run": 7, "pipeline": "hello"})
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        log.exception("timer failed")

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "run started"
    assert (first["level"], first["logger"]) == ("info", "hostler.extension.sample")
    assert (first["run"], first["pipeline"]) == (7, "hello")
    assert first["timestamp"].endswith("Z")
    assert second["level"] == "error"
    assert "ValueError: bad\nvalue" in second["exception"]


# -- entry points ------------------------------------------------------------------------------


def entry(name: str, value: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=value, group=entrypoints.GROUP)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [
        entry("sample", f"{__name__}:Sample"),
        entry("function", f"{__name__}:environ"),
        entry("constant", f"{__name__}:KEY"),
    ]
    monkeypatch.setattr(metadata, "entry_points", lambda group: found)


@pytest.mark.usefixtures("installed")
def test_an_entry_point_names_an_extension_class_or_a_callable() -> None:
    assert entrypoints.load("sample") == Sample.main
    assert entrypoints.load("function") is environ


@pytest.mark.usefixtures("installed")
def test_an_entry_point_that_cannot_serve_is_refused() -> None:
    with pytest.raises(errors.NotFound) as missing:
        entrypoints.load("nope")
    with pytest.raises(errors.InvalidArgument) as constant:
        entrypoints.load("constant")

    assert missing.value.message == (
        "extension 'nope': not installed (installed: constant, function, sample)"
    )
    assert "neither an Extension class nor a callable" in constant.value.message


# -- timers ------------------------------------------------------------------------------------


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wheel(clock: Clock) -> Iterator[timers.Timers]:
    wheel = timers.Timers(clock=clock)
    yield wheel
    wheel.close()


def later(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def recorder(fired: list[str], label: str) -> timers.Callback:
    """Return a callback that notes ``label`` in ``fired`` and does not repeat."""

    def record() -> None:
        fired.append(label)

    return record


def test_timers_fire_in_the_order_of_their_times(clock: Clock, wheel: timers.Timers) -> None:
    fired: list[str] = []
    wheel.at("a", later(3), recorder(fired, "third"))
    wheel.at("b", later(1), recorder(fired, "first"))
    wheel.at("a", later(2), recorder(fired, "second"))
    wheel.at("c", later(2), recorder(fired, "second, set later"))
    wheel.at("c", later(60), recorder(fired, "not yet"))

    clock.now = later(10)
    wheel.wake()
    eventually(lambda: len(fired) == 4)

    assert fired == ["first", "second", "second, set later", "third"]
    assert wheel.pending("c") == [later(60)]


def test_a_timer_runs_again_at_the_time_its_callback_returns() -> None:
    real = timers.Timers()
    fired: list[datetime.datetime] = []

    def tick() -> datetime.datetime | None:
        fired.append(real.now())
        return real.now() if len(fired) < 3 else None

    try:
        real.at("sub", real.now(), tick)
        eventually(lambda: len(fired) == 3)
    finally:
        real.close()

    assert fired == sorted(fired)
    assert real.pending("sub") == []


def test_cancel_drops_the_timers_of_its_key_only(clock: Clock, wheel: timers.Timers) -> None:
    fired: list[str] = []
    wheel.at("a", later(1), recorder(fired, "a"))
    wheel.at("a", later(2), recorder(fired, "a"))
    wheel.at("b", later(1), recorder(fired, "b"))

    wheel.cancel("a")
    clock.now = later(5)
    wheel.wake()
    eventually(lambda: fired == ["b"])

    assert wheel.pending("a") == []
    wheel.at("a", later(5), recorder(fired, "a again"))
    eventually(lambda: fired == ["b", "a again"])


def test_cancel_waits_for_a_running_callback_and_ignores_its_next_time(
    wheel: timers.Timers,
) -> None:
    entered, gate = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow() -> datetime.datetime:
        runs.append(1)
        entered.set()
        gate.wait(10)
        return T0  # due at once, were it kept

    wheel.at("sub", T0, slow)
    assert entered.wait(10)
    cancelled = threading.Event()

    def cancel() -> None:
        wheel.cancel("sub")
        cancelled.set()

    canceller = threading.Thread(target=cancel)
    canceller.start()
    waited = not cancelled.wait(0.2)
    gate.set()
    canceller.join(10)

    assert waited
    assert cancelled.is_set()
    assert wheel.pending("sub") == []
    assert runs == [1]


def test_keys_cancelled_or_ended_leave_nothing_behind(clock: Clock, wheel: timers.Timers) -> None:
    fired: list[str] = []
    for n in range(100):  # subscriptions come and go
        wheel.at(f"sub-{n}", later(60), recorder(fired, "cancelled"))
        wheel.cancel(f"sub-{n}")
    wheel.at("once", later(1), recorder(fired, "once"))
    wheel.at("kept", later(60), recorder(fired, "kept"))
    clock.now = later(2)
    wheel.wake()
    eventually(lambda: fired == ["once"])

    eventually(lambda: set(wheel._epochs) == {"kept"})  # what would otherwise grow
    wheel.at("once", later(3), recorder(fired, "once again"))  # a key ended may come back
    clock.now = later(4)
    wheel.wake()
    eventually(lambda: fired == ["once", "once again"])


def test_a_callback_that_cancels_and_sets_its_own_key_is_not_run_twice(
    clock: Clock, wheel: timers.Timers
) -> None:
    fired: list[str] = []

    def replace() -> datetime.datetime:
        fired.append("replace")
        wheel.cancel("sub")  # as a changed subscription does, from its own timer
        wheel.at("sub", later(100), recorder(fired, "new"))
        return later(1)  # its old next time: ignored

    wheel.at("sub", later(1), replace)
    clock.now = later(5)
    wheel.wake()
    eventually(lambda: fired == ["replace"])
    assert wheel.pending("sub") == [later(100)]


def test_a_failing_callback_is_logged_and_ends_its_timer_only(
    clock: Clock, wheel: timers.Timers, caplog: pytest.LogCaptureFixture
) -> None:
    fired: list[str] = []

    def broken() -> datetime.datetime:
        raise RuntimeError("boom")

    wheel.at("bad", later(1), broken)
    wheel.at("good", later(2), recorder(fired, "good"))
    clock.now = later(3)
    wheel.wake()
    eventually(lambda: fired == ["good"])

    assert [r.getMessage() for r in caplog.records] == ["timer failed"]
    assert caplog.records[0].__dict__["timer"] == "bad"
    assert wheel.pending("bad") == []


def test_timers_refuse_a_time_without_a_timezone_and_work_after_close(
    wheel: timers.Timers,
) -> None:
    with pytest.raises(ValueError, match="timer 'sub': time 2026-03-29T00:30:00 has no timezone"):
        wheel.at("sub", T0.replace(tzinfo=None), lambda: None)

    wheel.close()

    with pytest.raises(RuntimeError, match="timer 'sub': the timers are closed"):
        wheel.at("sub", T0, lambda: None)
