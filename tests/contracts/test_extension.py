"""The conformance suite of the extension contract: every extension must pass it.

Each extension joins ``CASES`` with settings it accepts, other settings it accepts, settings it
refuses (and the field it names), and the admin configuration it needs. It is started the way
Hostler starts it, from the environment, against a stand-in for the Hostler API, and driven over
HTTP only; nothing here looks inside it. A Python extension is served in this process; an example
image (``examples/extensions/NAME``) is built once and run as a container on the host's network.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import http.server
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import docker
import httpx
import pydantic
import pytest
from docker.models import containers

from hostler.extensions import cron, github, interval, notify, pipeline, webhook
from hostler.sdk import extension
from hostler.sdk.extension import contract, server
from hostler.testing import images, process

KEY = "conformance-key"
IMAGE_VERSION = "1.0.0"
STARTING = 10.0
"""Seconds an extension's container may take to answer its health check."""


class EverySettings(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    seconds: int = pydantic.Field(gt=0, description="Seconds between two runs.")


class Every(extension.Extension[EverySettings]):
    """The sample extension: starts a run every N seconds."""

    name = "every"
    version = "0.1.0"
    kind = "trigger"
    description = "Start a run every N seconds."

    def describe(self, sub: extension.Subscription[EverySettings]) -> extension.Summary:
        first = self.timers.now() + datetime.timedelta(seconds=sub.settings.seconds)
        return extension.Summary(f"every {sub.settings.seconds}s", [first])

    def subscribe(self, sub: extension.Subscription[EverySettings]) -> None:
        every = datetime.timedelta(seconds=sub.settings.seconds)

        def fire() -> datetime.datetime:
            self.start_run(sub.namespace, sub.pipeline)
            return self.timers.now() + every

        self.timers.at(sub.id, self.timers.now() + every, fire)


@dataclasses.dataclass(frozen=True)
class Case:
    """An extension under test and the settings that exercise it. Its ``source`` is a Python
    extension class, or the name of an example image, ``examples/extensions/NAME``."""

    source: type[extension.Extension[Any]] | str
    settings: Mapping[str, Any]
    other_settings: Mapping[str, Any]
    bad_settings: Mapping[str, Any]
    bad_field: str
    config: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        """Return the extension's name, which Hostler installs it under."""
        return self.source if isinstance(self.source, str) else self.source.name

    def param(self) -> Any:
        """Return the case as a parameter of ``running``; an image needs Docker."""
        marks = [pytest.mark.docker] if isinstance(self.source, str) else []
        return pytest.param(self, id=self.name, marks=marks)


CASES = [
    Case(Every, {"seconds": 3600}, {"seconds": 7200}, {"seconds": -1}, "settings.seconds"),
    Case(interval.Trigger, {"every": "1h"}, {"every": 7200}, {"every": "soon"}, "settings.every"),
    Case(
        cron.Trigger,
        {"schedule": "0 2 * * *"},
        {"schedule": "0 2 * * *", "timezone": "Europe/Paris"},
        {"schedule": "0 2 * *"},
        "settings.schedule",
    ),
    Case(
        webhook.Trigger,
        {"secret": "conformance-webhook-secret", "variables": {"SHA": "after"}},
        {"secret": "conformance-webhook-secret", "variables": {"SHA": "head_commit.id"}},
        {"secret": "too-short"},
        "settings.secret",
    ),
    Case(
        github.Trigger,
        {"secret": "conformance-github-secret"},
        {"secret": "conformance-github-secret", "branches": ["main"]},
        {"secret": "conformance-github-secret", "events": ["Push!"]},
        "settings.events",
    ),
    Case(
        pipeline.Trigger,
        {"pipeline": "build"},
        {"pipeline": "platform/build", "statuses": ["successful", "failed"]},
        {"pipeline": "hello"},
        "settings.pipeline",
    ),
    Case(
        notify.Notifier,
        {"webhook": {"url": "https://hooks.example.com/services/T0/B0"}},
        {"when": "failures_in_row", "count": 2, "email": {"to": ["ops@example.com"]}},
        {"when": "duration", "webhook": {"url": "https://hooks.example.com/services/T0/B0"}},
        "settings.duration",
        config={"SMTP_HOST": "127.0.0.1"},
    ),
    Case(
        "shellhook",
        {"message": "hello"},
        {"message": "hi there"},
        {"message": 5},
        "settings.message",
    ),
]


class StandIn:
    """A stand-in for the Hostler API: answers every request with a new pending run."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                data = json.dumps({"id": 1, "state": "pending"}).encode()
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


class Served(Protocol):
    """An extension being served, in this process (``extension.Server``) or in a container."""

    @property
    def url(self) -> str:
        """Return the base URL it listens on."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Return once it has stopped (True), or after ``timeout`` seconds (False)."""
        ...


@dataclasses.dataclass
class Container:
    """An extension served by a container, as Hostler runs one installed from an image."""

    container: containers.Container
    url: str

    def wait(self, timeout: float | None = None) -> bool:
        """Return once the container has exited (True), or after ``timeout`` seconds (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.container.reload()
            if self.container.status in ("exited", "dead"):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


@contextlib.contextmanager
def container(image: str, environ: Mapping[str, str]) -> Iterator[Container]:
    """Run ``image`` with ``environ`` on the host's network, as Hostler does, until it answers
    its health check; yield it, and remove it afterwards, printing its output."""
    client = docker.from_env()
    try:
        started = client.containers.run(
            image, detach=True, network_mode="host", environment=dict(environ)
        )
        try:
            served = Container(
                started, f"http://127.0.0.1:{environ['HOSTLER_EXTENSION_SYSTEM_PORT']}"
            )
            deadline = time.monotonic() + STARTING
            while not healthy(served.url):
                assert not served.wait(0), f"container of '{image}' exited while starting"
                assert time.monotonic() < deadline, f"no health from '{image}' within {STARTING} s"
                time.sleep(0.05)
            yield served
        finally:
            print(started.logs().decode(errors="replace"))  # shown when the test fails
            started.remove(force=True)
    finally:
        client.close()


def healthy(url: str) -> bool:
    """Tell whether the extension at ``url`` answers its health check."""
    try:
        return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="session")
def example_images() -> Iterator[dict[str, str]]:
    """Yield the example extensions' images by name, built once; removed afterwards."""
    repository = f"hostler-test-conformance-shellhook-{uuid.uuid4().hex[:12]}"
    with images.shellhooks(IMAGE_VERSION, repository=repository) as built:
        yield {"shellhook": built[IMAGE_VERSION]}


@dataclasses.dataclass
class Running:
    """An extension being served, and a client that calls it as Hostler does."""

    case: Case
    server: Served
    hostler: httpx.Client

    def subscribe(
        self, settings: Mapping[str, Any], subscription: str = "sub-1", **extra: Any
    ) -> httpx.Response:
        body = {
            "namespace": "default",
            "pipeline": "hello",
            "subscription": subscription,
            "settings": dict(settings),
            **extra,
        }
        return self.hostler.post("/api/subscribe", json=body)

    def unsubscribe(self, subscription: str = "sub-1") -> httpx.Response:
        body = {"namespace": "default", "pipeline": "hello", "subscription": subscription}
        return self.hostler.post("/api/unsubscribe", json=body)


@pytest.fixture(params=[case.param() for case in CASES])
def running(request: pytest.FixtureRequest) -> Iterator[Running]:
    """Yield each extension served from the environment Hostler gives it, stopped afterwards."""
    case: Case = request.param
    stand_in = StandIn()
    environ = {
        "HOSTLER_EXTENSION_SYSTEM_NAME": case.name,
        "HOSTLER_EXTENSION_SYSTEM_PORT": "0",
        "HOSTLER_EXTENSION_SYSTEM_KEY": KEY,
        "HOSTLER_EXTENSION_SYSTEM_URL": stand_in.url,
        "HOSTLER_EXTENSION_SYSTEM_TOKEN": "hst_conformance",
        **{contract.CONFIG_PREFIX + name: value for name, value in case.config.items()},
    }
    try:
        with contextlib.ExitStack() as stack:
            served: Served
            if isinstance(case.source, str):
                image = request.getfixturevalue("example_images")[case.source]
                # A container cannot say which port it took: give it one free now.
                environ["HOSTLER_EXTENSION_SYSTEM_PORT"] = str(process.free_port())
                served = stack.enter_context(container(image, environ))
            else:
                served = stack.enter_context(server.from_environ(case.source, environ))
            hostler = stack.enter_context(
                httpx.Client(
                    base_url=served.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
                )
            )
            yield Running(case, served, hostler)
    finally:
        stand_in.close()


def assert_problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check that ``answer`` is a problem document of ``status`` and ``code``; return it."""
    assert answer.status_code == status
    assert answer.headers["content-type"] == contract.PROBLEM_MEDIA_TYPE
    problem = contract.Problem.model_validate(answer.json())
    assert (problem.status, problem.code) == (status, code)
    assert problem.type == contract.PROBLEM_TYPE_BASE + code
    assert problem.detail
    found: dict[str, Any] = answer.json()
    return found


def test_info_is_well_formed(running: Running) -> None:
    answer = running.hostler.get("/api/info")

    assert answer.status_code == 200
    info = contract.Info.model_validate(answer.json())
    assert info.name == running.case.name
    assert re.match(contract.SEMVER, info.version)
    assert info.kind in ("trigger", "notifier")
    assert info.contract == contract.VERSION
    schema = info.settings_schema
    assert schema["type"] == "object"
    assert isinstance(schema.get("properties", {}), dict)
    assert set(schema.get("required", [])) <= set(schema.get("properties", {}))
    for variable in info.config:
        assert variable.name.startswith(contract.CONFIG_PREFIX)
        assert variable.description


def test_health_is_ok_and_needs_no_key(running: Running) -> None:
    answer = httpx.get(f"{running.server.url}/api/health")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "route", [r for r in contract.ROUTES if not r.public], ids=lambda r: r.operation
)
@pytest.mark.parametrize("key", [None, "wrong"], ids=["no-key", "wrong-key"])
def test_every_other_route_needs_the_key(
    running: Running, route: contract.Route, key: str | None
) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    answer = httpx.request(route.method, running.server.url + route.path, headers=headers, json={})

    assert_problem(answer, 401, "unauthenticated")
    assert not running.server.wait(0)


def test_subscribe_answers_a_summary(running: Running) -> None:
    answer = running.subscribe(running.case.settings)

    assert answer.status_code == 200
    subscribed = contract.Subscribed.model_validate(answer.json())
    assert subscribed.subscription == "sub-1"
    assert subscribed.result == "created"
    assert subscribed.description


def test_subscribing_again_is_idempotent_and_replaces_changed_settings(running: Running) -> None:
    running.subscribe(running.case.settings)

    same = running.subscribe(running.case.settings)
    other = running.subscribe(running.case.other_settings)
    back = running.subscribe(running.case.settings)

    assert [a.status_code for a in (same, other, back)] == [200, 200, 200]
    assert [a.json()["result"] for a in (same, other, back)] == ["unchanged", "changed", "changed"]


def test_bad_settings_are_refused_with_422_naming_the_setting(running: Running) -> None:
    answer = running.subscribe(running.case.bad_settings)

    problem = assert_problem(answer, 422, "invalid_argument")
    assert problem["field"] == running.case.bad_field
    assert problem["hint"]
    assert running.unsubscribe().json()["result"] == "unchanged"


def test_a_dry_run_subscribes_nothing(running: Running) -> None:
    answer = running.subscribe(running.case.settings, dry_run=True)

    assert answer.status_code == 200
    assert answer.json()["result"] == "created"
    assert running.unsubscribe().json()["result"] == "unchanged"


def test_unsubscribe_is_idempotent(running: Running) -> None:
    running.subscribe(running.case.settings)

    first, second, unknown = running.unsubscribe(), running.unsubscribe(), running.unsubscribe("x")

    assert [a.status_code for a in (first, second, unknown)] == [200, 200, 200]
    assert [a.json()["result"] for a in (first, second, unknown)] == [
        "removed",
        "unchanged",
        "unchanged",
    ]


def test_an_external_event_is_answered_for_its_sender(running: Running) -> None:
    running.subscribe(running.case.settings)
    event = {
        "subscription": "sub-1",
        "method": "POST",
        "path": "/",
        "query": {},
        "headers": {"content-type": "application/json"},
        "body": base64.b64encode(b"{}").decode(),
    }

    answer = running.hostler.post("/api/external-event", json=event)

    assert answer.status_code == 200
    contract.Answer.model_validate(answer.json())


def test_malformed_requests_are_problems(running: Running) -> None:
    not_json = running.hostler.post("/api/subscribe", content=b"{")
    incomplete = running.hostler.post("/api/subscribe", json={"namespace": "default"})
    unknown = running.hostler.get("/api/nothing")

    assert_problem(not_json, 400, "bad_request")
    assert assert_problem(incomplete, 422, "invalid_argument")["field"]
    assert_problem(unknown, 404, "not_found")


def test_shutdown_stops_the_extension(running: Running) -> None:
    running.subscribe(running.case.settings)

    answer = running.hostler.post("/api/shutdown")

    assert answer.status_code == 200
    assert answer.json() == {"status": "stopping"}
    assert running.server.wait(30)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.server.url}/api/health")
