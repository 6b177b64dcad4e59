"""The file log store: JSON lines per key, the end marker, offsets, threads and bad keys."""

from __future__ import annotations

import datetime
import json
import pathlib
import threading

import pytest

from hostler.core import errors, ports
from hostler.logs import files

KEY = "default/hello/3/fetch/1"
T0 = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


def line(n: int, stream: str = "stdout", text: str | None = None) -> ports.LogLine:
    """Return log line number ``n`` (its time is ``n`` seconds after T0)."""
    return ports.LogLine(T0 + datetime.timedelta(seconds=n), stream, text or f"line {n}")


@pytest.fixture
def store(tmp_path: pathlib.Path) -> files.Store:
    """Return a log store under a fresh directory."""
    return files.Store(tmp_path / "logs")


def test_store_implements_the_port(store: files.Store) -> None:
    port: ports.LogStore = store
    assert port is store


def test_appended_lines_read_back_in_order(store: files.Store) -> None:
    store.append(KEY, [line(0), line(1, "stderr")])
    store.append(KEY, [line(2, text='quotes " and\nnewline and ünïcode')])
    chunk = store.read(KEY)
    assert chunk == ports.LogChunk([line(0), line(1, "stderr"), chunk.lines[2]], 3, False)
    assert chunk.lines[2] == line(2, text='quotes " and\nnewline and ünïcode')


def test_each_line_is_one_json_object_and_the_end_marker_is_last(
    store: files.Store, tmp_path: pathlib.Path
) -> None:
    store.append(KEY, [line(0)])
    store.end(KEY)
    raw = (tmp_path / "logs" / "default" / "hello" / "3" / "fetch" / "1.jsonl").read_text()
    assert [json.loads(text) for text in raw.splitlines()] == [
        {"t": "2025-03-01T12:00:00+00:00", "s": "stdout", "m": "line 0"},
        {"end": True},
    ]


def test_read_from_an_offset_with_a_limit(store: files.Store) -> None:
    store.append(KEY, [line(n) for n in range(10)])
    store.end(KEY)
    first = store.read(KEY, 0, 4)
    second = store.read(KEY, first.next_offset, 4)
    third = store.read(KEY, second.next_offset, 4)
    assert [[ln.text for ln in c.lines] for c in (first, second, third)] == [
        ["line 0", "line 1", "line 2", "line 3"],
        ["line 4", "line 5", "line 6", "line 7"],
        ["line 8", "line 9"],
    ]
    assert [(c.next_offset, c.ended) for c in (first, second, third)] == [
        (4, False),
        (8, False),
        (10, True),
    ]
    assert store.read(KEY, 10) == ports.LogChunk([], 10, True)


def test_ended_is_true_when_the_chunk_reaches_the_marker_exactly(store: files.Store) -> None:
    store.append(KEY, [line(0), line(1)])
    store.end(KEY)
    assert store.read(KEY, 0, 2).ended


def test_append_after_end_is_a_failed_precondition(store: files.Store) -> None:
    store.append(KEY, [line(0)])
    store.end(KEY)
    with pytest.raises(errors.FailedPrecondition, match=r"^log 'default/hello/3/fetch/1': has"):
        store.append(KEY, [line(1)])
    assert store.read(KEY).lines == [line(0)]


def test_end_is_idempotent_and_creates_an_empty_log(store: files.Store) -> None:
    store.end(KEY)
    store.end(KEY)
    assert store.read(KEY) == ports.LogChunk([], 0, True)


def test_reading_a_log_never_written_is_not_found(store: files.Store) -> None:
    with pytest.raises(errors.NotFound, match=r"^log 'default/x/1/a/1': not found$"):
        store.read("default/x/1/a/1")


def test_delete_is_idempotent(store: files.Store) -> None:
    store.append(KEY, [line(0)])
    store.delete(KEY)
    store.delete(KEY)
    with pytest.raises(errors.NotFound):
        store.read(KEY)


@pytest.mark.parametrize(
    "key", ["", "a//b", "a/../b", "../a", "a/..", "/a", "a/", ".", "a/./b", "a\\b", "a/b\x00"]
)
def test_unsafe_keys_are_invalid(store: files.Store, key: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        store.append(key, [line(0)])
    assert caught.value.field == "key"


def test_a_key_and_a_longer_key_under_it_are_separate_logs(store: files.Store) -> None:
    store.append("a/b", [line(0)])
    store.append("a/b/c", [line(1)])
    assert store.read("a/b").lines == [line(0)]
    assert store.read("a/b/c").lines == [line(1)]


def test_a_half_written_last_line_is_not_read(store: files.Store, tmp_path: pathlib.Path) -> None:
    store.append(KEY, [line(0)])
    with store.path(KEY).open("ab") as file:
        file.write(b'{"t": "2025-03-01T12:00:01+00:00", "s": "std')
    assert store.read(KEY) == ports.LogChunk([line(0)], 1, False)


def test_threads_appending_to_many_keys_lose_nothing(store: files.Store) -> None:
    keys = [f"default/hello/1/task-{n}/1" for n in range(8)]

    def write(key: str) -> None:
        for n in range(200):
            store.append(key, [line(n)])

    threads = [threading.Thread(target=write, args=(key,)) for key in keys for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for key in keys:
        store.end(key)
        chunk = store.read(key)
        assert len(chunk.lines) == 400
        assert chunk.ended


def test_a_reader_in_another_thread_sees_each_append_at_once(store: files.Store) -> None:
    seen: list[int] = []
    appended = threading.Event()
    read = threading.Event()

    def reader() -> None:
        for _ in range(50):
            appended.wait(10)
            appended.clear()
            seen.append(len(store.read(KEY).lines))
            read.set()

    thread = threading.Thread(target=reader)
    thread.start()
    for n in range(50):
        store.append(KEY, [line(n)])
        appended.set()
        assert read.wait(10)
        read.clear()
    thread.join(10)
    assert seen == list(range(1, 51))
