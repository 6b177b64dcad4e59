"""Docker log streams: the multiplexed frames of the logs endpoint, cut into timestamped lines.

Without a TTY the engine sends each log message as one frame: an 8-byte header (stream type, three
zero bytes, big-endian payload length) and the payload ``<RFC 3339 time> <text>``. The engine cuts
lines longer than 16 KiB into several messages, each with its own time prefix and only the last
with a newline, and the final line of a task may have no newline at all; ``Lines`` puts such pieces
back together per stream.
"""

from __future__ import annotations

import datetime
import struct
from collections.abc import Iterator
from typing import Protocol

from hostler.core import ports
from hostler.schedulers.docker import translate

_HEADER = struct.Struct(">BxxxL")
_STREAMS = {1: "stdout", 2: "stderr"}
_MAX_TIME_LENGTH = 40  # "2024-01-01T00:00:00.000000000+00:00" and some room


class Readable(Protocol):
    """A byte source such as ``urllib3.HTTPResponse``: ``read(n)`` returns at most n bytes."""

    def read(self, amt: int) -> bytes:
        """Return up to ``amt`` bytes; an empty result means the end of the stream."""
        ...


def frames(source: Readable) -> Iterator[tuple[str, bytes]]:
    """Yield ``(stream, payload)`` for each frame of a multiplexed stream until it ends."""
    while True:
        header = _read_exactly(source, _HEADER.size)
        if len(header) < _HEADER.size:
            return
        kind, size = _HEADER.unpack(header)
        payload = _read_exactly(source, size)
        if len(payload) < size:
            return  # the connection ended mid-frame: what was cut off is not a whole message
        if payload:
            yield _STREAMS.get(kind, "stdout"), payload


def _read_exactly(source: Readable, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


class Lines:
    """Cuts the payloads of log frames into ``LogLine`` objects, one stream apart from the other.

    Each payload starts with a timestamp (and so does each message after a newline, should an
    engine put several into one frame). A line gets the time of its first piece.
    """

    def __init__(self) -> None:
        self._partial: dict[str, tuple[datetime.datetime, bytearray]] = {}

    def feed(self, stream: str, payload: bytes) -> list[ports.LogLine]:
        """Take one frame's payload; return the lines it completes, in order."""
        done: list[ports.LogLine] = []
        position = 0
        while position < len(payload):
            time, position = _timestamp(payload, position)
            end = payload.find(b"\n", position)
            piece = payload[position:] if end < 0 else payload[position:end]
            started = self._partial.pop(stream, None)
            if started is None:
                started = (time or _now(), bytearray())
            started[1].extend(piece)
            if end < 0:
                self._partial[stream] = started
                break
            done.append(_line(stream, *started))
            position = end + 1
        return done

    def flush(self) -> list[ports.LogLine]:
        """Return the unfinished lines (output that ended without a newline), oldest first."""
        rest = [_line(stream, *started) for stream, started in self._partial.items()]
        self._partial.clear()
        return sorted(rest, key=lambda line: line.time)


def _timestamp(payload: bytes, position: int) -> tuple[datetime.datetime | None, int]:
    space = payload.find(b" ", position, position + _MAX_TIME_LENGTH)
    if space < 0:
        return None, position
    time = translate.parse_time(payload[position:space])
    if time is None:
        return None, position
    return time, space + 1


def _line(stream: str, time: datetime.datetime, text: bytearray) -> ports.LogLine:
    return ports.LogLine(time=time, stream=stream, text=text.decode("utf-8", errors="replace"))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
