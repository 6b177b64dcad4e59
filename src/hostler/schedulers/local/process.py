"""One task process of the local scheduler, and how to watch a process some other object started.

A task runs in its own session, so that its process group can be signalled as a whole, like a
container. One thread per task does all the watching: it copies stdout and stderr, line by line,
into the output file, and when the process exits (a pidfd tells, on Linux) it kills what the
process left running in its group (as an engine does when a container's first process exits),
drains the pipes and reports the exit code. One thread, not three, keeps the cost per task low.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from hostler.core import errors
from hostler.schedulers.local import records

logger = logging.getLogger(__name__)

BASE_ENV: Mapping[str, str] = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
}
"""The environment every task starts from; the task's own env is merged over it."""

_DRAIN_SECONDS = 5.0
"""How long to read output after exit: a child that left the group may hold the pipes open."""
_POLL_SECONDS = 0.01
_CHUNK = 1 << 16


class Process:
    """A spawned task process and the thread that copies its output and awaits its end."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        output: Path,
        on_output: Callable[[], None],
        on_exit: Callable[[int], None],
    ) -> None:
        self._popen = popen
        self._output = output
        self._fd: int | None = None
        """The output file, opened at the first line: a silent task costs no file."""
        self._on_output = on_output
        self._on_exit = on_exit
        self._partial: dict[str, tuple[str, bytearray]] = {}
        self._broken = False
        self._thread = threading.Thread(
            target=self._supervise, name=f"hostler-local-{popen.pid}", daemon=True
        )

    @classmethod
    def spawn(
        cls,
        command: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        output: Path,
        on_output: Callable[[], None],
        on_exit: Callable[[int], None],
    ) -> Process:
        """Start ``command``; ``on_output`` is called after output is written, ``on_exit`` last."""
        try:
            popen = subprocess.Popen(
                list(command),
                bufsize=0,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise errors.InvalidArgument(
                f"command '{command[0]}': cannot be run ({exc.strerror or exc})",
                field="command",
                hint="the local scheduler runs commands on the host: check that it is installed",
            ) from exc
        process = cls(popen, output, on_output, on_exit)
        process._thread.start()
        return process

    @property
    def pid(self) -> int:
        """The process id, which is also the id of its process group."""
        return self._popen.pid

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the whole process group; a group already gone is fine."""
        signal_group(self._popen.pid, signum)

    def _supervise(self) -> None:
        code: int | None = None
        try:
            code = self._copy_until_exit()
        except Exception:  # never leave a task looking as if it ran forever
            logger.exception("task output copy failed", extra={"pid": self._popen.pid})
        finally:
            for pipe in (self._popen.stdout, self._popen.stderr):
                if pipe is not None:
                    pipe.close()
            if self._fd is not None:
                os.close(self._fd)
            if code is None:
                code = self._popen.wait()
        # A process killed by a signal reports -N; container engines report 128+N.
        self._on_exit(128 - code if code < 0 else code)

    def _copy_until_exit(self) -> int:
        assert self._popen.stdout is not None and self._popen.stderr is not None
        streams = {self._popen.stdout.fileno(): "stdout", self._popen.stderr.fileno(): "stderr"}
        exit_fd = _exit_fd(self._popen)
        poller = select.poll()
        for fd in (*streams, exit_fd):
            poller.register(fd, select.POLLIN)
        code: int | None = None
        deadline = 0.0
        try:
            while code is None or streams:
                timeout = None if code is None else (deadline - time.monotonic()) * 1000
                if timeout is not None and timeout <= 0:
                    logger.warning("task output still open after exit", extra={"pid": self.pid})
                    break
                for fd, _ in poller.poll(None if timeout is None else math.ceil(timeout)):
                    if fd == exit_fd:
                        poller.unregister(exit_fd)
                        code = self._popen.wait()
                        signal_group(self._popen.pid, signal.SIGKILL)
                        deadline = time.monotonic() + _DRAIN_SECONDS
                    elif fd in streams:
                        data = os.read(fd, _CHUNK)
                        if not data:
                            poller.unregister(fd)
                        self._write(streams[fd], data)
                        if not data:
                            del streams[fd]
        finally:
            os.close(exit_fd)
        return code if code is not None else self._popen.wait()

    def _write(self, stream: str, data: bytes) -> None:
        """Write the lines ``data`` completes; empty ``data`` (the end) completes the last one."""
        now = datetime.datetime.now(datetime.UTC).isoformat()
        pieces = data.split(b"\n") if data else [b"", b""]
        time0, line = self._partial.pop(stream, (now, bytearray()))
        line += pieces[0]
        lines = [(time0, bytes(line))] if len(pieces) > 1 and (data or line) else []
        lines += [(now, piece) for piece in pieces[1:-1]]
        if len(pieces) == 1:
            self._partial[stream] = (time0, line)
        elif pieces[-1]:
            self._partial[stream] = (now, bytearray(pieces[-1]))
        if not lines or self._broken:
            return
        encoded = b"".join(records.encode_line(t, stream, text) for t, text in lines)
        try:
            if self._fd is None:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                self._fd = os.open(self._output, flags, 0o600)
            _write_all(self._fd, encoded)
        except OSError:
            logger.exception("task output cannot be written", extra={"pid": self.pid})
            self._broken = True
        self._on_output()


def _exit_fd(popen: subprocess.Popen[bytes]) -> int:
    """Return a descriptor that becomes readable when ``popen`` exits.

    A pidfd where the kernel has them (Linux 5.3+); elsewhere a pipe closed by a waiting thread.
    """
    with contextlib.suppress(AttributeError, OSError):
        return os.pidfd_open(popen.pid)
    read, write = os.pipe()

    def await_exit() -> None:
        popen.wait()
        os.close(write)

    threading.Thread(target=await_exit, name=f"hostler-wait-{popen.pid}", daemon=True).start()
    return read


def signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to process group ``pgid``; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def start_time(pid: int) -> str | None:
    """Return when the kernel started ``pid`` (ticks since boot); None if unknown or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return fields[19]


def alive(pid: int, started: str | None) -> bool:
    """Tell whether process ``pid`` still runs and is the one that started at ``started``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if not Path("/proc").is_dir():
        return True  # no way to tell a reused pid or a zombie apart here
    current = start_time(pid)
    return current is not None and (started is None or current == started)


def wait_gone(pid: int, started: str | None, timeout: float | None) -> None:
    """Block until process ``pid`` (not a child of ours) has ended, or ``timeout`` passes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        fd = None  # no pidfd (old kernel, or not Linux): poll, briefly
    try:
        while alive(pid, started):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            if fd is None:
                time.sleep(_POLL_SECONDS if remaining is None else min(_POLL_SECONDS, remaining))
                continue
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            poller.poll(None if remaining is None else max(1, int(remaining * 1000)))
    finally:
        if fd is not None:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
