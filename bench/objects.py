"""Memory and throughput of a large object's upload and download through a real server.

A file of ``--size-mb`` MiB (default 200) of random bytes is written in a temporary directory.
A real server (``hostler service start --dev`` in a child process, its data in the same temporary
directory, so on the same disk) gets a pipeline; the SDK's client uploads the file as a pipeline
object (``put_object``, streamed from the file), then downloads it to another file on the same
disk (``get_object``, which checks the digest as it streams).

For each transfer the script prints the wall time, the throughput, and how much the peak resident
memory (RSS) of the server process, and of this client process, grew above what it was before the
transfer. The peak is the kernel's own high-water mark, ``VmHWM`` of ``/proc/PID/status``, reset
to the current RSS just before each transfer by writing ``5`` to ``/proc/PID/clear_refs`` (Linux
4.0 and later); where that is refused, the script falls back to sampling ``VmRSS`` every
millisecond and says so. The object is never held whole on either side, so the growth should be a
few MiB whatever the size.

Baseline, measured in the same run: the same file copied with ``shutil.copyfileobj`` to another
file in the same directory, then ``fsync``-ed, as the server does with what it stores (the
download's copy is not fsync-ed: ``get_object`` leaves that to its caller). The source file's
cached pages are dropped before the upload and before the baseline, so both read it from disk.

Target: peak RSS growth of the server below 64 MiB in each transfer, whatever the object's size.
The script prints the figures next to the target and never fails on them. Linux only.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import pathlib
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hostler.sdk import client as sdk
from hostler.testing.process import ServerProcess

MIB = 1024 * 1024
TARGET_GROWTH = 64 * MIB
"""The most the server's peak RSS may grow during one transfer: a few chunks in flight."""
WRITE_CHUNK = 4 * MIB
SAMPLE_SECONDS = 0.001
PIPELINE = "bench-objects"
PIPELINE_CONFIG = {
    "id": PIPELINE,
    "tasks": [{"id": "noop", "image": "busybox:stable", "command": ["true"]}],
}
"""A pipeline for the object to belong to; it never runs."""
KEY = "blob.bin"

T = TypeVar("T")


def status_kib(pid: int, field: str) -> int:
    """Return a ``kB`` field (``VmRSS``, ``VmHWM``) of ``/proc/PID/status``, in bytes."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS; False when the kernel refuses."""
    try:
        pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return status_kib(pid, "VmHWM") <= status_kib(pid, "VmRSS") + 64 * 1024


def server_pid(data_dir: pathlib.Path) -> int:
    """Return the pid of the server serving ``data_dir``: the process whose command line
    names it (``hostler service start --data-dir DIR``)."""
    wanted = str(data_dir).encode()
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--data-dir" in arguments and wanted in arguments and b"service" in arguments:
            return int(entry.name)
    raise RuntimeError(f"no server process for {data_dir} found in /proc")


@dataclasses.dataclass
class Peak:
    """How one process's memory went during one transfer."""

    before: int
    peak: int
    method: str

    @property
    def growth(self) -> int:
        """Bytes the peak RSS rose above the RSS before the transfer."""
        return max(self.peak - self.before, 0)


class Watch:
    """Measures the peak RSS of some processes while a piece of work runs."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)

    def run(self, work: Callable[[], T]) -> tuple[T, float, list[Peak]]:
        """Run ``work``; return its result, its wall time and each process's ``Peak``."""
        befores = [status_kib(pid, "VmRSS") for pid in self.pids]
        exact = [reset_peak(pid) for pid in self.pids]
        sampled = list(befores)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                for index, pid in enumerate(self.pids):
                    if not exact[index]:
                        sampled[index] = max(sampled[index], status_kib(pid, "VmRSS"))
                time.sleep(SAMPLE_SECONDS)

        # The sampler competes with the client for the GIL: it runs only when a reset failed.
        sampler = None if all(exact) else threading.Thread(target=sample, daemon=True)
        if sampler is not None:
            sampler.start()
        began = time.perf_counter()
        try:
            result = work()
            seconds = time.perf_counter() - began
        finally:
            done.set()
            if sampler is not None:
                sampler.join()
        peaks = []
        for index, pid in enumerate(self.pids):
            if exact[index]:
                peaks.append(Peak(befores[index], status_kib(pid, "VmHWM"), "VmHWM"))
            else:
                peaks.append(Peak(befores[index], sampled[index], "sampled VmRSS"))
        return result, seconds, peaks


def write_random(path: pathlib.Path, size: int) -> str:
    """Write ``size`` random bytes to ``path``; return their digest."""
    digest = hashlib.sha256()
    with path.open("wb") as file:
        left = size
        while left:
            chunk = os.urandom(min(WRITE_CHUNK, left))
            digest.update(chunk)
            file.write(chunk)
            left -= len(chunk)
        file.flush()
        os.fsync(file.fileno())
    return f"sha256:{digest.hexdigest()}"


def copy_with_fsync(source: pathlib.Path, target: pathlib.Path) -> None:
    """The baseline: copy ``source`` with ``shutil.copyfileobj`` and fsync the copy."""
    with source.open("rb") as reading, target.open("wb") as writing:
        shutil.copyfileobj(reading, writing, WRITE_CHUNK)
        writing.flush()
        os.fsync(writing.fileno())


def drop_cache(path: pathlib.Path) -> None:
    """Ask the kernel to forget the cached pages of ``path``, so that each reading of it starts
    alike; a hint, not a promise."""
    with path.open("rb") as file:
        os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def mib(size: float) -> str:
    return f"{size / MIB:.1f} MiB"


def filesystem(path: pathlib.Path) -> str:
    """Return the type of the file system ``path`` is on (``ext4``, ``tmpfs``...)."""
    best, kind = "", "?"
    for line in pathlib.Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        mount = fields[1]
        inside = str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, fields[2]
    return kind


def describe_host(root: pathlib.Path) -> str:
    """Return one line about the machine and the disk the figures come from."""
    usage = shutil.disk_usage(root)
    return (
        f"host: {os.cpu_count()} CPUs, Linux {platform.release()}, Python "
        f"{platform.python_version()}; files in {root} ({filesystem(root)}, "
        f"{mib(usage.free)} free)"
    )


HEADER = (
    f"{'transfer':<9} {'seconds':>8} {'MiB/s':>8}   "
    f"{'server peak RSS growth':>22}   {'client peak RSS growth':>22}"
)


def row(name: str, size: int, seconds: float, server: Peak, client: Peak) -> str:
    """Return the report's line of one transfer."""
    return (
        f"{name:<9} {seconds:>8.2f} {size / MIB / seconds:>8.1f}   "
        f"{'+' + mib(server.growth):>22}   {'+' + mib(client.growth):>22}"
    )


def measure(root: pathlib.Path, size: int) -> list[str]:
    """Run the transfers and the baseline under ``root``; return the report's lines."""
    source = root / "source.bin"
    expected = write_random(source, size)
    data_dir = root / "data"
    server = ServerProcess(
        data_dir,
        {"OBJECTS__MAX_PIPELINE_OBJECT_BYTES": str(max(size, 1024**3)), "LOGGING__FORMAT": "json"},
    )
    server.start(timeout=60)
    report = [f"object: {mib(size)} ({size} bytes) of random bytes, {expected}"]
    try:
        pid = server_pid(data_dir)
        watch = Watch([pid, os.getpid()])
        with sdk.Client(server.url, "", timeout=300) as api:
            api.up_pipeline("default", PIPELINE_CONFIG)
            report.append(
                f"RSS before the upload: server {mib(status_kib(pid, 'VmRSS'))} (pid {pid}), "
                f"client {mib(status_kib(os.getpid(), 'VmRSS'))}"
            )
            drop_cache(source)
            stored, up_seconds, (up_server, up_client) = watch.run(
                lambda: api.put_object("default", PIPELINE, KEY, source)
            )
            if stored["digest"] != expected or stored["size"] != size:
                raise SystemExit(f"the server stored something else: {stored}")
            copy = root / "downloaded.bin"

            def download() -> dict[str, Any]:
                with copy.open("wb") as target:
                    return api.get_object("default", PIPELINE, KEY, target)

            got, down_seconds, (down_server, down_client) = watch.run(download)
            if got["digest"] != expected:
                raise SystemExit(f"the download is something else: {got}")
            api.delete_object("default", PIPELINE, KEY)
        copy.unlink()
    finally:
        server.stop()
    drop_cache(source)
    began = time.perf_counter()
    copy_with_fsync(source, root / "baseline.bin")
    base_seconds = time.perf_counter() - began
    worst = max(up_server.growth, down_server.growth)
    verdict = "met" if worst < TARGET_GROWTH else "NOT met"
    report += [
        f"peak RSS by: {up_server.method} (server), {up_client.method} (client), above the RSS "
        "just before each transfer",
        "",
        HEADER,
        row("upload", size, up_seconds, up_server, up_client),
        row("download", size, down_seconds, down_server, down_client),
        f"{'baseline':<9} {base_seconds:>8.2f} {size / MIB / base_seconds:>8.1f}   "
        "shutil.copyfileobj of the same file on the same disk, then fsync",
        "",
        f"throughput against the baseline: upload {base_seconds / up_seconds:.2f}, "
        f"download {base_seconds / down_seconds:.2f}",
        f"target: server peak RSS growth < {mib(TARGET_GROWTH)} in each transfer "
        f"(worst {mib(worst)}: {verdict})",
    ]
    return report


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(
        prog="bench/objects.py",
        description="Peak memory of the server and throughput while a large object is uploaded "
        "and downloaded through the SDK, against a plain file copy on the same disk.",
    )
    parser.add_argument(
        "--size-mb", type=int, default=200, help="size of the object in MiB (default 200)"
    )
    parser.add_argument(
        "--dir",
        type=pathlib.Path,
        default=None,
        help="directory on the disk to measure, for the files and the server's data "
        "(default: the system's temporary directory)",
    )
    args = parser.parse_args(argv)
    if args.size_mb < 1:
        parser.error("--size-mb must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; return the exit code (0 whatever they are)."""
    args = parse_args(argv)
    if not pathlib.Path("/proc/self/status").exists():
        print("bench/objects.py reads /proc: it runs on Linux only", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="hostler-bench-", dir=args.dir) as tmp:
        root = pathlib.Path(tmp)
        print(describe_host(root), flush=True)
        for line in measure(root, args.size_mb * MIB):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
