"""FakeScheduler: ``ports.Scheduler`` without processes, for unit tests of the engine above it.

Each container follows a ``Behaviour`` (the lines it prints, its exit code, how long it runs,
whether it ignores SIGTERM, whether creating, copying into or starting it fails) chosen from its
spec. Time is real and monotonic: ``wait``, ``stop`` and followed ``logs`` block on a condition
variable as the real backends block on their engine, so the engine's threads meet the same
interleavings. Every call is recorded, and the order in which containers started and exited is
kept, so that tests assert on what happened (``created``, ``signals``, ``max_alive``, ``copied``)
rather than on how long it took. Images are present only once a test adds them (``add_image``);
a spec's ``network`` is accepted whatever it is, and kept in the spec ``created`` returns.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import hashlib
import itertools
import math
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence

from hostler.core import errors, ports

FOREVER = math.inf
"""A ``Behaviour.duration``: the container runs until it is stopped, removed or ``end``-ed."""

SIGTERM_EXIT = 128 + 15
"""The exit code of a container that ended on SIGTERM, as Docker reports it."""

SIGKILL_EXIT = 128 + 9
"""The exit code of a container killed with SIGKILL, as Docker reports it."""

TASK_LABEL = ports.LABEL_PREFIX + "task"

_CREATED = ports.ContainerState.CREATED
_RUNNING = ports.ContainerState.RUNNING
_EXITED = ports.ContainerState.EXITED


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """What a fake container does. Immutable; the default exits 0 at once, printing nothing."""

    lines: Sequence[str] = ()
    """Lines printed on stdout as the container starts."""
    exit_code: int = 0
    """The code the container exits with when it ends by itself."""
    duration: float = 0.0
    """Seconds from start to exit; ``FOREVER`` to run until stopped."""
    ignores_term: bool = False
    """True: ``stop`` sends SIGTERM in vain and kills the container after the grace."""
    fail_create: Exception | None = None
    """Raised by ``create`` (no container is made)."""
    fail_start: Exception | None = None
    """Raised by ``start`` (the container stays created)."""
    fail_copy: Exception | None = None
    """Raised by ``copy_in`` (nothing is copied)."""


Choose = Callable[[ports.ContainerSpec], Behaviour]
"""Picks the behaviour of a container from its spec."""


def by_task(behaviours: Mapping[str, Behaviour], default: Behaviour | None = None) -> Choose:
    """Return a chooser by the task label: ``behaviours[task]``, else ``default``."""
    fallback = default or Behaviour()
    return lambda spec: behaviours.get(spec.labels.get(TASK_LABEL, ""), fallback)


@dataclasses.dataclass(frozen=True)
class Call:
    """One call made to the fake scheduler, with the arguments that matter."""

    method: str
    handle: str | None = None
    spec: ports.ContainerSpec | None = None
    grace: float | None = None
    paths: tuple[str, ...] = ()
    """The paths of the files of a ``copy_in``."""


@dataclasses.dataclass(frozen=True)
class Event:
    """A container started or exited; ``FakeScheduler.timeline`` keeps them in order."""

    kind: str
    """``started`` or ``exited``."""
    handle: str
    labels: Mapping[str, str]


@dataclasses.dataclass
class _Container:
    handle: str
    spec: ports.ContainerSpec
    behaviour: Behaviour
    state: ports.ContainerState = _CREATED
    began: float = 0.0
    """Monotonic time of the start."""
    exits_at: float = FOREVER
    """Monotonic time at which a running container exits."""
    code: int = 0
    """The exit code it will have at ``exits_at``."""
    exit_code: int | None = None
    started: datetime.datetime | None = None
    finished: datetime.datetime | None = None
    output: list[ports.LogLine] = dataclasses.field(default_factory=list)
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    """The content of every file copied in, by path."""
    removed: bool = False


class FakeScheduler:
    """Task containers simulated in memory; implements ``hostler.core.ports.Scheduler``.

    For unit tests of the layers above the scheduler port (the engine). ``behaviour`` is one
    ``Behaviour`` for every container or a function of the spec (see ``by_task``). Safe to share
    between threads, like the real backends.
    """

    name = "fake"
    capabilities = ports.Capabilities(isolation=False)

    def __init__(self, behaviour: Behaviour | Choose | None = None) -> None:
        if behaviour is None:
            behaviour = Behaviour()
        self._choose: Choose = (
            (lambda _spec: behaviour) if isinstance(behaviour, Behaviour) else behaviour
        )
        self._changed = threading.Condition()
        self._numbers = itertools.count(1)
        self._containers: dict[str, _Container] = {}
        self._calls: list[Call] = []
        self._signals: list[tuple[str, str]] = []
        self._timeline: list[Event] = []
        self._images: dict[str, ports.ImageInfo] = {}

    # -- the port ----------------------------------------------------------------------------

    def create(self, spec: ports.ContainerSpec) -> str:
        """Create a container following the behaviour chosen for ``spec``; return its handle."""
        behaviour = self._choose(spec)
        with self._changed:
            self._calls.append(Call("create", spec=spec))
            if behaviour.fail_create is not None:
                raise behaviour.fail_create
            if any(c.spec.name == spec.name and not c.removed for c in self._containers.values()):
                raise errors.AlreadyExists(f"container '{spec.name}': already exists")
            handle = f"fake-{next(self._numbers)}"
            self._containers[handle] = _Container(handle, spec, behaviour)
            return handle

    def copy_in(self, handle: str, files: Sequence[ports.File]) -> None:
        """Read ``files`` whole and keep their content (see ``copied``); only before the start."""
        ports.check_files(files)
        with self._changed:
            self._calls.append(Call("copy_in", handle, paths=tuple(f.path for f in files)))
            container = self._container(handle)
            if container is None:
                raise errors.NotFound(f"container '{handle}': not found")
            if container.behaviour.fail_copy is not None:
                raise container.behaviour.fail_copy
            if container.state is not _CREATED:
                raise errors.FailedPrecondition(f"container '{handle}': started already")
        content: dict[str, bytes] = {}
        for file in files:
            with file.open() as source:
                content[file.path] = source.read()
            if len(content[file.path]) != file.size:
                raise errors.Internal(f"file '{file.path}': not {file.size} bytes long")
        with self._changed:
            container.files.update(content)

    def start(self, handle: str) -> None:
        """Start a created container: it prints its lines and runs for its duration."""
        with self._changed:
            self._calls.append(Call("start", handle))
            now = self._advance()
            container = self._container(handle)
            if container is None:
                raise errors.NotFound(f"container '{handle}': not found")
            behaviour = container.behaviour
            if behaviour.fail_start is not None:
                raise behaviour.fail_start
            if container.state is not _CREATED:
                return
            container.state = _RUNNING
            container.began = now
            container.exits_at = now + behaviour.duration
            container.code = behaviour.exit_code
            container.started = _now()
            container.output = [
                ports.LogLine(container.started, "stdout", text) for text in behaviour.lines
            ]
            self._timeline.append(Event("started", handle, container.spec.labels))
            self._changed.notify_all()

    def inspect(self, handle: str) -> ports.ContainerStatus:
        """Return the container's status; ``MISSING`` once removed or if never created."""
        with self._changed:
            self._calls.append(Call("inspect", handle))
            self._advance()
            return self._status(handle)

    def wait(self, handle: str, timeout: float | None = None) -> ports.ContainerStatus:
        """Block until the container is not running or ``timeout`` seconds pass."""
        deadline = FOREVER if timeout is None else time.monotonic() + timeout
        with self._changed:
            self._calls.append(Call("wait", handle))
            while True:
                now = self._advance()
                container = self._container(handle)
                if container is None or container.state is not _RUNNING or now >= deadline:
                    return self._status(handle)
                self._sleep(min(container.exits_at, deadline) - now)

    def logs(
        self, handle: str, *, follow: bool = False, since: datetime.datetime | None = None
    ) -> Iterator[ports.LogLine]:
        """Yield the container's lines; with ``follow``, go on until it has exited.

        Like the real backends, a missing container raises NotFound once iterated.
        """
        with self._changed:
            self._calls.append(Call("logs", handle))
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=datetime.UTC)
        return self._lines(handle, follow, since)

    def stop(self, handle: str, grace: float) -> None:
        """Send SIGTERM; a container that ignores it is killed after ``grace`` seconds.

        Returns once the container has exited, as the real backends do. A container that is not
        running (created, exited, removed, unknown) is left alone.
        """
        with self._changed:
            self._calls.append(Call("stop", handle, grace=grace))
            now = self._advance()
            container = self._container(handle)
            if container is None or container.state is not _RUNNING:
                return
            self._signals.append((handle, "TERM"))
            if not container.behaviour.ignores_term:
                self._exit(container, now, SIGTERM_EXIT)
                return
            kill_at = now + max(grace, 0.0)
            while container.state is _RUNNING and not container.removed:
                if now >= kill_at:
                    self._signals.append((handle, "KILL"))
                    self._exit(container, now, SIGKILL_EXIT)
                    return
                self._sleep(min(container.exits_at, kill_at) - now)
                now = self._advance()

    def remove(self, handle: str) -> None:
        """Remove the container, killing it if it runs; a container already gone is fine."""
        with self._changed:
            self._calls.append(Call("remove", handle))
            now = self._advance()
            container = self._container(handle)
            if container is None:
                return
            if container.state is _RUNNING:
                self._signals.append((handle, "KILL"))
                self._exit(container, now, SIGKILL_EXIT)
            container.removed = True
            self._changed.notify_all()

    def list(self, labels: Mapping[str, str]) -> list[ports.ContainerStatus]:
        """Return every container not removed that carries all of ``labels``, oldest first."""
        with self._changed:
            self._calls.append(Call("list"))
            self._advance()
            return [
                self._status(c.handle)
                for c in self._containers.values()
                if not c.removed and _carries(c.spec.labels, labels)
            ]

    def images(self, label: str) -> builtins.list[ports.ImageInfo]:
        """Return the images given with ``add_image`` that carry ``label``, by reference."""
        with self._changed:
            self._calls.append(Call("images"))
            return sorted(
                (info for info in self._images.values() if label in info.labels),
                key=lambda info: info.reference,
            )

    def close(self) -> None:
        """Record the call; there is nothing to release."""
        with self._changed:
            self._calls.append(Call("close"))

    # -- for tests ---------------------------------------------------------------------------

    def add_image(
        self, reference: str, labels: Mapping[str, str], image_id: str | None = None
    ) -> ports.ImageInfo:
        """Make an image present on the fake engine (replacing one of that reference) and return
        it; its id is made from the reference unless given. Not recorded as a call."""
        made = image_id or "sha256:" + hashlib.sha256(reference.encode()).hexdigest()
        info = ports.ImageInfo(reference, made, dict(labels))
        with self._changed:
            self._images[reference] = info
        return info

    def remove_image(self, reference: str) -> None:
        """Make the image ``reference`` absent again; not recorded as a call."""
        with self._changed:
            self._images.pop(reference, None)

    def end(self, handle: str, exit_code: int | None = None) -> None:
        """Make a running container exit now, as if its process ended by itself.

        With ``exit_code`` None it exits with its behaviour's code. Not recorded as a call.
        """
        with self._changed:
            now = self._advance()
            container = self._container(handle)
            if container is None or container.state is not _RUNNING:
                raise errors.FailedPrecondition(f"container '{handle}': not running")
            code = container.behaviour.exit_code if exit_code is None else exit_code
            self._exit(container, now, code)

    def copied(self, handle: str) -> dict[str, bytes]:
        """The content of every file copied into ``handle`` (removed or not), by path.

        NotFound for a handle never created.
        """
        with self._changed:
            container = self._containers.get(handle)
            if container is None:
                raise errors.NotFound(f"container '{handle}': not found")
            return dict(container.files)

    @property
    def calls(self) -> builtins.list[Call]:
        """Every call made to the port so far, in order."""
        with self._changed:
            return list(self._calls)

    @property
    def created(self) -> builtins.list[ports.ContainerSpec]:
        """The spec of every call to ``create``, in order, whether or not it failed."""
        return [call.spec for call in self.calls if call.spec is not None]

    @property
    def signals(self) -> builtins.list[tuple[str, str]]:
        """``(handle, "TERM" | "KILL")`` for every signal a container was sent, in order."""
        with self._changed:
            return list(self._signals)

    @property
    def timeline(self) -> builtins.list[Event]:
        """Every start and exit so far, in the order they happened."""
        with self._changed:
            self._advance()
            return list(self._timeline)

    @property
    def max_alive(self) -> int:
        """The most containers that were running at once."""
        return self.most_alive_at_once()

    def most_alive_at_once(
        self, group: Callable[[Mapping[str, str]], Hashable] | None = None
    ) -> int:
        """The most containers running at once, or with ``group`` (of the labels) the most groups.

        ``most_alive_at_once(lambda labels: labels["io.hostler.run"])`` is 1 when no two runs
        ever had containers running together.
        """
        alive: dict[Hashable, int] = {}
        most = 0
        for event in self.timeline:
            key = event.handle if group is None else group(event.labels)
            alive[key] = alive.get(key, 0) + (1 if event.kind == "started" else -1)
            if alive[key] == 0:
                del alive[key]
            most = max(most, len(alive))
        return most

    def handles(self, labels: Mapping[str, str] | None = None) -> builtins.list[str]:
        """The handles of every container ever created carrying ``labels``, removed or not."""
        with self._changed:
            return [
                c.handle for c in self._containers.values() if _carries(c.spec.labels, labels or {})
            ]

    def alive(self) -> builtins.list[str]:
        """The handles of the containers running now."""
        with self._changed:
            self._advance()
            return [c.handle for c in self._containers.values() if c.state is _RUNNING]

    # -- inside; every method below is called with the condition held ------------------------

    def _advance(self) -> float:
        """Let the containers whose time has come exit, in the order they did; return now."""
        now = time.monotonic()
        due = [c for c in self._containers.values() if c.state is _RUNNING and c.exits_at <= now]
        for container in sorted(due, key=lambda c: c.exits_at):
            self._exit(container, container.exits_at, container.code)
        return now

    def _exit(self, container: _Container, at: float, code: int) -> None:
        started = container.started or _now()
        container.state = _EXITED
        container.exit_code = code
        container.finished = started + datetime.timedelta(seconds=max(0.0, at - container.began))
        self._timeline.append(Event("exited", container.handle, container.spec.labels))
        self._changed.notify_all()

    def _sleep(self, seconds: float) -> None:
        self._changed.wait(None if seconds == FOREVER else max(0.0, seconds))

    def _container(self, handle: str) -> _Container | None:
        container = self._containers.get(handle)
        return None if container is None or container.removed else container

    def _status(self, handle: str) -> ports.ContainerStatus:
        container = self._container(handle)
        if container is None:
            return ports.ContainerStatus(handle=handle, state=ports.ContainerState.MISSING)
        digest = hashlib.sha256(container.spec.image.encode()).hexdigest()
        return ports.ContainerStatus(
            handle=handle,
            state=container.state,
            labels=dict(container.spec.labels),
            exit_code=container.exit_code if container.state is _EXITED else None,
            image_digest=f"sha256:{digest}",
            started=container.started,
            finished=container.finished,
        )

    def _lines(
        self, handle: str, follow: bool, since: datetime.datetime | None
    ) -> Iterator[ports.LogLine]:
        sent = 0
        first = True
        while True:
            with self._changed:
                now = self._advance()
                container = self._container(handle)
                if container is None:
                    if first:
                        raise errors.NotFound(f"container '{handle}': not found")
                    return  # removed while followed: its output ends here
                first = False
                fresh = container.output[sent:]
                sent += len(fresh)
                done = not follow or container.state is _EXITED
                if not fresh and not done:
                    self._sleep(container.exits_at - now)  # until the exit, or a change
                    continue
            for line in fresh:
                if since is None or line.time >= since:
                    yield line
            if done:
                return


def _carries(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
