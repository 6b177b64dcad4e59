"""A real ``hostler service start`` in a child process, for tests and benchmarks that need one.

It can be stopped gently (SIGTERM), killed (SIGKILL, as a crash would) and started again on the
same data directory and port, which is how restart recovery is tested and measured.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from importlib import metadata

import httpx

from hostler.core import extensions as extension_core  # the parameter "extensions" hides the name

HOSTLER = str(pathlib.Path(sys.executable).parent / "hostler")
"""The ``hostler`` command of the running Python environment."""


def free_port() -> int:
    """Return a TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """Return this process's environment without any ``HOSTLER_*`` variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HOSTLER_")}


class ServerProcess:
    """A Hostler server with its own data directory and port, in development mode (no tokens)
    unless ``dev`` is False.

    ``settings`` are ``HOSTLER_*`` environment variables for the server (``ENGINE__LEASE``...);
    ``extensions`` are the installed extensions it runs: none by default, as most tests need
    none and each is a process to start; None runs every one, as a server does. Its output goes
    to ``log`` (appended to across restarts). ``command`` runs the CLI: a test
    can start the server through a script of its own that patches it first.
    """

    def __init__(
        self,
        data_dir: pathlib.Path,
        settings: Mapping[str, str] | None = None,
        port: int | None = None,
        command: Sequence[str] = (HOSTLER,),
        *,
        dev: bool = True,
        extensions: Sequence[str] | None = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"{data_dir.name}-server.log"
        self._settings = {f"HOSTLER_{k}": v for k, v in (settings or {}).items()}
        if extensions is not None:
            installed = {
                entry.name for entry in metadata.entry_points(group=extension_core.ENTRY_POINTS)
            }
            disabled = ",".join(sorted(installed - set(extensions)))
            self._settings.setdefault("HOSTLER_EXTENSIONS__DISABLED", disabled)
        self._command = list(command)
        self._dev = ["--dev"] if dev else []
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> float:
        """Start the server and return once it answers; return the seconds that took."""
        began = time.monotonic()
        command = [*self._command, "service", "start", *self._dev, "--data-dir", str(self.data_dir)]
        with self.log.open("a") as out:
            self._process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                env={**clean_environment(), **self._settings},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        while True:
            try:
                httpx.get(self.url + "/api/v1/health", timeout=1).raise_for_status()
                return time.monotonic() - began
            except httpx.HTTPError:
                if self._process.poll() is not None or time.monotonic() - began > timeout:
                    self.kill()
                    raise RuntimeError(f"server did not start:\n{self.log.read_text()}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash or an out-of-memory kill would."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def stop(self, timeout: float = 15) -> None:
        """Stop the server with SIGTERM; kill it if it does not stop within ``timeout``."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
