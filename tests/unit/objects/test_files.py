"""The file object store: content-addressed blobs, names as references, blobs gone with the last."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Iterator

import pytest

from hostler.core import errors, ports
from hostler.objects import files


@pytest.fixture
def store(tmp_path: pathlib.Path) -> files.Store:
    """An object store under a fresh directory."""
    return files.Store(tmp_path / "objects")


def blobs(tmp_path: pathlib.Path) -> list[pathlib.Path]:
    """Return the blob files stored."""
    return sorted((tmp_path / "objects" / "blobs").glob("sha256/*/*"))


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_store_implements_the_port(store: files.Store) -> None:
    port: ports.ObjectStore = store
    assert port is store


def test_put_streams_chunks_and_names_the_blob_by_its_content(
    store: files.Store, tmp_path: pathlib.Path
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"hello "
        yield b"world"

    info = store.put(chunks())

    assert info == ports.ObjectInfo(sha(b"hello world"), 11)
    [blob] = blobs(tmp_path)
    assert blob.read_bytes() == b"hello world"
    assert f"sha256:{blob.parent.name}{blob.name}" == info.digest


def test_the_same_content_is_stored_once(store: files.Store, tmp_path: pathlib.Path) -> None:
    first = store.put([b"same"])
    second = store.put([b"sa", b"me"])
    assert first == second
    assert len(blobs(tmp_path)) == 1
    assert list((tmp_path / "objects" / "incoming").iterdir()) == []


def test_a_named_blob_opens_by_its_name(store: files.Store) -> None:
    info = store.put([b"content"])
    store.link("logs/default/hello/1/fetch/1", info.digest)
    with store.open("logs/default/hello/1/fetch/1") as file:
        assert file.read() == b"content"
    assert store.exists("logs/default/hello/1/fetch/1")
    assert not store.exists("logs/default/hello/1/fetch/2")


def test_the_blob_goes_with_its_last_name(store: files.Store, tmp_path: pathlib.Path) -> None:
    info = store.put([b"shared"])
    store.link("a/1", info.digest)
    store.link("b/1", info.digest)

    store.unlink("a/1")
    assert len(blobs(tmp_path)) == 1
    with store.open("b/1") as file:
        assert file.read() == b"shared"

    store.unlink("b/1")
    assert blobs(tmp_path) == []
    store.unlink("b/1")  # idempotent


def test_linking_a_name_again_moves_it_and_frees_the_old_blob(
    store: files.Store, tmp_path: pathlib.Path
) -> None:
    old = store.put([b"old"])
    new = store.put([b"new"])
    store.link("x", old.digest)
    store.link("x", new.digest)
    with store.open("x") as file:
        assert file.read() == b"new"
    assert [b.read_bytes() for b in blobs(tmp_path)] == [b"new"]  # "old" lost its only name
    store.unlink("x")
    assert blobs(tmp_path) == []


def test_missing_names_and_blobs_are_not_found(store: files.Store) -> None:
    with pytest.raises(errors.NotFound, match="object name 'nope': not found"):
        store.open("nope")
    with pytest.raises(errors.NotFound, match="not found"):
        store.link("x", sha(b"never stored"))


@pytest.mark.parametrize("name", ["", "a//b", "../etc", "a/..", "/abs", "a\nb"])
def test_unsafe_names_are_refused(store: files.Store, name: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        store.open(name)
    assert caught.value.field == "name"


def test_a_bad_digest_is_refused(store: files.Store) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        store.link("x", "md5:abc")
    assert caught.value.field == "digest"


def test_a_failing_source_leaves_nothing_behind(store: files.Store, tmp_path: pathlib.Path) -> None:
    def broken() -> Iterator[bytes]:
        yield b"part"
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        store.put(broken())
    assert blobs(tmp_path) == []
    assert list((tmp_path / "objects" / "incoming").iterdir()) == []
