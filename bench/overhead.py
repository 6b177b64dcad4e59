"""Wall time of one pipeline run through Hostler against the same containers run directly.

The pipeline has 20 tasks in 8 levels, fanning out to 4 and back in to 1 three times and ending
fanned out::

    s0 ─┬─ a1 ─┬─ j1 ─┬─ b1 ─┬─ j2 ─┬─ c1 ─┬─ j3 ─┬─ d1
        ├─ a2 ─┤      ├─ b2 ─┤      ├─ c2 ─┤      ├─ d2
        ├─ a3 ─┤      ├─ b3 ─┤      ├─ c3 ─┤      ├─ d3
        └─ a4 ─┘      └─ b4 ─┘      └─ c4 ─┘      └─ d4

Each task runs ``busybox:stable`` with ``sh -c 'echo $HOSTLER_TASK'`` and waits for the success of
the tasks before it.

(a) Hostler: a server wired by ``hostler.bootstrap.build`` (SQLite in a temporary directory, file
log store, the ``docker`` scheduler plug-in, containers removed, ``max_running_tasks=4``, every
other engine setting at its default), its engine started, the API not served. The figure is the
time from just before the start request (``services.runs.start``) to the moment the engine records
the run complete (``run.ended``, on the engine's own clock).

(b) Direct: the same containers through the Docker SDK's low-level client (``docker.from_env()``),
at most 4 at once in a thread pool that follows the same dependency order; each task is create,
start, wait, read logs, remove.

After one warm-up of each, a and b alternate for ``--rounds`` rounds; the script prints each
round, the medians and the median ratio next to the target ``ratio <= 1.10``. It never fails on the
figures: they are for people to read.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from typing import Any

import docker

from hostler import bootstrap, config
from hostler.core import ports, runs
from hostler.services import context, namespaces, pipelines
from hostler.services import runs as run_service

IMAGE = "busybox:stable"
WIDTH = 4
"""Tasks running at once: the engine's ``max_running_tasks`` and the direct pool's size."""
TARGET_RATIO = 1.10
PIPELINE = "bench-overhead"
POLL_SECONDS = 0.02
"""How often the store is read while waiting for a run; the figure does not depend on it."""
RUN_TIMEOUT_SECONDS = 300.0
BENCH_LABEL = "io.hostler-bench.direct"
"""Label on the containers of the direct baseline, so they can be found and removed."""


def dag() -> dict[str, list[str]]:
    """Return the benchmark's DAG: each task id with the ids it depends on, in a valid order."""
    graph: dict[str, list[str]] = {"s0": []}
    join = "s0"
    for level, prefix in enumerate("abcd", start=1):
        fan = [f"{prefix}{i}" for i in range(1, WIDTH + 1)]
        for task in fan:
            graph[task] = [join]
        if prefix != "d":
            join = f"j{level}"
            graph[join] = fan
    return graph


def command() -> list[str]:
    """Return the command every task runs."""
    return ["sh", "-c", "echo $HOSTLER_TASK"]


def pipeline_config() -> dict[str, Any]:
    """Return the pipeline as a user would register it."""
    return {
        "id": PIPELINE,
        "description": "20-task fan-out/fan-in of width 4 (bench/overhead.py)",
        "tasks": [
            {
                "id": task,
                "image": IMAGE,
                "command": command(),
                "depends_on": dict.fromkeys(deps, "success"),
            }
            for task, deps in dag().items()
        ],
    }


# -- (a) through Hostler ---------------------------------------------------------------------


class Hostler:
    """A server as ``hostler.bootstrap`` wires it, with the engine running and one pipeline."""

    def __init__(self, data_dir: pathlib.Path) -> None:
        settings = config.load(
            overrides={
                "data_dir": str(data_dir),
                "scheduler": {"backend": "docker"},
                "engine": {"max_running_tasks": WIDTH},
            },
            environ={},
        )
        self.server = bootstrap.build(settings)
        self.namespace = "bench-" + uuid.uuid4().hex[:8]
        self.server.engine.start()
        ctx = self.server.context
        namespaces.create(ctx, self.namespace)
        pipelines.up(ctx, self.namespace, pipeline_config())

    def run_once(self) -> float:
        """Run the pipeline once; return seconds from the start request to the run's end."""
        ctx = self.server.context
        requested = context.utcnow()
        run = run_service.start(ctx, self.namespace, PIPELINE)
        done = wait_complete(ctx, run)
        if done.status is not runs.Status.SUCCESSFUL or done.ended is None:
            raise SystemExit(f"hostler run {done.ref} did not succeed: {done}")
        return (done.ended - requested).total_seconds()

    def close(self) -> None:
        """Stop the engine, remove what is left of the task containers, release the adapters."""
        self.server.engine.stop()
        scheduler = self.server.scheduler
        try:
            for status in scheduler.list({ports.LABEL_PREFIX + "namespace": self.namespace}):
                scheduler.remove(status.handle)
        finally:
            self.server.close()


def wait_complete(ctx: context.Context, run: runs.Run) -> runs.Run:
    """Return ``run`` once the store says it is complete."""
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        current = ctx.store.get_run(run.namespace, run.pipeline, run.id)
        if current.state is runs.State.COMPLETE:
            return current
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"hostler run {run.ref} did not complete in {RUN_TIMEOUT_SECONDS:g}s")


# -- (b) directly through the Docker SDK -----------------------------------------------------


class Direct:
    """The same DAG driven straight through the Docker SDK, ``WIDTH`` containers at most."""

    def __init__(self) -> None:
        self.client = docker.from_env()
        self.token = uuid.uuid4().hex[:8]
        self.graph = dag()
        self.rounds = 0

    def run_once(self) -> float:
        """Run every task of the DAG once in dependency order; return the seconds it took."""
        self.rounds += 1
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=WIDTH) as pool:
            done: set[str] = set()
            waiting = dict(self.graph)
            running: dict[concurrent.futures.Future[None], str] = {}
            while waiting or running:
                for task in [t for t, deps in waiting.items() if done.issuperset(deps)]:
                    del waiting[task]
                    running[pool.submit(self._task, task)] = task
                finished, _ = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in finished:
                    future.result()
                    done.add(running.pop(future))
        return time.perf_counter() - started

    def _task(self, task: str) -> None:
        api = self.client.api
        created = api.create_container(
            IMAGE,
            command=command(),
            name=f"hostler-bench-direct-{self.token}-{self.rounds}-{task}",
            environment={
                "HOSTLER_NAMESPACE": "bench",
                "HOSTLER_PIPELINE": PIPELINE,
                "HOSTLER_RUN": str(self.rounds),
                "HOSTLER_TASK": task,
            },
            labels={BENCH_LABEL: self.token},
        )
        handle = created["Id"]
        try:
            api.start(handle)
            code = api.wait(handle)["StatusCode"]
            output = api.logs(handle, stdout=True, stderr=True, timestamps=True)
        finally:
            api.remove_container(handle, force=True)
        if code != 0 or task.encode() not in output:
            raise SystemExit(f"direct task {task}: exit code {code}, output {output!r}")

    def close(self) -> None:
        """Remove any container this baseline left behind and close the client."""
        try:
            found = self.client.api.containers(
                all=True, filters={"label": f"{BENCH_LABEL}={self.token}"}
            )
            for container in found:
                self.client.api.remove_container(container["Id"], force=True)
        finally:
            self.client.close()


# -- the report ------------------------------------------------------------------------------


def describe_host(client: docker.DockerClient) -> str:
    """Return one line about the machine the figures come from."""
    engine = client.version().get("Version", "?")
    return (
        f"host: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"Docker engine {engine}, image {IMAGE}"
    )


def report(hostler: Sequence[float], direct: Sequence[float]) -> str:
    """Return the table of rounds, medians and the median ratio against the target."""
    ratios = [h / d for h, d in zip(hostler, direct, strict=True)]
    lines = [f"{'round':>6}  {'hostler s':>10}  {'direct s':>10}  {'ratio':>6}"]
    for number, (h, d, r) in enumerate(zip(hostler, direct, ratios, strict=True), start=1):
        lines.append(f"{number:>6}  {h:>10.3f}  {d:>10.3f}  {r:>6.3f}")
    median_ratio = statistics.median(ratios)
    verdict = "met" if median_ratio <= TARGET_RATIO else "NOT met"
    lines.append(
        f"{'median':>6}  {statistics.median(hostler):>10.3f}  {statistics.median(direct):>10.3f}"
        f"  {median_ratio:>6.3f}   target: ratio <= {TARGET_RATIO:.2f} ({verdict})"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(
        prog="bench/overhead.py",
        description=(
            "Wall time of a 20-task fan-out/fan-in pipeline (width 4) run by Hostler on Docker, "
            "against the same containers driven directly through the Docker SDK."
        ),
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="measured rounds of each, after one warm-up"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; return the exit code (0 whatever they are)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="hostler-bench-") as tmp:
        direct = Direct()
        try:
            hostler = Hostler(pathlib.Path(tmp))
            try:
                print(describe_host(direct.client))
                print(f"dag: {len(dag())} tasks, width {WIDTH}; engine max_running_tasks={WIDTH}")
                warm = (hostler.run_once(), direct.run_once())
                print(f"warm-up: hostler {warm[0]:.3f} s, direct {warm[1]:.3f} s", flush=True)
                hostler_times: list[float] = []
                direct_times: list[float] = []
                for _ in range(args.rounds):
                    hostler_times.append(hostler.run_once())
                    direct_times.append(direct.run_once())
                print(report(hostler_times, direct_times))
            finally:
                hostler.close()
        finally:
            direct.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
