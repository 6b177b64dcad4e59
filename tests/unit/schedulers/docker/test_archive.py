"""The tar stream that carries files into a Docker container, read back with ``tarfile``."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable

import pytest

from hostler.core import errors, ports
from hostler.schedulers.docker import archive

MTIME = 1_700_000_000


def file_of(path: str, content: bytes, opened: list[str] | None = None) -> ports.File:
    """Return a file of ``content``; ``opened`` records the path each time it is opened."""

    def open_() -> io.BytesIO:
        if opened is not None:
            opened.append(path)
        return io.BytesIO(content)

    return ports.File(path, len(content), open_)


def read_back(chunks: Iterable[bytes]) -> dict[str, tuple[tarfile.TarInfo, bytes | None]]:
    """Return every member of the tar archive ``chunks`` make, by name, with its content."""
    members: dict[str, tuple[tarfile.TarInfo, bytes | None]] = {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:") as tar:
        for member in tar:
            extracted = tar.extractfile(member)
            members[member.name] = (member, extracted.read() if extracted else None)
    return members


def test_stream_holds_the_directories_first_then_the_files_with_their_content() -> None:
    files = [file_of("run/report.txt", b"all good\n"), file_of("pipeline/data.csv", b"x,y\n")]

    members = read_back(archive.stream(files, mtime=MTIME))

    assert list(members) == [
        "hostler",
        "hostler/objects",
        "hostler/objects/run",
        "hostler/objects/pipeline",
        "hostler/objects/run/report.txt",
        "hostler/objects/pipeline/data.csv",
    ]
    assert members["hostler/objects/run/report.txt"][1] == b"all good\n"
    assert members["hostler/objects/pipeline/data.csv"][1] == b"x,y\n"


def test_directories_are_0755_and_files_0644_owned_by_root_and_dated() -> None:
    members = read_back(archive.stream([file_of("run/a", b"a")], mtime=MTIME))

    directories = [info for info, _ in members.values() if info.isdir()]
    [regular] = [info for info, _ in members.values() if info.isfile()]
    assert len(directories) == 3
    assert {info.mode for info in directories} == {0o755}
    assert regular.mode == 0o644
    assert {(info.uid, info.gid, info.mtime) for info, _ in members.values()} == {(0, 0, MTIME)}


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, archive.CHUNK, 2 * archive.CHUNK + 7])
def test_content_of_any_size_reads_back_whole(size: int) -> None:
    content = bytes(range(256)) * (size // 256) + bytes(range(size % 256))

    chunks = list(archive.stream([file_of("run/blob", content)]))

    assert read_back(chunks)["hostler/objects/run/blob"][1] == content
    assert sum(len(chunk) for chunk in chunks) % tarfile.BLOCKSIZE == 0
    assert b"".join(chunks).endswith(b"\0" * 2 * tarfile.BLOCKSIZE)


def test_content_comes_in_chunks_of_at_most_a_mib() -> None:
    content = b"z" * (3 * archive.CHUNK + 1)

    chunks = list(archive.stream([file_of("run/blob", content)]))

    assert max(len(chunk) for chunk in chunks) == archive.CHUNK


def test_each_file_is_opened_only_when_its_turn_comes() -> None:
    opened: list[str] = []
    files = [file_of("run/a", b"a", opened), file_of("run/b", b"b", opened)]
    chunks = archive.stream(files)

    assert opened == []
    while opened != ["run/a"]:
        next(chunks)
    list(chunks)
    assert opened == ["run/a", "run/b"]


def test_a_key_too_long_for_ustar_is_kept_whole() -> None:
    key = "k" * 128

    members = read_back(archive.stream([file_of(f"run/{key}", b"long")]))

    assert members[f"hostler/objects/run/{key}"][1] == b"long"


def test_no_files_make_an_empty_archive() -> None:
    assert read_back(archive.stream([])) == {}


@pytest.mark.parametrize(
    "path", ["../a", "run/../../a", "/etc/passwd", "run//a", "run/", "", "./run/a", "run/a\0b"]
)
def test_a_path_that_leaves_the_objects_directory_is_refused(path: str) -> None:
    with pytest.raises(errors.InvalidArgument, match="not a path below the objects directory"):
        list(archive.stream([file_of(path, b"a")]))


def test_a_path_given_twice_reads_back_with_the_last_content() -> None:
    files = [file_of("run/a", b"first"), file_of("run/a", b"last")]

    with tarfile.open(fileobj=io.BytesIO(b"".join(archive.stream(files))), mode="r:") as tar:
        extracted = tar.extractfile("hostler/objects/run/a")
        assert extracted is not None
        assert extracted.read() == b"last"


def test_a_path_given_as_a_file_and_as_a_directory_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument, match="'run': given as a file and as a directory"):
        ports.check_files([file_of("run/a", b"1"), file_of("run", b"2")])


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument, match="negative size"):
        ports.check_files([ports.File("run/a", -1, io.BytesIO)])


@pytest.mark.parametrize(("size", "how"), [(5, "fewer"), (3, "more")])
def test_content_of_another_length_than_the_size_is_an_internal_error(size: int, how: str) -> None:
    wrong = ports.File("run/a", size, lambda: io.BytesIO(b"four"))

    with pytest.raises(errors.Internal, match=f"'run/a': holds {how} bytes"):
        list(archive.stream([wrong]))


def test_a_file_that_cannot_be_read_is_unavailable_and_named() -> None:
    def broken() -> io.BytesIO:
        raise PermissionError(13, "Permission denied")

    with pytest.raises(errors.Unavailable, match="'run/a': cannot be read"):
        list(archive.stream([ports.File("run/a", 1, broken)]))
