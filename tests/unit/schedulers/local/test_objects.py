"""The local scheduler's objects directories: one per task, named by its env, gone with it.

What every backend promises is asserted in ``tests/contracts``; these are the local details.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostler.core import errors, objects, ports
from hostler.schedulers import local
from hostler.schedulers.local import records

HANG = 30.0


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[local.Scheduler]:
    """Yield a local scheduler over a private work directory."""
    built = local.Scheduler(local.Config(work_dir=tmp_path))
    yield built
    built.close()


def spec(*command: str) -> ports.ContainerSpec:
    """Return a spec of ``command`` with the env the engine gives every task."""
    return ports.ContainerSpec(
        name=f"test-{uuid.uuid4().hex[:8]}",
        image="busybox",
        command=command,
        env={ports.OBJECTS_ENV: objects.FILES_DIR},
        labels={},
    )


def file_of(path: str, content: bytes) -> ports.File:
    """Return a file of ``content`` to copy to ``path``."""
    return ports.File(path, len(content), lambda: io.BytesIO(content))


def test_files_go_to_the_tasks_own_directory_in_the_work_directory(
    scheduler: local.Scheduler, tmp_path: Path
) -> None:
    first = scheduler.create(spec("true"))
    second = scheduler.create(spec("true"))

    scheduler.copy_in(first, [file_of("run/a.txt", b"first")])
    scheduler.copy_in(second, [file_of("run/a.txt", b"second")])

    assert (tmp_path / "objects" / first / "run" / "a.txt").read_bytes() == b"first"
    assert (tmp_path / "objects" / second / "run" / "a.txt").read_bytes() == b"second"


def test_the_task_env_names_its_directory_instead_of_the_container_path(
    scheduler: local.Scheduler, tmp_path: Path
) -> None:
    handle = scheduler.create(spec("sh", "-c", 'echo "$HOSTLER_OBJECTS"'))

    scheduler.start(handle)
    scheduler.wait(handle, timeout=HANG)

    [line] = scheduler.logs(handle)
    assert line.text == str(records.objects_path(tmp_path, handle))


def test_no_directory_is_made_for_a_task_without_files(
    scheduler: local.Scheduler, tmp_path: Path
) -> None:
    handle = scheduler.create(spec("true"))

    scheduler.copy_in(handle, [])

    assert not records.objects_path(tmp_path, handle).exists()


def test_remove_deletes_the_tasks_directory(scheduler: local.Scheduler, tmp_path: Path) -> None:
    handle = scheduler.create(spec("true"))
    scheduler.copy_in(handle, [file_of("run/a.txt", b"a"), file_of("pipeline/b", b"b")])

    scheduler.remove(handle)

    assert not records.objects_path(tmp_path, handle).exists()


def test_a_path_with_dot_dot_writes_nothing_outside(
    scheduler: local.Scheduler, tmp_path: Path
) -> None:
    handle = scheduler.create(spec("true"))

    with pytest.raises(errors.InvalidArgument):
        scheduler.copy_in(handle, [file_of("run/../../../escaped", b"x")])

    assert not list(tmp_path.rglob("escaped"))


def test_another_scheduler_object_cannot_copy_into_a_task(
    scheduler: local.Scheduler, tmp_path: Path
) -> None:
    handle = scheduler.create(spec("true"))
    other = local.Scheduler(local.Config(work_dir=tmp_path))

    with pytest.raises(errors.FailedPrecondition, match="another scheduler object"):
        other.copy_in(handle, [file_of("run/a", b"a")])


def test_content_of_another_length_than_the_size_is_an_internal_error(
    scheduler: local.Scheduler,
) -> None:
    handle = scheduler.create(spec("true"))

    with pytest.raises(errors.Internal, match="'run/a': holds 4 bytes, not its size 9"):
        scheduler.copy_in(handle, [ports.File("run/a", 9, lambda: io.BytesIO(b"four"))])


def test_a_file_that_cannot_be_read_is_unavailable_and_named(scheduler: local.Scheduler) -> None:
    handle = scheduler.create(spec("true"))

    def broken() -> io.BytesIO:
        raise PermissionError(13, "Permission denied")

    with pytest.raises(errors.Unavailable, match="'run/a': cannot be copied"):
        scheduler.copy_in(handle, [ports.File("run/a", 1, broken)])
