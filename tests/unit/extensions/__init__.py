"""What the tests of the built-in extensions share: a clock that moves only when told, a
stand-in for the Hostler API, and ways to drive a trigger as Hostler does."""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pydantic

from hostler import extensions
from hostler.sdk import client
from hostler.sdk.extension import contract

KEY = "extension-key"
URL = "http://hostler.invalid"


def at(text: str) -> datetime.datetime:
    """Return the UTC instant written ``2026-01-01 02:00[:30]``."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)


def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    """Return once ``check()`` holds; fail if it does not ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.002)


class Clock:
    """A clock that moves only when told."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now


@dataclasses.dataclass(frozen=True)
class Started:
    """A run the extension started: where, with which variables, and when by the clock."""

    namespace: str
    pipeline: str
    variables: Mapping[str, str]
    at: datetime.datetime


class Hostler:
    """A stand-in for the Hostler API: starts runs (recording them) and lists them, newest
    first, after the ones it was given; ``refuse`` next starts fail, while ``unreachable`` no
    request gets through, and while ``garbled`` lists are not lists."""

    def __init__(self, clock: Callable[[], datetime.datetime]) -> None:
        self.clock = clock
        self.started: list[Started] = []
        self.runs: list[dict[str, Any]] = []
        self.refuse = 0
        self.unreachable = False
        self.garbled = False
        self.listed = 0
        self._lock = threading.Lock()

    def client(self) -> client.Client:
        """Return a client of this API, as an extension gets one."""
        return client.Client(URL, transport=httpx.MockTransport(self.answer))

    def answer(self, request: httpx.Request) -> httpx.Response:
        if self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        parts = request.url.path.split("/")  # /api/v1/namespaces/NS/pipelines/P/runs
        if parts[-1] != "runs":
            return httpx.Response(404, json={"detail": "no such route"})
        namespace, pipeline = parts[4], parts[6]
        with self._lock:
            if request.method == "GET":
                self.listed += 1
                if self.garbled:
                    return httpx.Response(200, json=["not", "a", "page"])
                return httpx.Response(200, json={"items": list(self.runs), "next_cursor": None})
            if self.refuse:
                self.refuse -= 1
                return httpx.Response(
                    503, json={"detail": "store unavailable", "code": "unavailable"}
                )
            variables = json.loads(request.content)["variables"]
            self.started.append(Started(namespace, pipeline, variables, self.clock()))
            run = {"id": len(self.runs) + 1, "state": "pending", "variables": variables}
            self.runs.insert(0, run)
            return httpx.Response(201, json=run)

    def fire_times(self, subscription: str | None = None) -> list[str]:
        """Return ``HOSTLER_FIRE_TIME`` of the runs started (by ``subscription``), in order."""
        return [
            run.variables["HOSTLER_FIRE_TIME"]
            for run in self.started
            if subscription is None or run.variables["HOSTLER_SUBSCRIPTION"] == subscription
        ]


def system() -> contract.System:
    """Return what Hostler tells an extension it starts."""
    return contract.System(port=0, key=pydantic.SecretStr(KEY), url=URL)


def subscribe(
    trigger: extensions.Scheduled[Any],
    settings: Mapping[str, Any],
    subscription: str = "default/hello/every",
    *,
    dry_run: bool = False,
) -> contract.Subscribed:
    """Subscribe pipeline ``default/hello`` to ``trigger`` as Hostler does."""
    request = contract.Subscribe(
        namespace="default",
        pipeline="hello",
        subscription=subscription,
        settings=dict(settings),
        dry_run=dry_run,
    )
    return trigger.handle_subscribe(request)


def unsubscribe(trigger: extensions.Scheduled[Any], subscription: str) -> None:
    """End ``subscription`` as Hostler does."""
    request = contract.Unsubscribe(namespace="default", pipeline="hello", subscription=subscription)
    trigger.handle_unsubscribe(request)


def settle(trigger: extensions.Scheduled[Any], clock: Clock) -> None:
    """Return once every subscription's timer waits for a time after the clock's: whatever was
    due has fired."""

    def settled() -> bool:
        for sub in trigger.subscriptions:
            pending = trigger.timers.pending(sub)
            if not pending or pending[0] <= clock.now:
                return False
        return True

    eventually(settled)


def advance(
    trigger: extensions.Scheduled[Any],
    clock: Clock,
    until: datetime.datetime,
    step: datetime.timedelta,
) -> None:
    """Move the clock to ``until`` by ``step``, letting what is due fire after each step."""
    settle(trigger, clock)
    while clock.now < until:
        clock.now = min(clock.now + step, until)
        trigger.timers.wake()
        settle(trigger, clock)
