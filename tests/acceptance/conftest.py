"""The real server process, driven by the real CLI over HTTP."""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
from collections.abc import Iterator

import pytest

from hostler.testing.process import HOSTLER, ServerProcess, clean_environment


@dataclasses.dataclass
class Server:
    """A running ``hostler service start`` and a way to run CLI commands against it."""

    url: str
    data_dir: pathlib.Path
    log: pathlib.Path

    def env(self) -> dict[str, str]:
        return {
            **clean_environment(),
            "HOSTLER_URL": self.url,
            "NO_COLOR": "1",
            "COLUMNS": "200",
            # never the contexts of whoever runs the tests
            "XDG_CONFIG_HOME": str(self.data_dir.parent / "config"),
        }

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
    data_dir = tmp_path_factory.mktemp("server") / "data"
    process = ServerProcess(
        data_dir,
        {"ENGINE__STOP_GRACE": "2", "ENGINE__POLL_INTERVAL": "0.2"},
        extensions=None,  # every one, as a server runs them
    )
    process.start()
    try:
        yield Server(process.url, data_dir, process.log)
    finally:
        process.stop()
