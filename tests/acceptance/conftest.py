"""The real server process, driven by the real CLI over HTTP."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

HOSTLER = str(pathlib.Path(sys.executable).parent / "hostler")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclasses.dataclass
class Server:
    """A running ``hostler service start`` and a way to run CLI commands against it."""

    url: str
    data_dir: pathlib.Path
    log: pathlib.Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTLER_")}
        return {**env, "HOSTLER_URL": self.url, "NO_COLOR": "1", "COLUMNS": "200"}

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``hostler ARGS`` and return the finished process (never raises on exit codes)."""
        return subprocess.run(
            [HOSTLER, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start ``hostler ARGS`` in the background."""
        return subprocess.Popen(
            [HOSTLER, *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real Hostler server on the Docker engine with its own data dir and port."""
    data_dir = tmp_path_factory.mktemp("server")
    port = free_port()
    log = data_dir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTLER_")}
    env["HOSTLER_ENGINE__STOP_GRACE"] = "2"
    env["HOSTLER_ENGINE__POLL_INTERVAL"] = "0.2"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                HOSTLER,
                "service",
                "start",
                "--dev",
                "--data-dir",
                str(data_dir / "data"),
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/api/v1/health", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"server did not start:\n{log.read_text()}")
            time.sleep(0.1)
    try:
        yield Server(url, data_dir / "data", log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
