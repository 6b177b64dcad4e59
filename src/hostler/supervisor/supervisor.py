"""One thread that keeps every extension running, healthy and subscribed; see the package."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import os
import pathlib
import secrets
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

import httpx

from hostler.core import errors, extensions, ports, subscriptions
from hostler.sdk.extension import contract
from hostler.supervisor import runners

log = logging.getLogger(__name__)

ROUND = 1.0
"""Seconds between two rounds of checks."""
UNHEALTHY_ROUNDS = 3
"""Health checks in a row that may fail before a running extension is restarted."""
STARTING_SECONDS = 15.0
"""Seconds an extension that never answered yet has to come up before it is restarted: time,
not rounds, as an interpreter's start takes as long however often it is checked."""
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)
"""Seconds to wait before each restart in a row; the last one repeats."""
STEADY = 60.0
"""Seconds an extension must keep running for its back-off to start again from the first step."""
STOP_GRACE = 5.0
"""Seconds an extension has to stop after it is asked to, before it is killed."""
TIMEOUT = 5.0
"""Seconds a request to an extension may take."""


@dataclasses.dataclass(frozen=True)
class Installed:
    """An extension to run: its name, what serves it (a command, or an image), and its admin's
    config. An installed extension that changes in any of these is started again."""

    name: str
    command: Sequence[str] = ()
    """The command of the child process that serves it; with an ``image``, the command run in
    it (empty: the image's own)."""
    config: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Values of ``HOSTLER_EXTENSION_CONFIG_*``, by name without the prefix."""
    image: str | None = None
    """The container image that serves it, run through the scheduler on the host's network."""


def python_command(name: str) -> list[str]:
    """Return the command that serves the installed Python extension ``name``."""
    return [sys.executable, "-m", "hostler.sdk.extension", name]


@dataclasses.dataclass
class _Child:
    installed: Installed
    log: pathlib.Path
    process: runners.Running | None = None
    url: str = ""
    key: str = ""
    started: float = 0.0
    healthy: bool = False
    answered: bool = False
    failures: int = 0
    restarts: int = 0
    backoff_step: int = 0
    next_start: float = 0.0
    sent: dict[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    refused: dict[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()


class Supervisor:
    """Runs ``installed`` extensions between ``start`` and ``stop``; see the package."""

    def __init__(
        self,
        installed: Callable[[], Sequence[Installed]],
        *,
        log_dir: pathlib.Path,
        api_url: str,
        token: Callable[[str], str],
        wanted: Callable[[], list[subscriptions.Subscription]],
        scheduler: ports.Scheduler | None = None,
        labels: Mapping[str, str] | None = None,
        round_seconds: float = ROUND,
    ) -> None:
        """``installed`` is read again every round: an extension installed, changed or removed
        meanwhile is started, started again or stopped. Those with an image run through
        ``scheduler``, their containers labelled with ``labels`` (the installation's and this
        server's, found again at the next start if the server dies)."""
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._log_dir = log_dir
        self._installed = installed
        self._children: dict[str, _Child] = {}
        self._scheduler = scheduler
        self._labels = {runners.LABEL + k: v for k, v in (labels or {}).items()}
        self._api_url = api_url
        self._token = token
        self._wanted = wanted
        self._round = round_seconds
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=TIMEOUT)

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the extensions and the thread that watches them."""
        if self._scheduler is not None:
            try:
                runners.remove_orphans(self._scheduler, self._labels)
            except errors.HostlerError as exc:
                log.warning("extension containers not listed", extra={"error": str(exc)})
        with self._lock:
            self._reload()
        self._thread = threading.Thread(target=self._loop, name="extensions", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a round soon: the extensions installed or the subscriptions wanted may have
        changed."""
        self._wake.set()

    def stop(self) -> None:
        """Stop watching, then ask every extension to stop, killing those that do not."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(STOP_GRACE + TIMEOUT)
        with self._lock:
            running = [c for c in self._children.values() if c.alive()]
            for child in running:  # all at once: the grace runs for every one together
                self._ask_to_stop(child)
            deadline = time.monotonic() + STOP_GRACE
            for child in running:
                self._wait_or_kill(child, deadline)
        self._http.close()

    def statuses(self) -> list[extensions.Status]:
        """Return how every extension stands, by name."""
        children = list(self._children.values())
        return [_status(child) for child in children]

    def log(self, name: str, lines: int) -> list[str]:
        """Return the last ``lines`` lines of extension ``name``'s output (of every process it
        ran since it was installed, newest last)."""
        child = self._child(name)
        try:
            with child.log.open("rb") as file:
                return _tail(file, lines)
        except FileNotFoundError:
            return []

    def forward(self, name: str, delivery: extensions.Delivery) -> extensions.Reply:
        """Hand ``delivery`` to extension ``name`` (its ``external-event``); return its answer."""
        child = self._child(name)
        if not child.healthy:
            raise errors.Unavailable(
                f"extension '{name}': not running",
                hint="see 'hostler extension list' and 'hostler extension logs'",
            )
        body = contract.ExternalEvent(
            subscription=delivery.subscription,
            method=delivery.method,
            path=delivery.path,
            query=dict(delivery.query),
            headers=dict(delivery.headers),
            body=base64.b64encode(delivery.body).decode(),
        )
        answer = self._call(child, "/api/external-event", body.model_dump(mode="json"))
        if answer is None or answer.status_code != 200:
            raise errors.Unavailable(
                f"extension '{name}': failed to take the event",
                hint="see 'hostler extension logs " + name + "'",
            )
        reply = contract.Answer.model_validate(answer.json())
        return extensions.Reply(reply.status, reply.body)

    def _child(self, name: str) -> _Child:
        child = self._children.get(name)
        if child is None:
            known = ", ".join(self._children) or "none"
            raise errors.NotFound(
                f"extension '{name}': not installed (installed: {known})",
                field="name",
                hint="list the extensions with 'hostler extension list'",
            )
        return child

    # -- the rounds --------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.round()
            except Exception:
                log.exception("extension supervision round failed")
            self._wake.wait(self._round)
            self._wake.clear()

    def round(self) -> None:
        """Do one round: start or restart what needs it, check health, bring subscriptions to
        what is wanted."""
        wanted = self._wanted()
        with self._lock:
            self._reload()
            for child in list(self._children.values()):
                if self._stopping.is_set():
                    return
                self._tend(child)
                if child.healthy:
                    self._sync(child, [s for s in wanted if s.extension == child.installed.name])

    def _tend(self, child: _Child) -> None:
        now = time.monotonic()
        if not child.alive():
            if child.process is not None:
                code = child.process.exit_code()
                child.process.release()
                log.warning(
                    "extension stopped",
                    extra={"extension": child.installed.name, "exit_code": code},
                )
                self._lost(child, now)
            if now >= child.next_start:
                self._spawn(child)
            return
        if self._healthy(child):
            if not child.healthy:
                log.info("extension running", extra={"extension": child.installed.name})
            child.healthy, child.answered, child.failures = True, True, 0
            if now - child.started >= STEADY:
                child.backoff_step = 0
            return
        child.failures += 1
        child.healthy = False  # no subscription is sent while it does not answer
        # A process that never answered yet gets longer to come up than a running one to answer.
        if child.answered:
            given_up = child.failures >= UNHEALTHY_ROUNDS
        else:
            given_up = now - child.started >= STARTING_SECONDS
        if given_up:
            log.warning(
                "extension unhealthy: restarting", extra={"extension": child.installed.name}
            )
            if child.process is not None:
                child.process.stop(STOP_GRACE)
            self._lost(child, now)

    def _lost(self, child: _Child, now: float) -> None:
        child.process = None
        child.healthy = False
        child.sent.clear()  # a new process holds no subscription
        child.refused.clear()
        delay = BACKOFF[min(child.backoff_step, len(BACKOFF) - 1)]
        child.backoff_step += 1
        child.next_start = now + delay

    def _reload(self) -> None:
        """Bring the children to the extensions installed: stop those removed or changed, add
        those new (started by the round)."""
        try:
            installed = {i.name: i for i in self._installed()}
        except errors.HostlerError as exc:  # the store away: keep running what runs
            log.warning("installed extensions not read", extra={"error": str(exc)})
            return
        for name, child in list(self._children.items()):
            if installed.get(name) == child.installed:
                continue
            if child.alive():
                log.info("extension changed or removed: stopping", extra={"extension": name})
                self._ask_to_stop(child)
                self._wait_or_kill(child, time.monotonic() + STOP_GRACE)
            elif child.process is not None:
                child.process.release()
            del self._children[name]
        for name in sorted(installed.keys() - self._children.keys()):
            self._children[name] = _Child(installed[name], self._log_dir / f"{name}.log")
        self._children = dict(sorted(self._children.items()))

    def _spawn(self, child: _Child) -> None:
        name = child.installed.name
        port = _free_port()
        child.key = secrets.token_urlsafe(32)
        child.url = f"http://127.0.0.1:{port}"
        env = {
            **{contract.CONFIG_PREFIX + k.upper(): v for k, v in child.installed.config.items()},
            contract.SYSTEM_PREFIX + "NAME": name,
            contract.SYSTEM_PREFIX + "HOST": "127.0.0.1",
            contract.SYSTEM_PREFIX + "PORT": str(port),
            contract.SYSTEM_PREFIX + "KEY": child.key,
            contract.SYSTEM_PREFIX + "URL": self._api_url,
            contract.SYSTEM_PREFIX + "TOKEN": self._token(name),
        }
        try:
            child.process = self._run(child, env)
        except runners.StartFailed as exc:
            log.error("extension cannot start", extra={"extension": name, "error": str(exc)})
            self._lost(child, time.monotonic())
            return
        if child.started:
            child.restarts += 1
        child.started = time.monotonic()
        child.failures, child.answered = 0, False
        where = {"pid": child.process.pid} if child.installed.image is None else {}
        log.info("extension started", extra={"extension": name, **where})

    def _run(self, child: _Child, env: Mapping[str, str]) -> runners.Running:
        image = child.installed.image
        if image is None:
            return runners.Process(child.installed.command, env, child.log)
        if self._scheduler is None:
            raise runners.StartFailed("an extension from an image needs a scheduler")
        name = child.installed.name
        spec = ports.ContainerSpec(
            name=f"hostler-extension-{name}-{uuid.uuid4().hex[:8]}",
            image=image,
            command=tuple(child.installed.command) or None,
            env=env,
            labels=runners.labels(self._labels, name),
            network=ports.HOST_NETWORK,
        )
        return runners.Container(self._scheduler, spec, child.log)

    def _healthy(self, child: _Child) -> bool:
        try:
            return self._http.get(f"{child.url}/api/health").status_code == 200
        except httpx.HTTPError:
            return False

    # -- subscriptions -----------------------------------------------------------------------

    def _sync(self, child: _Child, wanted: list[subscriptions.Subscription]) -> None:
        by_id = {s.id: s for s in wanted}
        for sub in wanted:
            if child.sent.get(sub.id) == sub.settings or child.refused.get(sub.id) == sub.settings:
                continue
            self._subscribe(child, sub)
        for gone in [sid for sid in child.sent if sid not in by_id]:
            namespace, pipeline, _ = gone.split("/", 2)
            body = contract.Unsubscribe(namespace=namespace, pipeline=pipeline, subscription=gone)
            if self._call(child, "/api/unsubscribe", body.model_dump(mode="json")) is not None:
                del child.sent[gone]
        for gone in [sid for sid in child.refused if sid not in by_id]:
            del child.refused[gone]

    def _subscribe(self, child: _Child, sub: subscriptions.Subscription) -> None:
        body = contract.Subscribe(
            namespace=sub.namespace,
            pipeline=sub.pipeline,
            subscription=sub.id,
            settings=dict(sub.settings),
        )
        answer = self._call(child, "/api/subscribe", body.model_dump(mode="json"))
        if answer is None:
            return
        if answer.status_code == 200:
            child.sent[sub.id] = sub.settings
            child.refused.pop(sub.id, None)
            described = contract.Subscribed.model_validate(answer.json())
            log.info(
                "subscribed",
                extra={
                    "extension": child.installed.name,
                    "subscription": sub.id,
                    "description": described.description,
                },
            )
        else:
            # Refused settings are not sent again until they change.
            child.refused[sub.id] = sub.settings
            log.warning(
                "subscription refused",
                extra={
                    "extension": child.installed.name,
                    "subscription": sub.id,
                    "detail": _detail(answer),
                },
            )

    def _call(self, child: _Child, path: str, body: Mapping[str, Any]) -> httpx.Response | None:
        """POST ``body`` to the extension; None when it cannot be reached (tried next round)."""
        try:
            answer = self._http.post(
                child.url + path, json=body, headers={"Authorization": f"Bearer {child.key}"}
            )
        except httpx.HTTPError as exc:
            log.warning(
                "extension not reachable",
                extra={"extension": child.installed.name, "path": path, "error": str(exc)},
            )
            return None
        if answer.status_code >= 500:
            log.warning(
                "extension failed",
                extra={"extension": child.installed.name, "path": path, "detail": _detail(answer)},
            )
            return None
        return answer

    # -- stopping ----------------------------------------------------------------------------

    def _ask_to_stop(self, child: _Child) -> None:
        with contextlib.suppress(httpx.HTTPError):  # one that does not answer is killed later
            self._http.post(
                f"{child.url}/api/shutdown",
                headers={"Authorization": f"Bearer {child.key}"},
                timeout=1.0,
            )

    def _wait_or_kill(self, child: _Child, deadline: float) -> None:
        process = child.process
        if process is None:
            return
        if process.wait(deadline - time.monotonic()):
            process.release()
            return
        log.warning("extension did not stop: killed", extra={"extension": child.installed.name})
        process.stop(0)


def _status(child: _Child) -> extensions.Status:
    process = child.process
    if process is None or not child.alive():
        return extensions.Status(
            child.installed.name, extensions.State.WAITING, None, child.restarts, 0
        )
    state = (
        extensions.State.RUNNING
        if child.healthy
        else extensions.State.UNHEALTHY
        if child.answered
        else extensions.State.STARTING
    )
    return extensions.Status(
        child.installed.name,
        state,
        process.pid,
        child.restarts,
        len(child.sent),
        process.container,
    )


_TAIL_CHUNK = 64 * 1024


def _tail(file: IO[bytes], lines: int) -> list[str]:
    """Return the last ``lines`` lines of ``file``, reading it from the end."""
    end = file.seek(0, os.SEEK_END)
    data = b""
    position = end
    while position > 0 and data.count(b"\n") <= lines:
        step = min(_TAIL_CHUNK, position)
        position -= step
        file.seek(position)
        data = file.read(step) + data
    text = data.decode(errors="replace").splitlines()
    return text[-lines:] if lines > 0 else []


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))
    except ValueError:
        return answer.text[:200]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
