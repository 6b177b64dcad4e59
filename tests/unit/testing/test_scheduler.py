"""The FakeScheduler's ``copy_in`` keeps the port's promises and shows tests what was copied.

The fake's other promises are asserted in ``tests/unit/test_testing.py``.
"""

from __future__ import annotations

import io
import uuid

import pytest

from hostler import testing
from hostler.core import errors, ports


def spec() -> ports.ContainerSpec:
    """Return a spec of a container with a unique name."""
    return ports.ContainerSpec(
        name=f"fake-{uuid.uuid4().hex[:8]}", image="busybox", command=("true",), env={}, labels={}
    )


def file_of(path: str, content: bytes) -> ports.File:
    """Return a file of ``content`` to copy to ``path``."""
    return ports.File(path, len(content), lambda: io.BytesIO(content))


def test_copied_gives_the_content_of_every_file_copied_in_by_path() -> None:
    fake = testing.FakeScheduler()
    handle = fake.create(spec())

    fake.copy_in(handle, [file_of("run/a.txt", b"alpha"), file_of("pipeline/b", b"\0\1")])

    assert fake.copied(handle) == {"run/a.txt": b"alpha", "pipeline/b": b"\0\1"}
    assert fake.inspect(handle).state is ports.ContainerState.CREATED


def test_a_second_copy_adds_files_and_replaces_those_of_the_same_path() -> None:
    fake = testing.FakeScheduler()
    handle = fake.create(spec())
    fake.copy_in(handle, [file_of("run/a", b"old"), file_of("run/b", b"b")])

    fake.copy_in(handle, [file_of("run/a", b"new")])

    assert fake.copied(handle) == {"run/a": b"new", "run/b": b"b"}


def test_copied_is_empty_for_a_container_without_files_and_kept_after_removal() -> None:
    fake = testing.FakeScheduler()
    bare = fake.create(spec())
    handle = fake.create(spec())
    fake.copy_in(handle, [file_of("run/a", b"a")])

    fake.remove(handle)

    assert fake.copied(bare) == {}
    assert fake.copied(handle) == {"run/a": b"a"}


def test_copy_in_is_recorded_as_a_call_with_its_paths() -> None:
    fake = testing.FakeScheduler()
    handle = fake.create(spec())

    fake.copy_in(handle, [file_of("run/a", b"a"), file_of("run/b", b"b")])
    fake.start(handle)

    assert [call.method for call in fake.calls] == ["create", "copy_in", "start"]
    assert fake.calls[1] == testing.Call("copy_in", handle, paths=("run/a", "run/b"))


def test_copy_in_into_an_unknown_or_removed_container_is_not_found() -> None:
    fake = testing.FakeScheduler()
    handle = fake.create(spec())
    fake.remove(handle)

    with pytest.raises(errors.NotFound):
        fake.copy_in("no-such-container", [])
    with pytest.raises(errors.NotFound):
        fake.copy_in(handle, [file_of("run/a", b"a")])
    with pytest.raises(errors.NotFound):
        fake.copied("no-such-container")


def test_copy_in_after_start_is_refused() -> None:
    fake = testing.FakeScheduler(testing.Behaviour(duration=testing.FOREVER))
    handle = fake.create(spec())
    fake.start(handle)

    with pytest.raises(errors.FailedPrecondition):
        fake.copy_in(handle, [file_of("run/a", b"a")])
    assert fake.copied(handle) == {}


def test_a_behaviour_can_make_copy_in_fail() -> None:
    failure = errors.Unavailable("engine gone")
    fake = testing.FakeScheduler(testing.Behaviour(fail_copy=failure))
    handle = fake.create(spec())

    with pytest.raises(errors.Unavailable, match="engine gone"):
        fake.copy_in(handle, [file_of("run/a", b"a")])
    assert fake.copied(handle) == {}


@pytest.mark.parametrize("path", ["../a", "/etc/a", "run//a", "run/", "", "./a", "run/../a"])
def test_a_path_the_real_backends_refuse_is_refused(path: str) -> None:
    fake = testing.FakeScheduler()
    handle = fake.create(spec())

    with pytest.raises(errors.InvalidArgument):
        fake.copy_in(handle, [file_of(path, b"a")])


def test_a_path_given_twice_keeps_the_last_content() -> None:
    fake = testing.FakeScheduler()
    handle = fake.create(spec())

    fake.copy_in(handle, [file_of("run/a", b"first"), file_of("run/a", b"last")])

    assert fake.copied(handle) == {"run/a": b"last"}


def test_a_file_where_another_needs_a_directory_is_refused() -> None:
    fake = testing.FakeScheduler()
    handle = fake.create(spec())

    with pytest.raises(errors.InvalidArgument):
        fake.copy_in(handle, [file_of("run", b"1"), file_of("run/a", b"2")])


def test_content_of_another_length_than_the_size_is_an_internal_error() -> None:
    fake = testing.FakeScheduler()
    handle = fake.create(spec())

    with pytest.raises(errors.Internal):
        fake.copy_in(handle, [ports.File("run/a", 9, lambda: io.BytesIO(b"four"))])
