"""Task executions per second through the engine on the ``local`` backend, against bare spawning.

The work is ``ceil(--tasks / --width)`` runs of one pipeline of ``--width`` independent tasks (no
``depends_on``), each ``command: ["true"]``: 10 runs x 50 tasks = 500 task executions by default.
Every run is
started at once, so the engine has all of them in hand and its dispatch (passes over the active
runs, queueing, claiming under ``max_running_tasks``, the executor's store writes, log collection,
removal) is what limits the rate, not the tasks themselves.

Hostler: a server wired by ``hostler.bootstrap.build`` with the ``local`` scheduler plug-in, SQLite
and the file log store in a temporary directory, ``max_running_tasks`` from ``--concurrency``
(default 16) and every other engine setting at its default; the API is not served. The figure is
the task count divided by the time from just before the first start request to the latest
``run.ended`` the engine records.

Baseline: as many ``true`` processes spawned with ``subprocess`` from a thread pool of the same
concurrency, with stdout and stderr piped and a new session as the local scheduler spawns them, so
the reader sees how much of the cost is process spawning itself.

One warm-up run of each comes first. The CPU time of this process (all threads) and of the task
processes is printed per task too: it tells a busy engine from one that waits.

``--profile FILE`` also writes a cProfile of every thread of the Hostler part, set-up and warm-up
included (open it with ``python -m pstats FILE``), and prints Hostler's functions by cumulative
time; profiling slows the engine down, so the rate it prints is not comparable.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import cProfile
import logging
import math
import os
import pathlib
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from hostler import bootstrap, config
from hostler.core import runs
from hostler.services import context, namespaces, pipelines
from hostler.services import runs as run_service

PIPELINE = "bench-dispatch"
TARGET_RATE = 200.0
"""Tasks per second the engine should reach on a 2-core machine."""
POLL_SECONDS = 0.02
"""How often the store is read while waiting for runs; the figure does not depend on it."""
SLOWEST_RATE = 5.0
"""Tasks per second below which the benchmark gives up waiting, taking the engine for stuck."""


def pipeline_config(width: int) -> dict[str, Any]:
    """Return a pipeline of ``width`` independent tasks that each run ``true``."""
    return {
        "id": PIPELINE,
        "description": f"{width} independent no-op tasks (bench/dispatch.py)",
        "tasks": [
            {"id": f"t{i:04d}", "image": "none:local", "command": ["true"]} for i in range(width)
        ],
    }


# -- Hostler ---------------------------------------------------------------------------------


class Hostler:
    """A server as ``hostler.bootstrap`` wires it on the local backend, engine running."""

    def __init__(self, data_dir: pathlib.Path, concurrency: int, width: int) -> None:
        settings = config.load(
            overrides={
                "data_dir": str(data_dir),
                "scheduler": {"backend": "local", "local": {"work_dir": str(data_dir / "local")}},
                "engine": {"max_running_tasks": concurrency},
            },
            environ={},
        )
        self.server = bootstrap.build(settings)
        self.width = width
        self.namespace = "bench-" + uuid.uuid4().hex[:8]
        self.server.engine.start()
        ctx = self.server.context
        namespaces.create(ctx, self.namespace)
        pipelines.up(ctx, self.namespace, pipeline_config(width))

    def run(self, count: int) -> float:
        """Start ``count`` runs at once; return seconds from the first request to the last end."""
        ctx = self.server.context
        requested = context.utcnow()
        started = [run_service.start(ctx, self.namespace, PIPELINE) for _ in range(count)]
        deadline = time.monotonic() + 30 + count * self.width / SLOWEST_RATE
        finished = [wait_complete(ctx, run, deadline) for run in started]
        for run in finished:
            if run.status is not runs.Status.SUCCESSFUL:
                raise SystemExit(f"hostler run {run.ref} did not succeed: {run}")
        last = max(run.ended for run in finished if run.ended is not None)
        return (last - requested).total_seconds()

    def close(self) -> None:
        """Stop the engine and release the adapters."""
        self.server.close()


def wait_complete(ctx: context.Context, run: runs.Run, deadline: float) -> runs.Run:
    """Return ``run`` once the store says it is complete; give up at ``deadline`` (monotonic)."""
    while time.monotonic() < deadline:
        current = ctx.store.get_run(run.namespace, run.pipeline, run.id)
        if current.state is runs.State.COMPLETE:
            return current
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"hostler run {run.ref} did not complete in time: is the engine stuck?")


# -- baseline --------------------------------------------------------------------------------


def spawn_true() -> None:
    """Spawn ``true`` the way the local scheduler spawns a task, and wait for it."""
    subprocess.run(
        ["true"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        start_new_session=True,
        check=True,
    )


def spawn_all(count: int, concurrency: int) -> float:
    """Spawn ``count`` processes, ``concurrency`` at once; return the seconds it took."""
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(spawn_true) for _ in range(count)]:
            future.result()
    return time.perf_counter() - started


def cpu_seconds() -> tuple[float, float]:
    """Return the CPU seconds used so far by this process and by its ended children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def measure(work: Callable[[], float]) -> tuple[float, float, float]:
    """Return the seconds ``work`` reports and the CPU seconds of this process and children."""
    own, children = cpu_seconds()
    seconds = work()
    own_after, children_after = cpu_seconds()
    return seconds, own_after - own, children_after - children


# -- profiling -------------------------------------------------------------------------------


class AllThreads:
    """cProfile over the calling thread and every thread started while it is active."""

    def __init__(self) -> None:
        self._profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _begin(self, frame: FrameType, event: str, arg: object) -> None:
        # Called once at a new thread's first event: hand the thread to a profiler of its own.
        sys.setprofile(None)
        profile = cProfile.Profile()
        with self._lock:
            self._profiles.append(profile)
        profile.enable()

    def __enter__(self) -> AllThreads:
        threading.setprofile(self._begin)
        main = cProfile.Profile()
        self._profiles.append(main)
        main.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        self._profiles[0].disable()
        threading.setprofile(None)

    def stats(self) -> pstats.Stats:
        """Return the merged statistics of every profiled thread."""
        with self._lock:
            profiles = list(self._profiles)
        return pstats.Stats(*profiles)


# -- the report ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(
        prog="bench/dispatch.py",
        description=(
            "Task executions per second through the Hostler engine on the local backend (no-op "
            "tasks), against spawning the same processes directly at the same concurrency."
        ),
    )
    parser.add_argument("--tasks", type=int, default=500, help="task executions in all")
    parser.add_argument("--width", type=int, default=50, help="independent tasks per run")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="engine max_running_tasks and pool size"
    )
    parser.add_argument(
        "--profile", type=pathlib.Path, help="write a cProfile of the Hostler part to this file"
    )
    args = parser.parse_args(argv)
    for name in ("tasks", "width", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; return the exit code (0 whatever they are)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    count = math.ceil(args.tasks / args.width)
    total = count * args.width
    print(f"host: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"work: {count} runs x {args.width} independent 'true' tasks = {total} tasks, "
        f"concurrency {args.concurrency}"
    )
    profiler = AllThreads() if args.profile is not None else None
    with tempfile.TemporaryDirectory(prefix="hostler-bench-") as tmp:
        # The engine's threads start with the server and its first tasks, so a profile has to
        # begin before them; it includes the set-up and the warm-up run.
        with profiler or contextlib.nullcontext():
            hostler = Hostler(pathlib.Path(tmp), args.concurrency, args.width)
            try:
                hostler.run(1)
                hostler_seconds, hostler_cpu, hostler_children = measure(lambda: hostler.run(count))
            finally:
                hostler.close()
        spawn_all(args.width, args.concurrency)
        direct_seconds, direct_cpu, direct_children = measure(
            lambda: spawn_all(total, args.concurrency)
        )
    hostler_rate = total / hostler_seconds
    direct_rate = total / direct_seconds
    verdict = "met" if hostler_rate >= TARGET_RATE else "NOT met"
    print(
        f"hostler: {hostler_rate:8.1f} tasks/s ({hostler_seconds:.2f} s)"
        f"   target: >= {TARGET_RATE:.0f} tasks/s on a 2-core machine ({verdict})"
    )
    print(f"direct:  {direct_rate:8.1f} tasks/s ({direct_seconds:.2f} s)")
    print(f"ratio hostler/direct: {hostler_rate / direct_rate:.3f}")
    print(
        "CPU per task, this process / the task processes: "
        f"hostler {1000 * hostler_cpu / total:.2f} / {1000 * hostler_children / total:.2f} ms, "
        f"direct {1000 * direct_cpu / total:.2f} / {1000 * direct_children / total:.2f} ms"
    )
    if profiler is not None and args.profile is not None:
        stats = profiler.stats()
        stats.dump_stats(args.profile)
        print(f"\nprofile of every thread written to {args.profile}")
        # Across threads, time is wall time: a function's cumulative time includes its waits
        # (for the database's write lock, a process, a queue), which is where a rate goes.
        print("Hostler's functions by cumulative time, summed over threads:")
        stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(r"/hostler/", 30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
