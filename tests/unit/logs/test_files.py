"""Every LogStore: the end marker, offsets, threads and bad keys; JSON lines for the file store.

``store`` runs each test against the file store (id ``files``) and against
``hostler.testing.MemoryLogStore`` (id ``memory``), so the fake is held to the real store's
promises. Tests of the file format use ``file_store``, the file store alone.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import threading

import pytest

from hostler import testing
from hostler.core import errors, ports
from hostler.logs import files
from hostler.objects import files as objects_files

KEY = "default/hello/3/fetch/1"
T0 = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


def line(n: int, stream: str = "stdout", text: str | None = None) -> ports.LogLine:
    """Return log line number ``n`` (its time is ``n`` seconds after T0)."""
    return ports.LogLine(T0 + datetime.timedelta(seconds=n), stream, text or f"line {n}")


@pytest.fixture
def file_store(tmp_path: pathlib.Path) -> files.Store:
    """Return a file log store under a fresh directory."""
    return files.Store(tmp_path / "logs")


@pytest.fixture(params=["files", "files+objects", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> ports.LogStore:
    """Return an empty log store of each kind: files alone, files moving ended logs into the
    object store, and the in-memory fake."""
    if request.param == "files":
        result: ports.LogStore = request.getfixturevalue("file_store")
        return result
    if request.param == "files+objects":
        return files.Store(tmp_path / "logs", objects_files.Store(tmp_path / "objects"))
    return testing.MemoryLogStore()


def test_store_implements_the_port(store: ports.LogStore) -> None:
    port: ports.LogStore = store
    assert port is store


def test_appended_lines_read_back_in_order(store: ports.LogStore) -> None:
    store.append(KEY, [line(0), line(1, "stderr")])
    store.append(KEY, [line(2, text='quotes " and\nnewline and ünïcode')])
    chunk = store.read(KEY)
    assert chunk == ports.LogChunk([line(0), line(1, "stderr"), chunk.lines[2]], 3, False)
    assert chunk.lines[2] == line(2, text='quotes " and\nnewline and ünïcode')


def test_each_line_is_one_json_object_and_the_end_marker_is_last(
    file_store: files.Store, tmp_path: pathlib.Path
) -> None:
    file_store.append(KEY, [line(0)])
    file_store.end(KEY)
    raw = (tmp_path / "logs" / "default" / "hello" / "3" / "fetch" / "1.jsonl").read_text()
    assert [json.loads(text) for text in raw.splitlines()] == [
        {"t": "2025-03-01T12:00:00+00:00", "s": "stdout", "m": "line 0"},
        {"end": True},
    ]


def test_read_from_an_offset_with_a_limit(store: ports.LogStore) -> None:
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


def test_ended_is_true_when_the_chunk_reaches_the_marker_exactly(store: ports.LogStore) -> None:
    store.append(KEY, [line(0), line(1)])
    store.end(KEY)
    assert store.read(KEY, 0, 2).ended


def test_append_after_end_is_a_failed_precondition(store: ports.LogStore) -> None:
    store.append(KEY, [line(0)])
    store.end(KEY)
    with pytest.raises(errors.FailedPrecondition, match=r"^log 'default/hello/3/fetch/1': has"):
        store.append(KEY, [line(1)])
    assert store.read(KEY).lines == [line(0)]


def test_end_is_idempotent_and_creates_an_empty_log(store: ports.LogStore) -> None:
    store.end(KEY)
    store.end(KEY)
    assert store.read(KEY) == ports.LogChunk([], 0, True)


def test_reading_a_log_never_written_is_not_found(store: ports.LogStore) -> None:
    with pytest.raises(errors.NotFound, match=r"^log 'default/x/1/a/1': not found$"):
        store.read("default/x/1/a/1")


def test_delete_is_idempotent(store: ports.LogStore) -> None:
    store.append(KEY, [line(0)])
    store.delete(KEY)
    store.delete(KEY)
    with pytest.raises(errors.NotFound):
        store.read(KEY)


@pytest.mark.parametrize(
    "key", ["", "a//b", "a/../b", "../a", "a/..", "/a", "a/", ".", "a/./b", "a\\b", "a/b\x00"]
)
def test_unsafe_keys_are_invalid(store: ports.LogStore, key: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        store.append(key, [line(0)])
    assert caught.value.field == "key"


def test_a_key_that_ends_in_a_newline_is_invalid(store: ports.LogStore) -> None:
    # '$' in a regular expression also matches before a last '\n': the part must match whole.
    with pytest.raises(errors.InvalidArgument) as caught:
        store.append("default/hello/3/fetch/1\n", [line(0)])
    assert caught.value.field == "key"


@pytest.mark.parametrize("key", ["", "a//b", "../a", "a/./b"])
def test_every_method_checks_the_key(store: ports.LogStore, key: str) -> None:
    for call in (store.end, store.read, store.delete):
        with pytest.raises(errors.InvalidArgument, match=r"not a valid log key$"):
            call(key)


def test_negative_offset_or_limit_is_invalid(store: ports.LogStore) -> None:
    store.append(KEY, [line(0)])
    with pytest.raises(errors.InvalidArgument, match=r"must not be negative$") as caught:
        store.read(KEY, -1)
    assert caught.value.field == "offset"
    with pytest.raises(errors.InvalidArgument, match=r"must not be negative$"):
        store.read("not a key", 0, -1)


def test_appending_no_lines_creates_an_empty_log(store: ports.LogStore) -> None:
    store.append(KEY, [])
    assert store.read(KEY) == ports.LogChunk([], 0, False)
    store.end(KEY)
    with pytest.raises(errors.FailedPrecondition):
        store.append(KEY, [])


def test_a_limit_of_zero_and_an_offset_past_the_end(store: ports.LogStore) -> None:
    store.append(KEY, [line(0), line(1)])
    assert store.read(KEY, 0, 0) == ports.LogChunk([], 0, False)
    assert store.read(KEY, 5) == ports.LogChunk([], 5, False)
    store.end(KEY)
    assert store.read(KEY, 2, 0) == ports.LogChunk([], 2, True)
    assert store.read(KEY, 5, 3) == ports.LogChunk([], 5, True)
    assert store.read(KEY, 1, 1) == ports.LogChunk([line(1)], 2, True)


def test_times_read_back_in_utc_a_naive_time_taken_as_utc(store: ports.LogStore) -> None:
    cet = datetime.timezone(datetime.timedelta(hours=1))
    naive = T0.replace(tzinfo=None)
    store.append(KEY, [ports.LogLine(T0.astimezone(cet), "stdout", "a")])
    store.append(KEY, [ports.LogLine(naive, "stdout", "b")])
    times = [ln.time for ln in store.read(KEY).lines]
    assert times == [T0, T0]
    assert [t.tzinfo for t in times] == [datetime.UTC, datetime.UTC]


def test_any_text_reads_back_unchanged(store: ports.LogStore) -> None:
    texts = ["", " spaced ", "tab\tand\r", "\u2028 line separator", "lone \ud800 surrogate"]
    store.append(KEY, [ports.LogLine(T0, "stdout", text) for text in texts])
    assert [ln.text for ln in store.read(KEY).lines] == texts


def test_a_deleted_log_can_be_written_again(store: ports.LogStore) -> None:
    store.append(KEY, [line(0)])
    store.end(KEY)
    store.delete(KEY)
    store.append(KEY, [line(1)])
    assert store.read(KEY) == ports.LogChunk([line(1)], 1, False)


def test_a_key_and_a_longer_key_under_it_are_separate_logs(store: ports.LogStore) -> None:
    store.append("a/b", [line(0)])
    store.append("a/b/c", [line(1)])
    assert store.read("a/b").lines == [line(0)]
    assert store.read("a/b/c").lines == [line(1)]


def test_a_half_written_last_line_is_not_read(file_store: files.Store) -> None:
    file_store.append(KEY, [line(0)])
    with file_store.path(KEY).open("ab") as file:
        file.write(b'{"t": "2025-03-01T12:00:01+00:00", "s": "std')
    assert file_store.read(KEY) == ports.LogChunk([line(0)], 1, False)


@pytest.mark.parametrize("torn", [b'{"t": "2025-03-01T12:00:01+00:00", "s": "std', b"x" * 200_000])
def test_a_line_torn_by_a_crash_is_dropped_before_the_next_append(
    file_store: files.Store, torn: bytes
) -> None:
    file_store.append(KEY, [line(0)])
    with file_store.path(KEY).open("ab") as file:
        file.write(torn)
    file_store.append(KEY, [line(1)])
    file_store.end(KEY)
    assert file_store.read(KEY) == ports.LogChunk([line(0), line(1)], 2, True)


def test_a_log_holding_only_a_torn_line_starts_over(file_store: files.Store) -> None:
    file_store.path(KEY).parent.mkdir(parents=True)
    file_store.path(KEY).write_bytes(b'{"t": "2025')
    file_store.end(KEY)
    assert file_store.read(KEY) == ports.LogChunk([], 0, True)


def test_threads_appending_to_many_keys_lose_nothing(store: ports.LogStore) -> None:
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


def test_a_reader_in_another_thread_sees_each_append_at_once(store: ports.LogStore) -> None:
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


def test_an_ended_log_moves_into_the_object_store_and_reads_the_same(
    tmp_path: pathlib.Path,
) -> None:
    objects = objects_files.Store(tmp_path / "objects")
    store = files.Store(tmp_path / "logs", objects)
    store.append(KEY, [line(0), line(1)])
    before = store.read(KEY)

    store.end(KEY)

    assert not store.path(KEY).exists()
    assert objects.exists("logs/" + KEY)
    assert store.read(KEY) == ports.LogChunk(before.lines, 2, True)
    assert store.read(KEY, 1, 1) == ports.LogChunk([line(1)], 2, True)
    with pytest.raises(errors.FailedPrecondition, match="has ended"):
        store.append(KEY, [line(2)])
    store.end(KEY)  # still idempotent
    assert store.read(KEY).lines == before.lines


def test_identical_logs_are_stored_once_and_deleting_one_keeps_the_other(
    tmp_path: pathlib.Path,
) -> None:
    objects = objects_files.Store(tmp_path / "objects")
    store = files.Store(tmp_path / "logs", objects)
    other = "default/hello/4/fetch/1"
    for key in (KEY, other):
        store.append(key, [line(0)])
        store.end(key)

    assert len(list((tmp_path / "objects" / "blobs").glob("sha256/*/*"))) == 1
    store.delete(KEY)
    with pytest.raises(errors.NotFound):
        store.read(KEY)
    assert store.read(other).lines == [line(0)]
    store.delete(other)
    assert list((tmp_path / "objects" / "blobs").glob("sha256/*/*")) == []
