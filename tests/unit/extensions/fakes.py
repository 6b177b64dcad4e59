"""A stand-in for the Hostler API with several pipelines whose runs tests create and complete,
and ways to drive any extension as Hostler does: what the tests of the extensions that follow
runs (``pipeline``, ``notify``) share."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from hostler.sdk import client
from hostler.sdk.extension import base, contract

from . import URL, Clock, Started, eventually

Extension = base.Extension[Any]


def stamp(instant: datetime.datetime) -> str:
    """Return ``instant`` as the API writes a timestamp."""
    return instant.isoformat().replace("+00:00", "Z")


def _problem(status: int, code: str, detail: str) -> httpx.Response:
    return httpx.Response(status, json={"status": status, "code": code, "detail": detail})


class Hostler:
    """A stand-in for the Hostler API that keeps the runs of several pipelines.

    It lists a pipeline's runs newest first, filtered by ``state`` and cut at ``limit``, and
    answers 404 for a pipeline it does not have. A run the extension starts is recorded in
    ``started`` and created, pending, in its pipeline. ``refuse`` next starts fail with 503;
    while ``unreachable`` no request gets through.
    """

    def __init__(self, clock: Callable[[], datetime.datetime]) -> None:
        self.clock = clock
        self.pipelines: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.started: list[Started] = []
        self.refuse = 0
        self.unreachable = False
        self.listed = 0
        self._lock = threading.Lock()

    def client(self) -> client.Client:
        """Return a client of this API, as an extension gets one."""
        return client.Client(URL, transport=httpx.MockTransport(self.answer))

    def create(self, namespace: str, pipeline: str) -> None:
        """Create pipeline ``namespace/pipeline``, without runs."""
        with self._lock:
            self.pipelines.setdefault((namespace, pipeline), [])

    def run(
        self,
        namespace: str,
        pipeline: str,
        *,
        state: str = "running",
        variables: Mapping[str, str] | None = None,
        trigger: str = "manual",
    ) -> int:
        """Add a run to ``namespace/pipeline`` (created if need be), started now; return its id."""
        with self._lock:
            added = self._add(namespace, pipeline, state, dict(variables or {}), trigger)
        number: int = added["id"]
        return number

    def complete(
        self,
        namespace: str,
        pipeline: str,
        run: int,
        status: str = "successful",
        *,
        reason: str | None = None,
    ) -> None:
        """End run ``run`` of ``namespace/pipeline`` now with ``status``."""
        with self._lock:
            found = self.get(namespace, pipeline, run)
            found.update(state="complete", status=status, ended=stamp(self.clock()))
            if reason is not None:
                found["reason"] = {"kind": "task_failed", "description": reason}

    def ran(
        self,
        namespace: str,
        pipeline: str,
        status: str = "successful",
        *,
        variables: Mapping[str, str] | None = None,
    ) -> int:
        """Add a run of ``namespace/pipeline`` that ended now with ``status``; return its id."""
        run = self.run(namespace, pipeline, variables=variables)
        self.complete(namespace, pipeline, run, status)
        return run

    def get(self, namespace: str, pipeline: str, run: int) -> dict[str, Any]:
        """Return run ``run`` of ``namespace/pipeline``, as kept (a live dict)."""
        return next(r for r in self.pipelines[namespace, pipeline] if r["id"] == run)

    def upstream_runs(self, subscription: str | None = None) -> list[str]:
        """Return ``HOSTLER_UPSTREAM_RUN`` of the runs started (by ``subscription``), in order."""
        return [
            run.variables["HOSTLER_UPSTREAM_RUN"]
            for run in self.started
            if subscription is None or run.variables["HOSTLER_SUBSCRIPTION"] == subscription
        ]

    def _add(
        self, namespace: str, pipeline: str, state: str, variables: dict[str, str], trigger: str
    ) -> dict[str, Any]:
        runs = self.pipelines.setdefault((namespace, pipeline), [])
        now = stamp(self.clock())
        run: dict[str, Any] = {
            "namespace": namespace,
            "pipeline": pipeline,
            "id": len(runs) + 1,
            "version": 1,
            "state": state,
            "status": "unknown",
            "reason": None,
            "variables": variables,
            "trigger": trigger,
            "created": now,
            "started": now if state != "pending" else None,
            "ended": None,
        }
        runs.append(run)
        return run

    def answer(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` as the API would."""
        if self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        parts = request.url.path.split("/")  # /api/v1/namespaces/NS/pipelines/P/runs
        if len(parts) != 8 or parts[-1] != "runs":
            return _problem(404, "not_found", "no such route")
        namespace, pipeline = parts[4], parts[6]
        with self._lock:
            runs = self.pipelines.get((namespace, pipeline))
            if runs is None:
                return _problem(404, "not_found", f"pipeline '{namespace}/{pipeline}': not found")
            if request.method == "GET":
                self.listed += 1
                states = request.url.params.get_list("state")
                limit = int(request.url.params.get("limit", "50"))
                start = int(request.url.params.get("cursor", "0"))  # the API's is opaque
                found = [dict(r) for r in reversed(runs) if not states or r["state"] in states]
                following = str(start + limit) if len(found) > start + limit else None
                page = {"items": found[start : start + limit], "next_cursor": following}
                return httpx.Response(200, json=page)
            if self.refuse:
                self.refuse -= 1
                return _problem(503, "unavailable", "store unavailable")
            variables = json.loads(request.content)["variables"]
            self.started.append(Started(namespace, pipeline, variables, self.clock()))
            run = self._add(namespace, pipeline, "pending", variables, "extension:test")
            return httpx.Response(201, json=run)


def subscribe(
    extension: Extension,
    settings: Mapping[str, Any],
    subscription: str,
    *,
    namespace: str = "default",
    pipeline: str = "deploy",
    dry_run: bool = False,
) -> contract.Subscribed:
    """Subscribe pipeline ``namespace/pipeline`` to ``extension`` as Hostler does."""
    request = contract.Subscribe(
        namespace=namespace,
        pipeline=pipeline,
        subscription=subscription,
        settings=dict(settings),
        dry_run=dry_run,
    )
    return extension.handle_subscribe(request)


def unsubscribe(
    extension: Extension, subscription: str, *, namespace: str = "default", pipeline: str = "deploy"
) -> None:
    """End ``subscription`` as Hostler does."""
    request = contract.Unsubscribe(
        namespace=namespace, pipeline=pipeline, subscription=subscription
    )
    extension.handle_unsubscribe(request)


def settle(extension: Extension, clock: Clock) -> None:
    """Return once every subscription's timer waits for a time after the clock's: whatever was
    due has run."""

    def settled() -> bool:
        for sub in extension.subscriptions:
            pending = extension.timers.pending(sub)
            if not pending or pending[0] <= clock.now:
                return False
        return True

    eventually(settled)


def tick(extension: Extension, clock: Clock, seconds: float = 1.0) -> None:
    """Let what is due run, move the clock by ``seconds``, and let what is due then run: one
    poll of each subscription, with the default ``POLL``."""
    settle(extension, clock)
    clock.now += datetime.timedelta(seconds=seconds)
    extension.timers.wake()
    settle(extension, clock)
