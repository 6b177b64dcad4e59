"""How fast a restarted server takes back the tasks that ran on when it was killed.

A pipeline of ``--tasks`` independent tasks (default 50), each ``busybox:stable`` running
``sh -c 'echo start; sleep S; echo end'``, runs on a real server (``hostler service start --dev``
in a child process; SQLite and log files in a temporary directory; ``max_running_tasks`` above the
task count so that every task runs at once).

(a) Baseline: one run, never interrupted; the figure is its duration from the start request until
the server reports it complete.

(b) Restart: one run; once every task is running, the server is killed with SIGKILL and started
again on the same data. The figures are: the time from the new process's launch until it accepts
requests; the time from accepting requests until the last task is re-attached (the engine logs
``task re-attached`` for each, with its time); and the run's duration as in (a).

Target (the issue): every running container re-attached within 2 s of the server accepting
requests. The script prints the figures next to the target and never fails on them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import platform
import sys
import tempfile
import time
from typing import Any

from hostler.sdk import client as sdk
from hostler.testing.process import ServerProcess

TARGET = 2.0


def pipeline(tasks: int, sleep: float) -> dict[str, Any]:
    """``tasks`` independent tasks that each print a line, sleep ``sleep`` s, print another."""
    script = f"echo start; sleep {sleep:g}; echo end"
    return {
        "id": "recovery",
        "tasks": [
            {"id": f"t{n:02d}", "image": "busybox:stable", "command": ["sh", "-c", script]}
            for n in range(tasks)
        ],
    }


def start_server(root: pathlib.Path, name: str, tasks: int) -> tuple[ServerProcess, sdk.Client]:
    settings = {
        "ENGINE__MAX_RUNNING_TASKS": str(tasks + 8),
        "ENGINE__POLL_INTERVAL": "0.2",
        "LOGGING__FORMAT": "json",
    }
    server = ServerProcess(root / name, settings)
    server.start(timeout=60)
    return server, sdk.Client(server.url)


def wait_complete(client: sdk.Client, run: int) -> dict[str, Any]:
    while (got := client.get_run("default", "recovery", run))["state"] != "complete":
        time.sleep(0.05)
    result: dict[str, Any] = got
    return result


def wait_all_running(client: sdk.Client, run: int, tasks: int) -> None:
    while True:
        page = client.list_tasks("default", "recovery", run, limit=tasks + 1)
        if sum(1 for t in page["items"] if t["state"] == "running") == tasks:
            return
        time.sleep(0.1)


def duration(run: dict[str, Any]) -> float:
    created = datetime.datetime.fromisoformat(run["created"])
    ended = datetime.datetime.fromisoformat(run["ended"])
    return (ended - created).total_seconds()


def reattached_times(log: pathlib.Path, since: float) -> list[float]:
    """Return the Unix times of the ``task re-attached`` lines the server logged after ``since``."""
    times = []
    for raw in log.read_text().splitlines():
        if '"task re-attached"' not in raw:
            continue
        stamp = datetime.datetime.fromisoformat(json.loads(raw)["timestamp"]).timestamp()
        if stamp >= since:
            times.append(stamp)
    return times


def baseline(root: pathlib.Path, tasks: int, sleep: float) -> float:
    server, client = start_server(root, "baseline", tasks)
    try:
        client.up_pipeline("default", pipeline(tasks, sleep))
        run = client.start_run("default", "recovery")["id"]
        return duration(wait_complete(client, run))
    finally:
        client.close()
        server.stop()


def restarted(root: pathlib.Path, tasks: int, sleep: float) -> tuple[float, float, int, float]:
    server, client = start_server(root, "restart", tasks)
    try:
        client.up_pipeline("default", pipeline(tasks, sleep))
        run = client.start_run("default", "recovery")["id"]
        wait_all_running(client, run, tasks)
        server.kill()
        launched = time.time()
        startup = server.start(timeout=60)
        accepting = launched + startup
        done = wait_complete(client, run)
        times = reattached_times(server.log, launched)
        reattach = max(times) - accepting if times else float("nan")
        return startup, reattach, len(times), duration(done)
    finally:
        client.close()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50, help="tasks running at the kill")
    parser.add_argument("--sleep", type=float, default=20.0, help="seconds each task sleeps")
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(f"work: {args.tasks} tasks running at once, each sleeping {args.sleep:g} s")
    with tempfile.TemporaryDirectory(prefix="hostler-bench-") as tmp:
        root = pathlib.Path(tmp)
        plain = baseline(root, args.tasks, args.sleep)
        startup, reattach, count, total = restarted(root, args.tasks, args.sleep)
    verdict = "met" if reattach <= TARGET and count == args.tasks else "NOT met"
    print(f"restart until accepting requests:   {startup:6.2f} s")
    print(
        f"accepting until all re-attached:    {reattach:6.2f} s ({count}/{args.tasks} tasks)"
        f"   target: <= {TARGET:g} s ({verdict})"
    )
    print(f"run with SIGKILL + restart:         {total:6.2f} s")
    print(f"run without restart (baseline):     {plain:6.2f} s")
    print(f"ratio restarted/baseline:           {total / plain:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
