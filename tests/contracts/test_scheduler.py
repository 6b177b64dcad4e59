"""The scheduler conformance suite: the same promises, asserted the same way, for every backend.

Commands use only what exists both in busybox and on a host (``sh``, ``echo``, ``printf``,
``seq``, ``sleep``). Time bounds are generous "does not hang" limits, never measurements.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import random
import threading
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from hostler.core import errors, objects, ports

from .conftest import Backend

State = ports.ContainerState

HANG = 30.0
"""Seconds after which a call that should return is taken to hang."""


def collect(lines: Iterator[ports.LogLine], within: float = HANG) -> list[ports.LogLine]:
    """Return all of ``lines``, failing if the iterator does not end ``within`` seconds."""
    got: list[ports.LogLine] = []
    failure: list[BaseException] = []

    def drain() -> None:
        try:
            got.extend(lines)
        except BaseException as exc:  # handed over to the test's thread
            failure.append(exc)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"log iterator did not end within {within} s"
    if failure:
        raise failure[0]
    return got


def texts(lines: Iterable[ports.LogLine], stream: str = "stdout") -> list[str]:
    """Return the text of the lines of ``stream``, in order."""
    return [line.text for line in lines if line.stream == stream]


def finish(backend: Backend, *command: str) -> tuple[str, ports.ContainerStatus]:
    """Run ``command`` to its end; return its handle and final status."""
    handle = backend.run(*command)
    return handle, backend.scheduler.wait(handle, timeout=HANG)


def test_create_records_the_container_without_starting_it(backend: Backend) -> None:
    handle = backend.scheduler.create(backend.spec("echo", "hello"))

    status = backend.scheduler.inspect(handle)

    assert status.state is State.CREATED
    assert status.handle == handle
    assert status.started is None
    assert collect(backend.scheduler.logs(handle)) == []


def test_start_runs_the_container(backend: Backend) -> None:
    handle = backend.run("sleep", "30")

    status = backend.scheduler.inspect(handle)

    assert status.state is State.RUNNING
    assert status.started is not None


@pytest.mark.parametrize("code", [0, 3])
def test_wait_returns_the_exit_code(backend: Backend, code: int) -> None:
    _, status = finish(backend, "sh", "-c", f"exit {code}")

    assert status.state is State.EXITED
    assert status.exit_code == code
    assert status.finished is not None


def test_wait_with_a_timeout_returns_running_while_the_container_runs(backend: Backend) -> None:
    handle = backend.run("sleep", "30")
    began = time.monotonic()

    status = backend.scheduler.wait(handle, timeout=0.2)

    assert status.state is State.RUNNING
    assert time.monotonic() - began < HANG


def test_logs_after_exit_give_every_line_of_both_streams_in_order(backend: Backend) -> None:
    script = "echo one; echo two >&2; echo three; echo four >&2; echo; echo ' five  '"
    handle, _ = finish(backend, "sh", "-c", script)

    lines = collect(backend.scheduler.logs(handle))

    assert texts(lines, "stdout") == ["one", "three", "", " five  "]
    assert texts(lines, "stderr") == ["two", "four"]
    assert len(lines) == 6
    assert all(line.time.tzinfo is not None for line in lines)
    stdout_times = [line.time for line in lines if line.stream == "stdout"]
    assert stdout_times == sorted(stdout_times)


def test_logs_follow_yields_lines_printed_later_and_ends_after_exit(backend: Backend) -> None:
    handle = backend.run("sh", "-c", "echo first; sleep 1; echo second; sleep 0.5; echo third")

    lines = collect(backend.scheduler.logs(handle, follow=True))

    assert texts(lines) == ["first", "second", "third"]
    assert backend.scheduler.inspect(handle).state is State.EXITED


def test_logs_follow_from_before_start_gets_every_line(backend: Backend) -> None:
    handle = backend.scheduler.create(backend.spec("sh", "-c", "echo early; sleep 0.3; echo late"))
    got: list[ports.LogLine] = []
    reader = threading.Thread(
        target=lambda: got.extend(backend.scheduler.logs(handle, follow=True)), daemon=True
    )
    reader.start()
    time.sleep(0.3)  # the reader waits on a container that has not started

    backend.scheduler.start(handle)
    reader.join(HANG)

    assert not reader.is_alive()
    assert texts(got) == ["early", "late"]


def test_logs_follow_of_an_exited_container_ends(backend: Backend) -> None:
    handle, _ = finish(backend, "echo", "done")

    assert texts(collect(backend.scheduler.logs(handle, follow=True))) == ["done"]


def test_logs_since_leave_out_earlier_lines(backend: Backend) -> None:
    handle, _ = finish(backend, "sh", "-c", "echo early; sleep 0.5; echo late")
    late = collect(backend.scheduler.logs(handle))[-1]

    lines = collect(backend.scheduler.logs(handle, since=late.time))

    assert texts(lines) == ["late"]


def test_long_lines_and_a_last_line_without_newline_are_kept_whole(backend: Backend) -> None:
    long_line = "".join(str(n) for n in range(1, 20001))  # ~89 KB, above every 16/64 KiB buffer
    handle, _ = finish(backend, "sh", "-c", "seq -s '' 1 20000; echo short >&2; printf tail")

    lines = collect(backend.scheduler.logs(handle))

    assert len(long_line) > 64 * 1024
    assert texts(lines) == [long_line, "tail"]
    assert texts(lines, "stderr") == ["short"]


def test_env_reaches_the_process(backend: Backend) -> None:
    env = {"GREETING": "hello world", "EMPTY": ""}
    handle = backend.run("sh", "-c", 'echo "$GREETING"; echo "[${EMPTY-unset}]"', env=env)
    backend.scheduler.wait(handle, timeout=HANG)

    assert texts(collect(backend.scheduler.logs(handle))) == ["hello world", "[]"]


def test_labels_round_trip_and_list_filters_by_every_label(backend: Backend) -> None:
    first = backend.scheduler.create(backend.spec("true", labels={"io.hostler.role": "first"}))
    second = backend.scheduler.create(backend.spec("true", labels={"io.hostler.role": "second"}))

    inspected = backend.scheduler.inspect(first)
    both = backend.scheduler.list(backend.label)
    only_first = backend.scheduler.list({**backend.label, "io.hostler.role": "first"})
    none = backend.scheduler.list({**backend.label, "io.hostler.role": "third"})

    assert inspected.labels == {"io.hostler.role": "first", **backend.label}
    assert {s.handle for s in both} == {first, second}
    assert [s.handle for s in only_first] == [first]
    assert only_first[0].labels == inspected.labels
    assert none == []


def test_list_includes_exited_containers_with_their_exit_code(backend: Backend) -> None:
    handle, _ = finish(backend, "sh", "-c", "exit 5")

    [status] = backend.scheduler.list(backend.label)

    assert status.handle == handle
    assert status.state is State.EXITED
    assert status.exit_code == 5


def test_stop_kills_a_process_that_ignores_sigterm_after_the_grace(backend: Backend) -> None:
    handle = backend.run("sh", "-c", "trap '' TERM; echo ready; sleep 30")
    backend.wait_for_line(handle, "ready")
    began = time.monotonic()

    backend.scheduler.stop(handle, grace=1)
    status = backend.scheduler.wait(handle, timeout=HANG)

    assert time.monotonic() - began < 1 + 10
    assert status.state is State.EXITED
    assert status.exit_code == 128 + 9  # SIGKILL


def test_stop_ends_a_process_that_honours_sigterm_before_the_grace(backend: Backend) -> None:
    handle = backend.run("sh", "-c", "trap 'echo bye; exit 0' TERM; echo ready; sleep 30 & wait")
    backend.wait_for_line(handle, "ready")
    began = time.monotonic()

    backend.scheduler.stop(handle, grace=60)
    status = backend.scheduler.wait(handle, timeout=HANG)

    assert time.monotonic() - began < HANG  # far less than the grace
    assert status.state is State.EXITED
    assert status.exit_code == 0
    assert texts(collect(backend.scheduler.logs(handle))) == ["ready", "bye"]


def test_stop_and_remove_are_idempotent(backend: Backend) -> None:
    handle = backend.run("sleep", "30")

    backend.scheduler.stop(handle, grace=0)
    backend.scheduler.stop(handle, grace=0)
    backend.scheduler.remove(handle)
    backend.scheduler.remove(handle)
    backend.scheduler.stop(handle, grace=0)

    assert backend.scheduler.inspect(handle).state is State.MISSING


def test_stop_of_a_created_container_changes_nothing(backend: Backend) -> None:
    handle = backend.scheduler.create(backend.spec("true"))

    backend.scheduler.stop(handle, grace=0)

    assert backend.scheduler.inspect(handle).state is State.CREATED


def test_a_removed_container_is_missing_everywhere(backend: Backend) -> None:
    handle = backend.run("sleep", "30")

    backend.scheduler.remove(handle)

    assert backend.scheduler.inspect(handle).state is State.MISSING
    assert backend.scheduler.wait(handle, timeout=HANG).state is State.MISSING
    assert backend.scheduler.list(backend.label) == []
    with pytest.raises(errors.NotFound):
        backend.scheduler.start(handle)
    with pytest.raises(errors.NotFound):
        backend.scheduler.copy_in(handle, [])
    with pytest.raises(errors.NotFound):
        collect(backend.scheduler.logs(handle))


def test_an_unknown_handle_is_missing(backend: Backend) -> None:
    assert backend.scheduler.inspect("no-such-container").state is State.MISSING


def test_image_digest_is_recorded(backend: Backend) -> None:
    handle, status = finish(backend, "true")

    listed = backend.scheduler.list(backend.label)

    assert status.image_digest
    assert backend.scheduler.inspect(handle).image_digest == status.image_digest
    assert [s.image_digest for s in listed] == [status.image_digest]


def test_a_new_scheduler_object_lists_and_stops_what_an_earlier_one_started(
    backend: Backend,
) -> None:
    running = backend.run("sh", "-c", "echo ready; sleep 30")
    exited, _ = finish(backend, "sh", "-c", "exit 4")
    backend.wait_for_line(running, "ready")

    again = backend.reopen()
    listed = {status.handle: status for status in again.list(backend.label)}
    again.stop(running, grace=0)
    stopped = again.wait(running, timeout=HANG)

    assert listed.keys() == {running, exited}
    assert listed[running].state is State.RUNNING
    assert listed[exited].state is State.EXITED
    assert listed[exited].exit_code == 4
    assert stopped.state is State.EXITED
    assert texts(collect(again.logs(running, follow=True))) == ["ready"]


def test_capabilities_are_declared(backend: Backend) -> None:
    capabilities = backend.scheduler.capabilities

    assert capabilities.log_follow
    assert isinstance(backend.scheduler.name, str)
    assert backend.scheduler.name


# -- images and networks ------------------------------------------------------------------------

EXTENSION_LABEL = "dev.hostler.extension.name"


def test_images_lists_those_that_carry_a_label_with_their_labels(backend: Backend) -> None:
    [test_label] = backend.label
    reference = backend.image({EXTENSION_LABEL: "slack", "dev.hostler.extension.version": "1.3.0"})
    found = backend.scheduler.images(test_label)
    if reference is None:
        assert found == []  # a backend without images lists none
        return
    [image] = found
    assert image.reference == reference
    assert image.id.startswith("sha256:")
    assert image.labels[EXTENSION_LABEL] == "slack"
    assert image.labels["dev.hostler.extension.version"] == "1.3.0"
    assert reference in [i.reference for i in backend.scheduler.images(EXTENSION_LABEL)]
    assert backend.scheduler.images(f"{test_label}.absent") == []


def test_a_container_on_the_host_network_sees_the_hosts_interfaces(backend: Backend) -> None:
    spec = dataclasses.replace(
        backend.spec("sh", "-c", "ls /sys/class/net"), network=ports.HOST_NETWORK
    )
    handle = backend.scheduler.create(spec)
    backend.scheduler.start(handle)
    assert backend.scheduler.wait(handle, timeout=HANG).exit_code == 0
    seen = set(texts(collect(backend.scheduler.logs(handle))))
    # veth pairs of other containers come and go; the host's own interfaces stay
    hosts = {name for name in os.listdir("/sys/class/net") if not name.startswith("veth")}
    assert hosts <= seen


# -- copy_in: files below the objects directory ------------------------------------------------

OBJECTS = {ports.OBJECTS_ENV: objects.FILES_DIR}
"""The env the engine gives every task; a backend without containers overrides it."""


def file_of(path: str, content: bytes) -> ports.File:
    """Return a file of ``content`` to copy to ``path``."""
    return ports.File(path, len(content), lambda: io.BytesIO(content))


def file_on_disk(path: str, source: Path) -> ports.File:
    """Return a file to copy to ``path`` whose content is read from ``source``."""
    return ports.File(path, source.stat().st_size, lambda: source.open("rb"))


def write_random(target: Path, size: int) -> str:
    """Write ``size`` bytes of every value to ``target``, chunk by chunk; return their SHA-256."""
    digest = hashlib.sha256()
    generator = random.Random(size)
    with target.open("wb") as sink:
        left = size
        while left:
            chunk = generator.randbytes(min(left, 1 << 20))
            digest.update(chunk)
            sink.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def run_with_objects(backend: Backend, script: str, files: list[ports.File]) -> list[str]:
    """Create ``sh -c script`` with the engine's env, copy ``files`` in, run it; return stdout."""
    handle = backend.scheduler.create(backend.spec("sh", "-c", script, env=OBJECTS))
    backend.scheduler.copy_in(handle, files)
    backend.scheduler.start(handle)
    status = backend.scheduler.wait(handle, timeout=HANG)
    lines = collect(backend.scheduler.logs(handle))
    assert status.exit_code == 0, texts(lines, "stderr")
    return texts(lines)


def test_files_copied_in_before_start_are_read_by_the_task(backend: Backend) -> None:
    files = [file_of("run/a.txt", b"alpha\n"), file_of("pipeline/data.csv", b"x,y\n1,2")]

    out = run_with_objects(
        backend,
        'cat "$HOSTLER_OBJECTS/run/a.txt"; cat "$HOSTLER_OBJECTS/pipeline/data.csv"; echo',
        files,
    )

    assert out == ["alpha", "x,y", "1,2"]


def test_copy_in_leaves_the_container_created(backend: Backend) -> None:
    handle = backend.scheduler.create(backend.spec("true", env=OBJECTS))

    backend.scheduler.copy_in(handle, [file_of("run/a.txt", b"a")])

    assert backend.scheduler.inspect(handle).state is State.CREATED


def test_a_binary_file_of_a_few_mib_arrives_intact(backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "blob.bin"
    digest = write_random(source, 3 * (1 << 20) + 123)  # not a whole number of blocks or chunks

    out = run_with_objects(
        backend, 'sha256sum "$HOSTLER_OBJECTS/run/blob.bin"', [file_on_disk("run/blob.bin", source)]
    )

    assert out[0].split()[0] == digest


def test_copy_in_streams_content_instead_of_holding_it(backend: Backend, tmp_path: Path) -> None:
    size = 64 * (1 << 20)
    source = tmp_path / "big.bin"
    digest = write_random(source, size)
    handle = backend.scheduler.create(
        backend.spec("sh", "-c", 'sha256sum "$HOSTLER_OBJECTS/run/big.bin"', env=OBJECTS)
    )

    tracemalloc.start()
    try:
        backend.scheduler.copy_in(handle, [file_on_disk("run/big.bin", source)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    backend.scheduler.start(handle)
    backend.scheduler.wait(handle, timeout=HANG)

    assert peak < size // 4, f"copy_in held {peak} bytes at once for a file of {size}"
    assert texts(collect(backend.scheduler.logs(handle)))[0].split()[0] == digest


def test_copy_in_of_no_files_is_fine(backend: Backend) -> None:
    out = run_with_objects(backend, "echo ran", [])

    assert out == ["ran"]


def test_a_second_copy_in_adds_files_and_replaces_those_of_the_same_path(
    backend: Backend,
) -> None:
    handle = backend.scheduler.create(
        backend.spec("sh", "-c", 'cd "$HOSTLER_OBJECTS/run" && cat a b', env=OBJECTS)
    )
    backend.scheduler.copy_in(handle, [file_of("run/a", b"old\n"), file_of("run/b", b"b\n")])

    backend.scheduler.copy_in(handle, [file_of("run/a", b"new\n")])
    backend.scheduler.start(handle)
    backend.scheduler.wait(handle, timeout=HANG)

    assert texts(collect(backend.scheduler.logs(handle))) == ["new", "b"]


def test_copy_in_into_an_unknown_handle_is_not_found(backend: Backend) -> None:
    with pytest.raises(errors.NotFound):
        backend.scheduler.copy_in("no-such-container", [file_of("run/a.txt", b"a")])


def test_copy_in_after_start_is_refused(backend: Backend) -> None:
    handle = backend.run("sleep", "30")

    with pytest.raises(errors.FailedPrecondition):
        backend.scheduler.copy_in(handle, [file_of("run/a.txt", b"a")])


@pytest.mark.parametrize(
    "path", ["../a.txt", "run/../../a.txt", "/etc/a.txt", "run//a.txt", "run/", "", "./run/a"]
)
def test_copy_in_refuses_a_path_that_leaves_the_objects_directory(
    backend: Backend, path: str
) -> None:
    handle = backend.scheduler.create(backend.spec("true", env=OBJECTS))

    with pytest.raises(errors.InvalidArgument):
        backend.scheduler.copy_in(handle, [file_of(path, b"a")])


def test_a_path_given_twice_gets_the_last_content(backend: Backend) -> None:
    files = [file_of("run/a", b"first\n"), file_of("run/a", b"last\n")]

    out = run_with_objects(backend, 'cat "$HOSTLER_OBJECTS/run/a"', files)

    assert out == ["last"]


def test_copy_in_refuses_a_file_where_another_needs_a_directory(backend: Backend) -> None:
    handle = backend.scheduler.create(backend.spec("true", env=OBJECTS))

    with pytest.raises(errors.InvalidArgument):
        backend.scheduler.copy_in(handle, [file_of("run", b"1"), file_of("run/a", b"2")])
