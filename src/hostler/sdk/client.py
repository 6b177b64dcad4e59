"""The HTTP client of the Hostler API (``/api/v1``), for scripts and for the CLI.

Every route of the API has one method; each returns the JSON the server answered, as plain dicts
and lists. An error answer (``application/problem+json``) raises ``ApiError``, and so does a server
that cannot be reached. ``iterate`` walks every page of a list; ``follow_logs`` streams a task's
log and ``follow_events`` the event log as server-sent events, and both resume after a dropped
connection. ``put_object`` and ``get_object`` stream an object's content in chunks, and
``get_object`` checks its digest on the way::

    from hostler.sdk import client

    with client.Client() as api:  # HOSTLER_URL, HOSTLER_TOKEN
        run = api.start_run("default", "hello", {"GREETING": "hi"})
        for task in api.iterate(api.list_tasks, "default", "hello", run["id"]):
            print(task["task"], task["state"])

This module imports only httpx and the standard library, never the server.
"""

from __future__ import annotations

import datetime
import json
import os
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, BinaryIO, ParamSpec

import httpx

from hostler.sdk import objects, sse

DEFAULT_URL = "http://127.0.0.1:8080"
"""Where the client looks for the server when neither ``url`` nor ``HOSTLER_URL`` says."""

Json = dict[str, Any]
"""A JSON object as the server sent it."""

_CODES_BY_STATUS = {
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    422: "invalid_argument",
    503: "unavailable",
}

P = ParamSpec("P")


UNCHECKED = object()
"""``up_pipeline`` without a plan to check the live version against."""

STABLE_STREAM = 5.0
"""Seconds a followed stream must have been open for its drop to count as a new outage, not as
one more failure of the current one."""


class ApiError(Exception):
    """The server refused a request, or could not be reached; the message is ``detail``.

    ``status`` is the HTTP status (0 when no answer arrived), ``code`` the stable error code of the
    contract (``not_found``, ``invalid_argument``, ``unavailable``, ...), ``field`` the input at
    fault and ``hint`` what to do, when the server said.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.hint = hint

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.detail!r})"


class DigestMismatch(ApiError):
    """A download whose content does not have the digest the server announced: it was damaged
    on the way. ``code`` is ``digest_mismatch``, an error of the client, not of the API;
    ``expected`` is the digest announced and ``actual`` that of the content received."""

    def __init__(self, status: int, detail: str, expected: str, actual: str) -> None:
        super().__init__(
            status,
            "digest_mismatch",
            detail,
            hint="download it again; if it keeps happening, check what lies between you and "
            "the server",
        )
        self.expected = expected
        self.actual = actual


Event = sse.Event
parse_events = sse.parse_events


def _segment(value: str | int) -> str:
    return urllib.parse.quote(str(value), safe="")


def _time(value: datetime.datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def _query(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class Client:
    """A connection to one Hostler server.

    ``url`` defaults to ``HOSTLER_URL``, else ``http://127.0.0.1:8080``; ``token`` defaults to
    ``HOSTLER_TOKEN`` and is sent as a bearer token. ``timeout`` is in seconds. ``transport`` is an
    httpx transport to use instead of the network (tests pass an ``httpx.MockTransport``). Use the
    client as a context manager, or call ``close``.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = (url or os.environ.get("HOSTLER_URL") or DEFAULT_URL).rstrip("/")
        token = token if token is not None else os.environ.get("HOSTLER_TOKEN")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=f"{self.url}/api/v1", headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        """Close the connections this client holds."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _unreachable(self, exc: httpx.TransportError) -> ApiError:
        if isinstance(exc, httpx.TimeoutException):
            return ApiError(
                0,
                "unavailable",
                f"server at {self.url} did not answer in time ({type(exc).__name__})",
                hint="try again; check the server's logs if it keeps happening",
            )
        reason = str(exc) or type(exc).__name__
        return ApiError(
            0,
            "unavailable",
            f"server at {self.url} is not reachable ({reason}); "
            "start it with 'hostler service start'",
            hint="if the server runs elsewhere, set HOSTLER_URL, or with the CLI use a context "
            "('hostler context')",
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Json | None = None,
    ) -> Any:
        try:
            response = self._http.request(method, path, params=params, json=body)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        _raise_for_problem(response)
        if response.status_code == 204 or not response.content:
            return None  # 204 No Content: a delete, whose answer has no body
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                response.status_code,
                "internal",
                f"server at {self.url}: answered {method} {path} with a body that is not JSON",
            ) from None

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=_query(**params))

    # -- extensions -------------------------------------------------------------------------

    def list_extensions(self) -> Json:
        """Return the installed extensions with how each stands: ``{"items": [...]}``."""
        result: Json = self._get("/extensions")
        return result

    def extension_log(self, name: str, lines: int = 100) -> Json:
        """Return the last ``lines`` lines of extension ``name``'s output: ``{"name", "lines"}``."""
        result: Json = self._get(f"/extensions/{_segment(name)}/logs", lines=lines)
        return result

    def list_installed_extensions(self) -> Json:
        """Return the extensions installed from images: ``{"items": [...]}``, by name."""
        result: Json = self._get("/extensions/installed")
        return result

    def get_installed_extension(self, name: str) -> Json:
        """Return the extension installed from an image as ``name``."""
        result: Json = self._get(f"/extensions/installed/{_segment(name)}")
        return result

    def install_extension(
        self,
        name: str,
        image: str,
        *,
        version: str | None = None,
        config: Mapping[str, str] | None = None,
        dry_run: bool = False,
        planned: str | None = None,
    ) -> Json:
        """Install extension ``name`` from ``image`` (a reference, or a repository whose newest
        version, or ``version``, is taken) with ``config`` (its ``HOSTLER_EXTENSION_CONFIG_*``
        values by key without the prefix). ``dry_run`` only plans; ``planned`` (a dry run's
        ``planned``) applies that plan or none (409). Returns ``{"plan", "planned", "applied",
        "extensions"}``."""
        body: Json = {"name": name, "image": image, "config": dict(config or {})}
        body["dry_run"] = dry_run
        if version is not None:
            body["version"] = version
        if planned is not None:
            body["planned"] = planned
        result: Json = self._request("POST", "/extensions/installed", body=body)
        return result

    def update_extension(
        self,
        name: str,
        *,
        version: str | None = None,
        allow_downgrade: bool = False,
        force_same_version: bool = False,
        dry_run: bool = False,
        planned: str | None = None,
    ) -> Json:
        """Update extension ``name`` to ``version`` (a version, or a major that pins; None: the
        newest within its pin). A downgrade needs ``allow_downgrade``, the installed version
        again ``force_same_version`` (409 otherwise); ``planned`` applies that plan or none.
        Returns ``{"plan", "planned", "applied", "extensions"}``."""
        body: Json = {
            "allow_downgrade": allow_downgrade,
            "force_same_version": force_same_version,
            "dry_run": dry_run,
        }
        if version is not None:
            body["version"] = version
        if planned is not None:
            body["planned"] = planned
        path = f"/extensions/installed/{_segment(name)}/update"
        result: Json = self._request("POST", path, body=body)
        return result

    def update_extensions(
        self,
        *,
        allow_downgrade: bool = False,
        force_same_version: bool = False,
        dry_run: bool = False,
        planned: str | None = None,
    ) -> Json:
        """Update every extension installed from an image to its newest version within its
        pin; one refused change refuses them all, and ``planned`` applies that plan or none.
        Returns ``{"plan", "planned", "applied", "extensions"}``."""
        body: Json = {
            "allow_downgrade": allow_downgrade,
            "force_same_version": force_same_version,
            "dry_run": dry_run,
        }
        if planned is not None:
            body["planned"] = planned
        result: Json = self._request("POST", "/extensions/update", body=body)
        return result

    def available_extensions(self) -> Json:
        """Return each extension installed from an image with the newer versions the engine
        has of it: ``{"items": [...], "up_to_date": bool}``."""
        result: Json = self._get("/extensions/available")
        return result

    def remove_extension(self, name: str) -> None:
        """Forget the extension installed from an image as ``name``; its image stays."""
        self._request("DELETE", f"/extensions/installed/{_segment(name)}")

    # -- namespaces -------------------------------------------------------------------------

    def health(self) -> Json:
        """Return the server's health: ``{"status": "ok", "version": ...}``."""
        result: Json = self._get("/health")
        return result

    def list_namespaces(self, *, cursor: str | None = None, limit: int | None = None) -> Json:
        """Return one page of namespaces: ``{"items": [...], "next_cursor": ...}``."""
        result: Json = self._get("/namespaces", cursor=cursor, limit=limit)
        return result

    def get_namespace(self, namespace: str) -> Json:
        """Return the namespace named ``namespace``."""
        result: Json = self._get(f"/namespaces/{_segment(namespace)}")
        return result

    def create_namespace(self, name: str, description: str | None = None) -> Json:
        """Create a namespace; return ``{"namespace": ..., "result": "created"|"unchanged"}``."""
        result: Json = self._request(
            "POST", "/namespaces", body=_query(name=name, description=description)
        )
        return result

    # -- pipelines and versions -------------------------------------------------------------

    def _pipelines(self, namespace: str) -> str:
        return f"/namespaces/{_segment(namespace)}/pipelines"

    def _pipeline(self, namespace: str, pipeline: str) -> str:
        return f"{self._pipelines(namespace)}/{_segment(pipeline)}"

    def list_pipelines(
        self, namespace: str, *, cursor: str | None = None, limit: int | None = None
    ) -> Json:
        """Return one page of the pipelines of ``namespace``."""
        result: Json = self._get(self._pipelines(namespace), cursor=cursor, limit=limit)
        return result

    def get_pipeline(self, namespace: str, pipeline: str) -> Json:
        """Return the pipeline ``namespace/pipeline``."""
        result: Json = self._get(self._pipeline(namespace, pipeline))
        return result

    def up_pipeline(
        self, namespace: str, config: Json, *, planned_against: int | object | None = UNCHECKED
    ) -> Json:
        """Register ``config`` as a version if it is new, and make it live.

        ``planned_against`` is the live version a plan was made against (None: none was live);
        when given and the live version changed since, the server refuses with a 409 Conflict.
        Returns ``{"pipeline": ..., "version": ..., "result": "created"|"deployed"|"unchanged"}``.
        """
        body: Json = {"config": config}
        if planned_against is not UNCHECKED:
            body["planned_against"] = planned_against
        result: Json = self._request("POST", self._pipelines(namespace), body=body)
        return result

    def plan_pipeline(self, namespace: str, pipeline: str, config: Json) -> Json:
        """Return what making ``config`` (of ``pipeline``) live would change; nothing is written.

        The answer has ``action``, ``headline``, ``tasks``, ``settings``, ``runs_in_flight`` and
        ``text``, the plan as lines for people.
        """
        path = f"{self._pipeline(namespace, pipeline)}/plan"
        result: Json = self._request("POST", path, body={"config": config})
        return result

    def list_versions(
        self,
        namespace: str,
        pipeline: str,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Json:
        """Return one page of the versions of ``namespace/pipeline``, newest first."""
        path = f"{self._pipeline(namespace, pipeline)}/versions"
        result: Json = self._get(path, cursor=cursor, limit=limit)
        return result

    def get_version(self, namespace: str, pipeline: str, version: int) -> Json:
        """Return version ``version`` of ``namespace/pipeline``, its configuration included."""
        result: Json = self._get(f"{self._pipeline(namespace, pipeline)}/versions/{version}")
        return result

    def register_version(self, namespace: str, pipeline: str, config: Json) -> Json:
        """Register ``config`` as a version without making it live.

        Returns ``{"version": ..., "result": "created"|"unchanged"}``; the config's ``id`` must be
        ``pipeline``.
        """
        path = f"{self._pipeline(namespace, pipeline)}/versions"
        result: Json = self._request("POST", path, body={"config": config})
        return result

    def diff_versions(self, namespace: str, pipeline: str, old: int, new: int) -> Json:
        """Return what deploying version ``new`` in place of version ``old`` changes (a plan)."""
        path = f"{self._pipeline(namespace, pipeline)}/diff"
        result: Json = self._get(path, **{"from": old, "to": new})
        return result

    # -- subscriptions ----------------------------------------------------------------------

    def _subscriptions(self, namespace: str, pipeline: str) -> str:
        return f"{self._pipeline(namespace, pipeline)}/subscriptions"

    def list_subscriptions(self, namespace: str, pipeline: str) -> Json:
        """Return the subscriptions of ``namespace/pipeline``: ``{"items": [...]}``, those of its
        live version's file (``source`` ``file``) in their order, then those made by hand
        (``source`` ``manual``) by key."""
        result: Json = self._get(self._subscriptions(namespace, pipeline))
        return result

    def subscribe(
        self,
        namespace: str,
        pipeline: str,
        extension: str,
        settings: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
    ) -> Json:
        """Subscribe ``namespace/pipeline`` to ``extension`` with ``settings`` by hand, under
        ``key`` (sent as ``id``; the extension's name when None); return the subscription made.

        The key must be free among the pipeline's subscriptions, its file's included: the
        server refuses a taken one with 409. The extension is told while the pipeline has a live
        version, whatever version that is, until ``unsubscribe``.
        """
        body: Json = _query(id=key, extension=extension)
        body["settings"] = dict(settings or {})
        result: Json = self._request("POST", self._subscriptions(namespace, pipeline), body=body)
        return result

    def unsubscribe(self, namespace: str, pipeline: str, key: str) -> None:
        """Delete the subscription ``key`` of ``namespace/pipeline`` made by hand; one of the
        pipeline file's is refused with 409 (deploy a file without it instead)."""
        self._request("DELETE", f"{self._subscriptions(namespace, pipeline)}/{_segment(key)}")

    # -- deployments ------------------------------------------------------------------------

    def deploy(
        self,
        namespace: str,
        pipeline: str,
        version: int,
        *,
        planned_against: int | object | None = UNCHECKED,
        force_same_version: bool = False,
        canary: int | None = None,
        auto_abort: tuple[int, int] | None = None,
        dry_run: bool = False,
    ) -> Json:
        """Deploy ``version``: make it live, or with ``canary`` (a percentage) start a canary.

        ``auto_abort`` is ``(max_failure_rate, window)``: abort the canary when more than that
        percentage of its last ``window`` candidate runs failed. ``planned_against`` is the live
        version the plan was made against (None: none was live). ``dry_run`` only plans. Returns
        ``{"plan", "applied", "pipeline", "deployment"}``.
        """
        body: Json = {
            "version": version,
            "force_same_version": force_same_version,
            "dry_run": dry_run,
        }
        if planned_against is not UNCHECKED:
            body["planned_against"] = planned_against
        if canary is not None:
            body["canary"] = canary
        if auto_abort is not None:
            body["auto_abort"] = {"max_failure_rate": auto_abort[0], "window": auto_abort[1]}
        path = f"{self._pipeline(namespace, pipeline)}/deployments"
        result: Json = self._request("POST", path, body=body)
        return result

    def promote_canary(
        self,
        namespace: str,
        pipeline: str,
        *,
        candidate: int | None = None,
        dry_run: bool = False,
    ) -> Json:
        """Make the canary's candidate live; ``candidate`` is the version the plan was made for."""
        return self._canary(namespace, pipeline, "promote", candidate, dry_run)

    def abort_canary(
        self,
        namespace: str,
        pipeline: str,
        *,
        candidate: int | None = None,
        dry_run: bool = False,
    ) -> Json:
        """Drop the canary: every new run goes to the live version again."""
        return self._canary(namespace, pipeline, "abort", candidate, dry_run)

    def _canary(
        self, namespace: str, pipeline: str, action: str, candidate: int | None, dry_run: bool
    ) -> Json:
        body: Json = {"dry_run": dry_run}
        if candidate is not None:
            body["candidate"] = candidate
        path = f"{self._pipeline(namespace, pipeline)}/canary/{action}"
        result: Json = self._request("POST", path, body=body)
        return result

    def list_deployments(
        self,
        namespace: str,
        pipeline: str,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Json:
        """Return one page of the pipeline's deployments, newest first, with their run tallies."""
        path = f"{self._pipeline(namespace, pipeline)}/deployments"
        result: Json = self._get(path, cursor=cursor, limit=limit)
        return result

    def list_history(
        self,
        *,
        since: datetime.datetime | str | None = None,
        until: datetime.datetime | str | None = None,
        kind: Iterable[str] | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Json:
        """Return one page of the audit history, newest first.

        ``since`` and ``until`` bound when the operations started; ``kind`` keeps operations
        (``pipeline.deploy``) or families (``pipeline``).
        """
        kinds = list(kind) if kind is not None else None
        result: Json = self._get(
            "/history",
            since=_time(since),
            until=_time(until),
            kind=kinds or None,
            cursor=cursor,
            limit=limit,
        )
        return result

    # -- runs -------------------------------------------------------------------------------

    def _run(self, namespace: str, pipeline: str, run: int) -> str:
        return f"{self._pipeline(namespace, pipeline)}/runs/{run}"

    def list_runs(
        self,
        namespace: str,
        pipeline: str,
        *,
        state: Iterable[str] | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Json:
        """Return one page of the runs of ``namespace/pipeline``, newest first.

        ``state`` keeps only runs in these states (``pending``, ``running``, ``complete``).
        """
        path = f"{self._pipeline(namespace, pipeline)}/runs"
        states = list(state) if state is not None else None
        result: Json = self._get(path, state=states or None, cursor=cursor, limit=limit)
        return result

    def get_run(self, namespace: str, pipeline: str, run: int) -> Json:
        """Return run ``run`` of ``namespace/pipeline``."""
        result: Json = self._get(self._run(namespace, pipeline, run))
        return result

    def start_run(
        self, namespace: str, pipeline: str, variables: Mapping[str, str] | None = None
    ) -> Json:
        """Start a run of the live version of ``namespace/pipeline``; return the new run."""
        path = f"{self._pipeline(namespace, pipeline)}/runs"
        result: Json = self._request("POST", path, body={"variables": dict(variables or {})})
        return result

    def cancel_run(self, namespace: str, pipeline: str, run: int) -> Json:
        """Ask for run ``run`` to be cancelled; return ``{"run": ..., "result": ...}``.

        ``result`` is ``cancelling``, or ``unchanged`` when the run is complete or already being
        cancelled. Cancelling takes a while: poll ``get_run`` until its state is ``complete``.
        """
        path = f"{self._run(namespace, pipeline, run)}/cancel"
        result: Json = self._request("POST", path)
        return result

    def delete_run_logs(self, namespace: str, pipeline: str, run: int) -> Json:
        """Delete the task logs of complete run ``run``; return ``{"run": ..., "result": ...}``.

        ``result`` is ``deleted``, or ``unchanged`` when they were deleted already.
        """
        result: Json = self._request("DELETE", f"{self._run(namespace, pipeline, run)}/logs")
        return result

    def retry_run(self, namespace: str, pipeline: str, run: int, task: str) -> Json:
        """Run ``task`` of run ``run`` again, then the tasks skipped because of it.

        Returns ``{"run": ..., "attempts": [...]}``, the new attempts. The task must have ended
        failed, lost or cancelled; a complete run is reopened.
        """
        path = f"{self._run(namespace, pipeline, run)}/retry"
        result: Json = self._request("POST", path, body={"task": task})
        return result

    # -- task executions and logs -----------------------------------------------------------

    def _task(self, namespace: str, pipeline: str, run: int, task: str) -> str:
        return f"{self._run(namespace, pipeline, run)}/tasks/{_segment(task)}"

    def list_tasks(
        self,
        namespace: str,
        pipeline: str,
        run: int,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Json:
        """Return one page of the task executions of run ``run``."""
        path = f"{self._run(namespace, pipeline, run)}/tasks"
        result: Json = self._get(path, cursor=cursor, limit=limit)
        return result

    def get_task(
        self, namespace: str, pipeline: str, run: int, task: str, *, attempt: int | None = None
    ) -> Json:
        """Return the execution of ``task`` in run ``run``: the latest attempt unless told."""
        result: Json = self._get(self._task(namespace, pipeline, run, task), attempt=attempt)
        return result

    def read_logs(
        self,
        namespace: str,
        pipeline: str,
        run: int,
        task: str,
        *,
        attempt: int | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Json:
        """Return stored log lines of a task from ``offset`` on.

        Returns ``{"lines": [...], "next_offset": n, "ended": bool}``; ``ended`` is true once the
        log is complete and ``next_offset`` is past its last line.
        """
        path = f"{self._task(namespace, pipeline, run, task)}/logs"
        result: Json = self._get(path, attempt=attempt, offset=offset, limit=limit)
        return result

    def follow_logs(
        self,
        namespace: str,
        pipeline: str,
        run: int,
        task: str,
        *,
        attempt: int | None = None,
        offset: int = 0,
        reconnects: int = 5,
        reconnect_delay: float = 1.0,
    ) -> Iterator[Event]:
        """Stream a task's log: stored lines from ``offset`` first, then live ones.

        Yields ``Event("line", ...)`` per line (``event.json()`` is the log line, ``event.id`` its
        offset) and a last ``Event("end", ...)`` whose data holds ``next_offset``; the iterator
        ends with the log. When the connection drops before the end, it reconnects and resumes
        after the last line received (``Last-Event-ID``), without gaps or repeats; after
        ``reconnects`` attempts in a row that bring nothing, it raises ``ApiError`` (unavailable).
        """
        path = f"{self._task(namespace, pipeline, run, task)}/logs"
        params = _query(attempt=attempt, offset=offset, follow="true")
        yield from self._follow(
            path,
            params,
            "log stream ended before its end",
            reconnects=reconnects,
            reconnect_delay=reconnect_delay,
        )

    # -- events -----------------------------------------------------------------------------

    def list_events(
        self,
        *,
        kind: Iterable[str] | None = None,
        namespace: str | None = None,
        pipeline: str | None = None,
        run: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Json:
        """Return one page of the event log, oldest first; ``iterate`` walks all of them.

        Every filter given must match: ``kind`` keeps the events of these kinds (``run.complete``)
        or families (``task.*``); ``namespace``, ``pipeline`` and ``run`` keep those about them.
        """
        kinds = list(kind) if kind is not None else None
        result: Json = self._get(
            "/events",
            kind=kinds or None,
            namespace=namespace,
            pipeline=pipeline,
            run=run,
            cursor=cursor,
            limit=limit,
        )
        return result

    def follow_events(
        self,
        *,
        kind: Iterable[str] | None = None,
        namespace: str | None = None,
        pipeline: str | None = None,
        run: int | None = None,
        after: int | None = None,
        reconnects: int = 5,
        reconnect_delay: float = 1.0,
    ) -> Iterator[Event]:
        """Stream the event log: the events after the id ``after`` (by default all that are
        kept), then new ones as they are recorded; the filters are those of ``list_events``.

        Yields one ``Event`` per event: ``event.event`` is its kind, ``event.id`` its id and
        ``event.json()`` the event. The iterator never ends by itself. When the connection drops,
        it reconnects and resumes after the last event received (``Last-Event-ID``), so that
        every event comes exactly once; after ``reconnects`` attempts in a row that bring
        nothing, it raises ``ApiError`` (unavailable).
        """
        kinds = list(kind) if kind is not None else None
        params = _query(
            kind=kinds or None, namespace=namespace, pipeline=pipeline, run=run, after=after
        )
        yield from self._follow(
            "/events/stream",
            params,
            "event stream ended",
            reconnects=reconnects,
            reconnect_delay=reconnect_delay,
        )

    def _follow(
        self,
        path: str,
        params: Mapping[str, Any],
        dropped: str,
        *,
        reconnects: int,
        reconnect_delay: float,
    ) -> Iterator[Event]:
        """Yield the server-sent events of ``path`` until an ``end`` event, reconnecting with
        ``Last-Event-ID`` when the connection drops; ``dropped`` says so in the last error."""
        last_id: str | None = None
        failures = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            opened: float | None = None
            try:
                with self._http.stream("GET", path, params=params, headers=headers) as response:
                    if response.status_code >= 400:
                        response.read()
                        _raise_for_problem(response)
                    opened = time.monotonic()
                    for event in parse_events(response.iter_text()):
                        if event.event == "end":
                            yield event
                            return
                        if event.id is not None:
                            last_id, failures = event.id, 0
                        yield event
            except httpx.TransportError as exc:
                failure: ApiError = self._unreachable(exc)
            else:
                failure = ApiError(0, "unavailable", f"server at {self.url}: {dropped}")
            if opened is not None and time.monotonic() - opened >= STABLE_STREAM:
                failures = 0  # a quiet stream that was up for a while is not a failing one
            failures += 1
            if failures > reconnects:
                raise failure
            time.sleep(min(reconnect_delay * 2 ** (failures - 1), 10.0))

    # -- access: who the caller is, tokens and roles ----------------------------------------

    def whoami(self) -> Json:
        """Return who the server takes the caller for: ``{"name", "token", "grants"}``.

        ``token`` is the id of the token sent (None in development mode); each grant is
        ``{"kinds": [...], "actions": [...], "pattern": ...}``.
        """
        result: Json = self._get("/whoami")
        return result

    def list_tokens(self, *, cursor: str | None = None, limit: int | None = None) -> Json:
        """Return one page of tokens, by name: their metadata, never a secret."""
        result: Json = self._get("/tokens", cursor=cursor, limit=limit)
        return result

    def create_token(
        self,
        name: str,
        roles: Iterable[str],
        expires: datetime.datetime | str | None = None,
    ) -> Json:
        """Make a token called ``name`` with ``roles``; return ``{"token": ..., "secret": ...}``.

        A role is ``admin``, ``namespace-owner:PATTERN``, ``namespace-reader:PATTERN`` or the name
        of a role an admin made. ``expires`` (a datetime or an ISO 8601 string) is when it stops
        working; it never does without. ``secret`` is the whole token to send, and this answer is
        the only time it is shown: store it now.
        """
        body: Json = {"name": name, "roles": list(roles)}
        if expires is not None:
            body["expires"] = _time(expires)
        result: Json = self._request("POST", "/tokens", body=body)
        return result

    def get_token(self, token: str) -> Json:
        """Return the metadata of the token whose id is ``token`` (the part after ``hst_``)."""
        result: Json = self._get(f"/tokens/{_segment(token)}")
        return result

    def disable_token(self, token: str) -> Json:
        """Disable a token; return ``{"token": ..., "result": "changed"|"unchanged"}``.

        Requests carrying a disabled token are refused until it is enabled again.
        """
        result: Json = self._request("POST", f"/tokens/{_segment(token)}/disable")
        return result

    def enable_token(self, token: str) -> Json:
        """Enable a disabled token; return ``{"token": ..., "result": "changed"|"unchanged"}``."""
        result: Json = self._request("POST", f"/tokens/{_segment(token)}/enable")
        return result

    def delete_token(self, token: str) -> None:
        """Delete a token for good: requests carrying it are refused from now on."""
        self._request("DELETE", f"/tokens/{_segment(token)}")

    def list_roles(self) -> list[Json]:
        """Return every role: the built-in ones, then those admins made, by name."""
        result: list[Json] = self._get("/roles")
        return result

    def create_role(
        self, name: str, grants: Iterable[Mapping[str, Any]], description: str = ""
    ) -> Json:
        """Make a role that tokens get by its name; return it.

        Each grant is ``{"kinds": [...], "actions": [...], "pattern": ...}``: the actions (read,
        write, delete, run, admin) on the kinds of resource (pipelines, runs, ...) whose
        namespace the pattern matches (``team-*``; ``*`` also reaches what belongs to the whole
        installation).
        """
        body: Json = {
            "name": name,
            "description": description,
            "grants": [dict(grant) for grant in grants],
        }
        result: Json = self._request("POST", "/roles", body=body)
        return result

    def get_role(self, name: str) -> Json:
        """Return the role called ``name``."""
        result: Json = self._get(f"/roles/{_segment(name)}")
        return result

    def delete_role(self, name: str) -> None:
        """Delete a role an admin made; tokens that have it lose what it granted."""
        self._request("DELETE", f"/roles/{_segment(name)}")

    # -- secrets ----------------------------------------------------------------------------

    def _secrets(self, namespace: str, pipeline: str) -> str:
        return f"{self._pipeline(namespace, pipeline)}/secrets"

    def list_secrets(
        self,
        namespace: str,
        pipeline: str,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Json:
        """Return one page of the secrets of ``namespace/pipeline``, by name: never their values."""
        result: Json = self._get(self._secrets(namespace, pipeline), cursor=cursor, limit=limit)
        return result

    def put_secret(self, namespace: str, pipeline: str, name: str, value: str) -> Json:
        """Set the secret ``name`` of ``namespace/pipeline`` to ``value``; return its metadata.

        The pipeline's tasks read it as ``secret{{NAME}}`` in their env. The answer never holds
        the value. A server without ``secrets.key`` refuses with 409 Conflict.
        """
        path = f"{self._secrets(namespace, pipeline)}/{_segment(name)}"
        result: Json = self._request("PUT", path, body={"value": value})
        return result

    def get_secret(self, namespace: str, pipeline: str, name: str, *, reveal: bool = False) -> Json:
        """Return the metadata of the secret ``name`` of ``namespace/pipeline``.

        With ``reveal``, its ``value`` too: only an admin (action ``admin`` on ``secrets``) may
        ask, and the server records in the audit history that they did.
        """
        path = f"{self._secrets(namespace, pipeline)}/{_segment(name)}"
        result: Json = self._get(path, reveal="true" if reveal else None)
        return result

    def delete_secret(self, namespace: str, pipeline: str, name: str) -> None:
        """Delete a secret of ``namespace/pipeline``: tasks that refer to it fail from now on."""
        self._request("DELETE", f"{self._secrets(namespace, pipeline)}/{_segment(name)}")

    def list_global_secrets(self, *, cursor: str | None = None, limit: int | None = None) -> Json:
        """Return one page of the global secrets, by name: never their values."""
        result: Json = self._get("/secrets", cursor=cursor, limit=limit)
        return result

    def put_global_secret(self, name: str, value: str, namespaces: Iterable[str]) -> Json:
        """Set the global secret ``name`` to ``value``; return its metadata.

        ``namespaces`` are the anchored patterns (``team-*``, ``*``) of the namespaces whose
        pipelines may read it, as ``global_secret{{NAME}}``; at least one is needed. The answer
        never holds the value.
        """
        body: Json = {"value": value, "namespaces": list(namespaces)}
        result: Json = self._request("PUT", f"/secrets/{_segment(name)}", body=body)
        return result

    def get_global_secret(self, name: str, *, reveal: bool = False) -> Json:
        """Return the metadata of the global secret ``name``; with ``reveal``, its ``value`` too
        (admins only, audited, as for ``get_secret``)."""
        path = f"/secrets/{_segment(name)}"
        result: Json = self._get(path, reveal="true" if reveal else None)
        return result

    def delete_global_secret(self, name: str) -> None:
        """Delete a global secret: tasks that refer to it fail from now on."""
        self._request("DELETE", f"/secrets/{_segment(name)}")

    def rotate_secret_key(self) -> Json:
        """Encrypt again, under the server's current ``secrets.key``, every secret still under a
        previous key; return ``{"secrets": n, "key": ...}``: how many, and the key's name.

        Afterwards the previous keys can be dropped from ``secrets.previous_keys``.
        """
        result: Json = self._request("POST", "/secrets/rotate-key")
        return result

    # -- objects ----------------------------------------------------------------------------

    def _objects(self, namespace: str, pipeline: str, run: int | None) -> str:
        if run is None:
            return f"{self._pipeline(namespace, pipeline)}/objects"
        return f"{self._run(namespace, pipeline, run)}/objects"

    def list_objects(
        self,
        namespace: str,
        pipeline: str,
        *,
        run: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Json:
        """Return one page of the objects of ``namespace/pipeline``, or of its run ``run``, by
        key: ``{"scope", "namespace", "pipeline", "run", "key", "digest", "size", "created",
        "created_by"}`` each, never their content."""
        path = self._objects(namespace, pipeline, run)
        result: Json = self._get(path, cursor=cursor, limit=limit)
        return result

    def put_object(
        self,
        namespace: str,
        pipeline: str,
        key: str,
        source: objects.Source,
        *,
        run: int | None = None,
    ) -> Json:
        """Store the content of ``source`` as the object ``key`` of ``namespace/pipeline`` (or of
        its run ``run``), replacing the object of that key; return the object.

        ``source`` is a path (``OSError`` if it cannot be read), or a binary file object read
        from where it stands to its end. It is sent chunk by chunk as it is read, never held
        whole in memory. Content over the server's limit (``objects.max_pipeline_object_bytes``,
        ``objects.max_run_object_bytes``) raises ``ApiError`` with status 413; a key that is not
        1 to 128 letters, digits, ``_``, ``-`` or ``.`` raises it with status 422.
        """
        path = f"{self._objects(namespace, pipeline, run)}/{_segment(key)}"
        headers = {"Content-Type": "application/octet-stream"}
        size = objects.size_of(source)
        if size is not None:
            # Declared, a size over the limit is refused before the body is sent.
            headers["Content-Length"] = str(size)
        try:
            response = self._http.put(path, content=objects.chunks(source), headers=headers)
        except httpx.LocalProtocolError as exc:
            ref = _object_ref(namespace, pipeline, run, key)
            raise ApiError(
                0,
                "invalid_argument",
                f"object '{ref}': the source changed while it was sent ({exc})",
                hint="upload a file that nothing writes to meanwhile",
            ) from None
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        _raise_for_problem(response)
        try:
            result: Json = response.json()
        except ValueError:
            raise ApiError(
                response.status_code,
                "internal",
                f"server at {self.url}: answered PUT {path} with a body that is not JSON",
            ) from None
        return result

    def get_object(
        self,
        namespace: str,
        pipeline: str,
        key: str,
        target: BinaryIO,
        *,
        run: int | None = None,
    ) -> Json:
        """Write the content of the object ``key`` of ``namespace/pipeline`` (or of its run
        ``run``) to ``target``, a binary file object, as it arrives; return ``{"namespace",
        "pipeline", "run", "key", "digest", "size"}`` of what was written.

        The content is hashed as it streams. When its digest is not the one the server announced,
        ``DigestMismatch`` is raised once the content has been written: a caller that writes to
        a file should write to a temporary one and keep it only when this returns.
        """
        path = f"{self._objects(namespace, pipeline, run)}/{_segment(key)}"
        ref = _object_ref(namespace, pipeline, run, key)
        headers = {"Accept": "application/octet-stream, application/problem+json"}
        try:
            with self._http.stream("GET", path, headers=headers) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_problem(response)
                expected = objects.announced(response.headers)
                if expected is None:
                    raise ApiError(
                        response.status_code,
                        "internal",
                        f"server at {self.url}: answered GET {path} without the object's digest",
                        hint="the digest travels in X-Hostler-Digest; check that nothing between "
                        "you and the server removes it",
                    )
                download = objects.Download(target, expected)
                try:
                    for chunk in response.iter_bytes():
                        download.write(chunk)
                except httpx.TransportError as exc:
                    raise ApiError(
                        0,
                        "unavailable",
                        f"object '{ref}': the download broke off after {download.size} bytes "
                        f"({str(exc) or type(exc).__name__})",
                        hint="download it again",
                    ) from None
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        try:
            download.check()
        except objects.Mismatch as exc:
            raise DigestMismatch(
                response.status_code, f"object '{ref}': {exc}", expected, download.digest
            ) from None
        return {
            "namespace": namespace,
            "pipeline": pipeline,
            "run": run,
            "key": key,
            "digest": download.digest,
            "size": download.size,
        }

    def delete_object(
        self, namespace: str, pipeline: str, key: str, *, run: int | None = None
    ) -> None:
        """Delete the object ``key`` of ``namespace/pipeline`` (or of its run ``run``); its
        content goes once no other object holds the same."""
        self._request("DELETE", f"{self._objects(namespace, pipeline, run)}/{_segment(key)}")

    # -- pages ------------------------------------------------------------------------------

    def iterate(
        self,
        list_page: Callable[P, Json],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Iterator[Json]:
        """Yield every item of a list, page after page, following ``next_cursor``.

        ``list_page`` is one of the ``list_*`` methods; ``args`` and ``kwargs`` are passed to it::

            for run in api.iterate(api.list_runs, "default", "hello", state=["running"]):
                ...
        """
        page_of: Callable[..., Json] = list_page
        cursor: str | None = None
        while True:
            page = page_of(*args, **{**kwargs, "cursor": cursor})
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return


def _object_ref(namespace: str, pipeline: str, run: int | None, key: str) -> str:
    """Return an object for people: ``default/hello#4:report.txt``, ``default/hello:data``."""
    where = f"{namespace}/{pipeline}" if run is None else f"{namespace}/{pipeline}#{run}"
    return f"{where}:{key}"


def _raise_for_problem(response: httpx.Response) -> None:
    """Raise ``ApiError`` for an error answer, from its problem+json body when it has one."""
    status = response.status_code
    if status < 400:
        return
    code = _CODES_BY_STATUS.get(status, "internal")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("detail") is not None:
        detail = body["detail"]
        raise ApiError(
            status,
            str(body.get("code") or code),
            detail if isinstance(detail, str) else json.dumps(detail),
            body.get("field"),
            body.get("hint"),
        )
    text = response.text.strip()[:200] or response.reason_phrase
    raise ApiError(status, code, f"{response.request.method} {response.request.url}: {text}")
