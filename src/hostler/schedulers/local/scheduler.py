"""The local scheduler: task commands as plain host processes. NO ISOLATION.

A task run here has the rights of the Hostler server: it sees the host's files, network and
processes. Use it for development and for tests of the engine, never for pipelines you do not
trust. The image is ignored (recorded only, as the digest ``local:<image>``), so ``images`` lists
none. Processes share the host's network: a spec's ``network`` may be ``host`` or none.

Each scheduler object keeps its records in memory and in ``work_dir`` (see ``records``), so a new
object over the same directory lists the processes an earlier one started: running while their
pid is alive, else exited with the code the earlier object recorded, if it lived to record it.
Only the object that created a task can copy files into it and start it, and output is captured
only while that object lives. Files copied in go to the task's own objects directory, which its
``HOSTLER_OBJECTS`` names in place of the container path the engine puts in its env.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import functools
import logging
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pydantic

from hostler.core import errors, ports
from hostler.schedulers.local import process, records

logger = logging.getLogger(__name__)

_KILL_WAIT_SECONDS = 10.0
"""How long stop and remove wait for a process to end after SIGKILL."""
_FOLLOW_SAFETY_SECONDS = 1.0
"""A follower wakes at least this often even without notice (it is notified on every line)."""

_CREATED = ports.ContainerState.CREATED
_RUNNING = ports.ContainerState.RUNNING
_EXITED = ports.ContainerState.EXITED


class Config(pydantic.BaseModel):
    """Settings of the local scheduler (``[scheduler.local]``)."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    work_dir: Path | None = None
    """Where task records, output and the tasks' shared working directory go; None: a new
    temporary directory."""


@dataclasses.dataclass
class _Entry:
    """A task created by this scheduler object; ``changed`` guards it and signals every change."""

    record: records.Record
    command: tuple[str, ...]
    env: dict[str, str]
    changed: threading.Condition = dataclasses.field(default_factory=threading.Condition)
    generation: int = 0
    child: process.Process | None = None
    removed: bool = False

    def bump(self) -> None:
        """Note a change and wake whoever waits for one; call with ``changed`` held."""
        self.generation += 1
        self.changed.notify_all()


class Scheduler:
    """Runs each task as a host process in its own session, without any isolation."""

    name = "local"
    capabilities = ports.Capabilities(
        isolation=False, log_follow=True, resource_limits=False, attach=False, runtimes=()
    )

    def __init__(self, config: Config) -> None:
        self._dir = config.work_dir or Path(tempfile.mkdtemp(prefix="hostler-local-"))
        # One working directory for all tasks: a directory per task costs a mkdir and an rmdir,
        # which on a journalling file system is a good part of the cost of a short task.
        self._work = self._dir / records.WORK
        self._work.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        logger.warning(
            "tasks run as host processes without isolation", extra={"work_dir": str(self._dir)}
        )

    def create(self, spec: ports.ContainerSpec) -> str:
        """Record a task process to be started later; its command is required."""
        if not spec.command:
            raise errors.InvalidArgument(
                "local scheduler needs a command",
                field="command",
                hint="give the task a command: the local scheduler ignores the image",
            )
        if spec.network not in (None, ports.HOST_NETWORK):
            raise errors.InvalidArgument(
                f"container '{spec.name}': the local scheduler has no network '{spec.network}'",
                field="network",
                hint="host processes share the host's network: give 'host' or none",
            )
        handle = f"local-{uuid.uuid4().hex}"
        record = records.Record(handle, spec.name, spec.image, dict(spec.labels), state=_CREATED)
        try:
            records.save(records.status_path(self._dir, handle), record, new=True)
        except OSError as exc:
            raise errors.Unavailable(f"local work directory '{self._dir}': {exc}") from exc
        with self._lock:
            self._entries[handle] = _Entry(record, tuple(spec.command), dict(spec.env))
        return handle

    def copy_in(self, handle: str, files: Sequence[ports.File]) -> None:
        """Copy ``files`` into the task's own objects directory, made at the first copy.

        The directory is ``objects/<handle>/`` in the work directory; the task's
        ``HOSTLER_OBJECTS`` names it, whatever its spec says. Only into a task not started yet.
        """
        ports.check_files(files)
        entry = self._unstarted(handle)
        # Copied without the lock, which inspect and list take: a large file takes a while.
        directory = records.objects_path(self._dir, handle)
        records.copy_files(directory, files)
        with entry.changed:
            if entry.removed:  # removed meanwhile: what the copy made again goes too
                shutil.rmtree(directory, ignore_errors=True)
                raise errors.NotFound(f"container '{handle}': not found (removed)")

    def start(self, handle: str) -> None:
        """Spawn the task's process; a task started already is left alone."""
        entry = self._own(handle)
        with entry.changed:
            if entry.removed:
                raise errors.NotFound(f"container '{handle}': not found (removed)")
            if entry.record.state is not _CREATED:
                return
            objects = records.objects_path(self._dir, handle).absolute()
            entry.child = process.Process.spawn(
                entry.command,
                {
                    **process.BASE_ENV,
                    "HOME": str(self._work),
                    **entry.env,
                    ports.OBJECTS_ENV: str(objects),
                },
                cwd=self._work,
                output=records.output_path(self._dir, handle),
                on_output=functools.partial(self._output, entry),
                on_exit=functools.partial(self._exited, entry),
            )
            entry.env = {}  # the process has it; secrets are kept no longer than needed
            record = entry.record
            record.state, record.pid = _RUNNING, entry.child.pid
            record.pid_started = process.start_time(record.pid)
            record.started = _now()
            self._append(record)
            entry.bump()
        logger.debug("process started", extra={"handle": handle, "pid": record.pid})

    def inspect(self, handle: str) -> ports.ContainerStatus:
        """Return the task's status; ``MISSING`` when nothing is known of it."""
        entry = self._entry(handle)
        if entry is not None:
            with entry.changed:
                return entry.record.status()
        record = self._load(handle)
        if record is None:
            return ports.ContainerStatus(handle=handle, state=ports.ContainerState.MISSING)
        if record.state is _RUNNING and not process.alive(record.pid or 0, record.pid_started):
            return record.status(_EXITED)
        return record.status()

    def wait(self, handle: str, timeout: float | None = None) -> ports.ContainerStatus:
        """Block until the task is not running or ``timeout`` passes; return its status."""
        entry = self._entry(handle)
        if entry is not None:
            with entry.changed:
                entry.changed.wait_for(lambda: entry.record.state is not _RUNNING, timeout)
        else:
            status = self.inspect(handle)
            record = self._load(handle) if status.state is _RUNNING else None
            if record is not None and record.pid is not None:
                process.wait_gone(record.pid, record.pid_started, timeout)
        return self.inspect(handle)

    def logs(
        self, handle: str, *, follow: bool = False, since: datetime.datetime | None = None
    ) -> Iterator[ports.LogLine]:
        """Yield the task's output lines; with ``follow``, until it has exited and all is read."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=datetime.UTC)
        entry = self._entry(handle)
        if entry is None and self._load(handle) is None:
            raise errors.NotFound(f"container '{handle}': not found")
        with records.Output(records.output_path(self._dir, handle)) as output:
            pending = b""
            while True:
                ended, generation = self._progress(handle, entry)
                pending += output.read()
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    line = records.decode_line(raw)
                    if since is None or line.time >= since:
                        yield line
                if not follow or ended:
                    return
                if entry is None:
                    time.sleep(0.01)  # another object's process: the file is all there is
                    continue
                with entry.changed:
                    if entry.generation == generation:
                        entry.changed.wait(_FOLLOW_SAFETY_SECONDS)

    def stop(self, handle: str, grace: float) -> None:
        """Send SIGTERM to the task's process group, SIGKILL after ``grace`` seconds."""
        entry = self._entry(handle)
        if entry is None:
            self._stop_other(handle, grace)
            return
        with entry.changed:
            running = entry.child if entry.record.state is _RUNNING else None
        if running is None:
            return
        running.signal(signal.SIGTERM)
        if not self._await_exit(entry, grace):
            running.signal(signal.SIGKILL)
            self._await_exit(entry, _KILL_WAIT_SECONDS)
        logger.debug("process stopped", extra={"handle": handle})

    def remove(self, handle: str) -> None:
        """Kill the task if it runs and delete all that is kept of it; a task gone is fine."""
        if not records.is_handle(handle):
            return
        self.stop(handle, grace=0)
        with self._lock:
            entry = self._entries.pop(handle, None)
        if entry is not None:
            with entry.changed:
                entry.removed = True
                entry.bump()
        records.status_path(self._dir, handle).unlink(missing_ok=True)
        records.output_path(self._dir, handle).unlink(missing_ok=True)
        shutil.rmtree(records.objects_path(self._dir, handle), ignore_errors=True)

    def list(self, labels: Mapping[str, str]) -> list[ports.ContainerStatus]:
        """Return every task in the work directory, running or not, carrying all of ``labels``."""
        found = []
        for path in sorted(self._dir.glob(f"local-*{records.STATUS_SUFFIX}")):
            status = self.inspect(path.name.removesuffix(records.STATUS_SUFFIX))
            wanted = all(status.labels.get(key) == value for key, value in labels.items())
            if wanted and status.state is not ports.ContainerState.MISSING:
                found.append(status)
        return found

    def images(self, label: str) -> builtins.list[ports.ImageInfo]:
        """Return no images: host processes run no images (the image of a spec is ignored)."""
        return []

    def close(self) -> None:
        """Forget this object's tasks; their processes go on running."""
        with self._lock:
            self._entries.clear()

    def _own(self, handle: str) -> _Entry:
        """Return the entry of a task this object created; NotFound or FailedPrecondition."""
        entry = self._entry(handle)
        if entry is not None:
            return entry
        if self._load(handle) is not None:
            raise errors.FailedPrecondition(
                f"container '{handle}': created by another scheduler object",
                hint="only the local scheduler that created a task can copy into it or start it",
            )
        raise errors.NotFound(f"container '{handle}': not found")

    def _unstarted(self, handle: str) -> _Entry:
        """Return the entry of a task this object created and has not started."""
        entry = self._own(handle)
        with entry.changed:
            if entry.removed:
                raise errors.NotFound(f"container '{handle}': not found (removed)")
            if entry.record.state is not _CREATED:
                raise errors.FailedPrecondition(
                    f"container '{handle}': started already ({entry.record.state.value})",
                    hint="copy files into a task before it starts",
                )
        return entry

    def _load(self, handle: str) -> records.Record | None:
        """Return the record on disk of ``handle``, if there is one."""
        if not records.is_handle(handle):
            return None  # not ours, and not safe as a file name
        return records.load(records.status_path(self._dir, handle))

    def _append(self, record: records.Record) -> None:
        """Write ``record`` to disk; a failure costs other objects the news, not this one."""
        try:
            records.save(records.status_path(self._dir, record.handle), record)
        except OSError:
            logger.exception("task record cannot be written", extra={"handle": record.handle})

    def _entry(self, handle: str) -> _Entry | None:
        with self._lock:
            return self._entries.get(handle)

    def _progress(self, handle: str, entry: _Entry | None) -> tuple[bool, int]:
        """Return whether the task has ended (so its output is complete) and the change count."""
        if entry is None:
            state = self.inspect(handle).state
            return state in (_EXITED, ports.ContainerState.MISSING), 0
        with entry.changed:
            ended = entry.removed or entry.record.state is _EXITED
            return ended, entry.generation

    def _await_exit(self, entry: _Entry, timeout: float) -> bool:
        with entry.changed:
            return entry.changed.wait_for(lambda: entry.record.state is not _RUNNING, timeout)

    def _stop_other(self, handle: str, grace: float) -> None:
        """Stop a process another scheduler object started, found through its record."""
        record = self._load(handle)
        if record is None or record.state is not _RUNNING or record.pid is None:
            return
        if not process.alive(record.pid, record.pid_started):
            return
        process.signal_group(record.pid, signal.SIGTERM)
        process.wait_gone(record.pid, record.pid_started, grace)
        if process.alive(record.pid, record.pid_started):
            process.signal_group(record.pid, signal.SIGKILL)
            process.wait_gone(record.pid, record.pid_started, _KILL_WAIT_SECONDS)

    def _output(self, entry: _Entry) -> None:
        with entry.changed:
            entry.bump()

    def _exited(self, entry: _Entry, code: int) -> None:
        with entry.changed:
            entry.record.state = _EXITED
            entry.record.exit_code = code
            entry.record.finished = _now()
            if not entry.removed:
                self._append(entry.record)
            entry.bump()
        logger.debug("process exited", extra={"handle": entry.record.handle, "exit_code": code})


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
