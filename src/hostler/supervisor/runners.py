"""How one extension's server runs: a child process of the server, or a container through the
scheduler. The supervisor drives both the same way through ``Running``."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pathlib
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Protocol

from hostler.core import errors, ports

log = logging.getLogger(__name__)

LABEL = ports.LABEL_PREFIX + "extension."
"""The prefix of the labels of an extension's container: ``name``, and the ``installation`` and
``instance`` that started it. Not the task containers' labels, so that the engine's clean-up of
containers without a task never touches an extension."""


class Running(Protocol):
    """An extension's server that was started: a process, or a container."""

    @property
    def pid(self) -> int | None:
        """Its process id on this host; None for a container."""
        ...

    @property
    def container(self) -> str | None:
        """The short id of its container; None for a process."""
        ...

    def alive(self) -> bool:
        """Tell whether it still runs."""
        ...

    def exit_code(self) -> int | None:
        """Return how it ended, once it has; None while it runs or when unknown."""
        ...

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for it to end; tell whether it did."""
        ...

    def stop(self, grace: float) -> None:
        """Stop it: SIGTERM, then SIGKILL after ``grace`` seconds; then release it."""
        ...

    def release(self) -> None:
        """Forget it once it ended (a container is removed). Idempotent."""
        ...


class StartFailed(Exception):
    """An extension's server could not be started; the message says why."""


# -- a child process ---------------------------------------------------------------------------


class Process:
    """An extension served by a child process in its own process group, killed by the kernel if
    the server dies without stopping it."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str], log: pathlib.Path) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("HOSTLER_")}
        output: IO[bytes] = log.open("ab")
        try:
            self._process = subprocess.Popen(
                list(command),
                env={**inherited, **env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only prctl, before exec
            )
        except OSError as exc:
            raise StartFailed(str(exc)) from exc
        finally:
            output.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def container(self) -> str | None:
        return None

    def alive(self) -> bool:
        return self._process.poll() is None

    def exit_code(self) -> int | None:
        return self._process.poll()

    def wait(self, timeout: float) -> bool:
        try:
            self._process.wait(max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, grace: float) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self._process.pid, sig)  # its whole group
            except ProcessLookupError:
                return
            if self.wait(grace):
                return
        self._process.wait()

    def release(self) -> None:
        self._process.poll()  # reaps it


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Have the kernel kill the child if the server dies without stopping it (a crash, SIGKILL):
    an orphaned extension would go on firing with nobody watching it, and keeps nothing worth a
    gentler end."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


# -- a container -------------------------------------------------------------------------------


class Container:
    """An extension served by a container of ``image`` on the host's network, started through
    the scheduler; its output is copied into ``log`` by a thread of its own.

    A container outlives a server that dies without stopping it; the next start removes it
    (``remove_orphans``), and its token no longer works once the new one is made.
    """

    def __init__(
        self,
        scheduler: ports.Scheduler,
        spec: ports.ContainerSpec,
        log: pathlib.Path,
    ) -> None:
        self._scheduler = scheduler
        try:
            self.handle = scheduler.create(spec)
        except errors.HostlerError as exc:
            raise StartFailed(str(exc)) from exc
        try:
            scheduler.start(self.handle)
        except errors.HostlerError as exc:
            self.release()
            raise StartFailed(str(exc)) from exc
        self._status: ports.ContainerStatus | None = None
        self._copier = threading.Thread(
            target=self._copy_logs, args=(log,), name=f"extension-log-{spec.name}", daemon=True
        )
        self._copier.start()

    @property
    def pid(self) -> int | None:
        return None

    @property
    def container(self) -> str | None:
        return self.handle[:12]

    def alive(self) -> bool:
        return self._inspect().state in (ports.ContainerState.CREATED, ports.ContainerState.RUNNING)

    def exit_code(self) -> int | None:
        return self._inspect().exit_code

    def wait(self, timeout: float) -> bool:
        try:
            status = self._scheduler.wait(self.handle, max(0.0, timeout))
        except errors.HostlerError:
            return False
        if status.state in (ports.ContainerState.EXITED, ports.ContainerState.MISSING):
            self._status = status
            return True
        return False

    def stop(self, grace: float) -> None:
        with contextlib.suppress(errors.HostlerError):  # gone already, or the engine is away
            self._scheduler.stop(self.handle, grace)
        self.release()

    def release(self) -> None:
        try:
            self._scheduler.remove(self.handle)
        except errors.HostlerError as exc:
            log.warning("extension container not removed", extra={"error": str(exc)})

    def _inspect(self) -> ports.ContainerStatus:
        if self._status is not None:
            return self._status
        try:
            status = self._scheduler.inspect(self.handle)
        except errors.Unavailable:
            # The engine not answering says nothing of the container: take it as running, and
            # let its health check decide.
            return ports.ContainerStatus(self.handle, ports.ContainerState.RUNNING)
        if status.state in (ports.ContainerState.EXITED, ports.ContainerState.MISSING):
            self._status = status
        return status

    def _copy_logs(self, path: pathlib.Path) -> None:
        try:
            with path.open("a", encoding="utf-8") as out:
                for line in self._scheduler.logs(self.handle, follow=True):
                    out.write(line.text + "\n")
                    out.flush()
        except errors.HostlerError as exc:
            log.debug("extension log copy ended", extra={"error": str(exc)})


def labels(installation: Mapping[str, str], name: str) -> dict[str, str]:
    """Return the labels of extension ``name``'s container: ``installation``'s and its name."""
    return {**installation, LABEL + "name": name}


def remove_orphans(scheduler: ports.Scheduler, installation: Mapping[str, str]) -> int:
    """Remove every extension container carrying the ``installation`` labels (left by a server
    that died without stopping them); return how many there were."""
    found = scheduler.list(installation)
    for status in found:
        with contextlib.suppress(errors.HostlerError):
            scheduler.stop(status.handle, 0)
        with contextlib.suppress(errors.HostlerError):
            scheduler.remove(status.handle)
        log.warning(
            "extension container left by an earlier start: removed",
            extra={"container": status.handle, "extension": status.labels.get(LABEL + "name")},
        )
    return len(found)
