"""The file log store: ``ports.LogStore`` as one JSON-lines file per log under a root directory.

A key such as ``default/hello/3/fetch/1`` becomes ``ROOT/default/hello/3/fetch/1.jsonl``. Each
line of the file is one log line, ``{"t": "<ISO 8601>", "s": "<stream>", "m": "<text>"}``; the
last line of an ended log is the marker ``{"end": true}``. Appends write whole lines in one
``write`` and close the file, so a reader in another thread sees every complete line at once.

Given an object store, a log that ends moves there: its file becomes a content-addressed blob
named ``logs/<key>`` and the file goes. The name is given before the file is removed, so a reader
always finds the log in one place or the other.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import pathlib
import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from hostler.core import errors, ports

SUFFIX = ".jsonl"
"""The file name ending of every log file."""

END = b'{"end": true}\n'
"""The end-of-log marker, exactly as written: the last line of an ended log."""

_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_LOCKS = 64
_SCAN = 64 * 1024
_HINT = "check the log directory: it must exist, be writable and have free space"


class Store:
    """Task logs kept as files under ``root``; implements ``hostler.core.ports.LogStore``.

    Safe to share between threads: appends to one key are serialised by a lock, appends to
    different keys proceed in parallel. It does not guard against two processes writing the
    same key; one server process owns a log directory.
    """

    def __init__(self, root: str | pathlib.Path, objects: ports.ObjectStore | None = None) -> None:
        self._root = pathlib.Path(root)
        self._objects = objects
        # A fixed set of locks, picked by key, so that memory does not grow with every log.
        self._locks = [threading.Lock() for _ in range(_LOCKS)]

    def _lock(self, key: str) -> threading.Lock:
        return self._locks[zlib.crc32(key.encode()) % _LOCKS]

    def path(self, key: str) -> pathlib.Path:
        """Return the file of log ``key``; InvalidArgument for a key that is not a safe path."""
        parts = key.split("/")
        if not key or any(not _PART.fullmatch(part) for part in parts):
            raise errors.InvalidArgument(
                f"log '{key}': not a valid log key",
                field="key",
                hint="use names of letters, digits, '_', '-' or '.' separated by '/', "
                "none of them empty, '.' or '..'",
            )
        return self._root.joinpath(*parts[:-1], parts[-1] + SUFFIX)

    def append(self, key: str, lines: Sequence[ports.LogLine]) -> None:
        """Add ``lines`` at the end of the log ``key``, creating it if needed.

        Raises FailedPrecondition when the log has ended.
        """
        path = self.path(key)
        data = b"".join(_encode(line) for line in lines)
        with self._lock(key), _translate(key):
            if self._archived(key, path):
                raise _ended_error(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab+") as file:
                _drop_torn_line(file)
                if _ended(file):
                    raise _ended_error(key)
                file.write(data)

    def end(self, key: str) -> None:
        """Write the end-of-log marker, creating an empty log if needed; idempotent."""
        path = self.path(key)
        with self._lock(key), _translate(key):
            if self._archived(key, path):
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab+") as file:
                _drop_torn_line(file)
                if not _ended(file):
                    file.write(END)
            if self._objects is not None:
                with path.open("rb") as file:
                    info = self._objects.put(iter(lambda: file.read(_SCAN), b""))
                self._objects.link(_name(key), info.digest)
                path.unlink()

    def read(self, key: str, offset: int = 0, limit: int | None = None) -> ports.LogChunk:
        """Return up to ``limit`` lines from line ``offset`` on.

        ``ended`` is True only when the chunk reaches the end-of-log marker, so a reader that
        follows a log can stop once it sees it. Raises NotFound for a log never written.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise errors.InvalidArgument(
                f"log '{key}': offset and limit must not be negative", field="offset"
            )
        path = self.path(key)
        lines: list[ports.LogLine] = []
        ended = False
        with _translate(key):
            try:
                file = self._open(key, path)
            except FileNotFoundError:
                raise errors.NotFound(
                    f"log '{key}': not found",
                    field="key",
                    hint="the task may not have started yet, or its log was deleted",
                ) from None
            with file:
                for index, raw in enumerate(_complete_lines(file)):
                    if raw == END:
                        ended = True
                        break
                    if index < offset:
                        continue
                    if limit is not None and len(lines) >= limit:
                        break
                    lines.append(_decode(raw))
        next_offset = offset + len(lines)
        return ports.LogChunk(lines=lines, next_offset=next_offset, ended=ended)

    def delete(self, key: str) -> None:
        """Delete the log ``key``; idempotent."""
        path = self.path(key)
        with self._lock(key), _translate(key):
            path.unlink(missing_ok=True)
            if self._objects is not None:
                self._objects.unlink(_name(key))

    def _open(self, key: str, path: pathlib.Path) -> BinaryIO:
        """Open the log's file, or its blob once it moved to the object store."""
        try:
            return path.open("rb")
        except FileNotFoundError:
            if self._objects is None:
                raise
        try:
            return self._objects.open(_name(key))
        except errors.NotFound:
            raise FileNotFoundError(key) from None

    def _archived(self, key: str, path: pathlib.Path) -> bool:
        """Tell whether the log ended and moved to the object store."""
        return self._objects is not None and not path.exists() and self._objects.exists(_name(key))


def _name(key: str) -> str:
    """Return the object name of the ended log ``key``."""
    return "logs/" + key


def _ended_error(key: str) -> errors.FailedPrecondition:
    return errors.FailedPrecondition(
        f"log '{key}': has ended, nothing can be added",
        hint="write a task's output before ending its log",
    )


def _encode(line: ports.LogLine) -> bytes:
    time = line.time
    if time.tzinfo is None:
        time = time.replace(tzinfo=datetime.UTC)
    record = {"t": time.astimezone(datetime.UTC).isoformat(), "s": line.stream, "m": line.text}
    try:
        return (json.dumps(record, ensure_ascii=False) + "\n").encode()
    except UnicodeEncodeError:  # lone surrogates: keep them as JSON escapes
        return (json.dumps(record) + "\n").encode()


def _decode(raw: bytes) -> ports.LogLine:
    record = json.loads(raw)
    return ports.LogLine(
        time=datetime.datetime.fromisoformat(record["t"]), stream=record["s"], text=record["m"]
    )


def _complete_lines(file: BinaryIO) -> Iterator[bytes]:
    """Yield the file's lines one at a time, leaving out a last line still being written."""
    for raw in file:
        if not raw.endswith(b"\n"):
            return
        yield raw


def _drop_torn_line(file: BinaryIO) -> None:
    """Cut off a last line left half-written by a crash, so that the next line starts clean."""
    size = file.seek(0, 2)
    end = size
    while end > 0:
        start = max(0, end - _SCAN)
        file.seek(start)
        newline = file.read(end - start).rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end < size:
        file.truncate(end)


def _ended(file: BinaryIO) -> bool:
    """Tell whether the file (opened for append and read) ends with the end-of-log marker."""
    size = file.seek(0, 2)
    if size < len(END):
        return False
    file.seek(size - len(END))
    return file.read() == END


@contextlib.contextmanager
def _translate(key: str) -> Iterator[None]:
    """Turn OS errors into Unavailable, naming the log; Hostler errors pass through."""
    try:
        yield
    except OSError as exc:
        raise errors.Unavailable(f"log '{key}': {exc.strerror or exc}", hint=_HINT) from exc
