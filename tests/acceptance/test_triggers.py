"""Triggers on the real server: the built-in interval extension starts runs on its grid, comes back
when killed, and neither a server restart nor a deploy doubles or keeps a fire.

Tasks run on the ``local`` scheduler here (``true`` once a second); the extension, the server and
the CLI are the real ones.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from hostler.testing.process import ServerProcess

from .conftest import Server
from .test_user_story import ok, write

HANG = 60.0

PIPELINE = """
id: tick
tasks:
  - id: noop
    image: "busybox:stable"
    command: ["true"]
triggers:
  - extension: interval
    settings: {every: 1s, jitter: false}
"""


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.2)


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[tuple[Server, ServerProcess]]:
    process = ServerProcess(
        tmp_path / "data",
        {
            "SCHEDULER__BACKEND": "local",
            "SCHEDULER__LOCAL__WORK_DIR": str(tmp_path / "work"),
            "ENGINE__POLL_INTERVAL": "0.2",
        },
    )
    process.start()
    try:
        yield Server(process.url, process.data_dir, process.log), process
    finally:
        process.stop()


def runs(server: Server) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{server.url}/api/v1/namespaces/default/pipelines/tick/runs", params={"limit": 200}
    )
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


def fires(server: Server) -> list[str]:
    return sorted(r["variables"]["HOSTLER_FIRE_TIME"] for r in runs(server))


def extension(server: Server, name: str) -> dict[str, Any]:
    listed = json.loads(ok(server.cli("extension", "list", "-o", "json")))
    found: list[dict[str, Any]] = [e for e in listed["items"] if e["name"] == name]
    assert len(found) == 1, listed
    return found[0]


def test_an_interval_trigger_starts_runs_and_survives_kills_crashes_and_deploys(
    server: tuple[Server, ServerProcess], tmp_path: pathlib.Path
) -> None:
    api, process = server
    ok(api.cli("pipeline", "up", write(tmp_path, "tick.yaml", PIPELINE), "-y"))
    until(lambda: len(runs(api)) >= 3, "three runs")
    first = runs(api)[-1]
    assert first["trigger"] == "extension:interval"
    assert first["variables"]["HOSTLER_SUBSCRIPTION"] == "default/tick/interval"
    assert extension(api, "interval")["subscriptions"] == 1

    # killed, the extension comes back with its subscription, on the same grid
    pid = extension(api, "interval")["pid"]
    os.kill(pid, signal.SIGKILL)
    until(lambda: extension(api, "interval")["restarts"] == 1, "the extension restarted")
    until(lambda: extension(api, "interval")["subscriptions"] == 1, "subscribed again")
    before = len(runs(api))
    until(lambda: len(runs(api)) >= before + 2, "runs go on after the restart")

    # the server crashes: its extensions go with it; started again, the subscription comes back
    # and no fire is doubled
    pid = extension(api, "interval")["pid"]
    process.kill()
    until(lambda: not _exists(pid), "the crashed server's extension is gone")
    process.start()
    before = len(runs(api))
    until(lambda: len(runs(api)) >= before + 2, "runs go on after the server restarted")
    seen = fires(api)
    assert len(seen) == len(set(seen)), "a fire time was used twice"

    # deployed without the trigger, the pipeline is unsubscribed
    ok(
        api.cli(
            "pipeline", "up", write(tmp_path, "still.yaml", PIPELINE.split("triggers:")[0]), "-y"
        )
    )
    until(lambda: extension(api, "interval")["subscriptions"] == 0, "unsubscribed")
    settled = len(runs(api))
    time.sleep(2.5)  # several grid points later
    assert len(runs(api)) == settled
    logged = ok(api.cli("extension", "logs", "interval", "-n", "500"))
    assert "run started" in logged


def _exists(pid: int) -> bool:
    """Tell whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
