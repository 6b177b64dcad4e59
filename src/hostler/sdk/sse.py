"""Server-sent events (``text/event-stream``) parsed by hand, as the WHATWG rules define them.

A small parser of its own, because generic line splitters also split on characters such as
U+2028, which may stand unescaped inside a JSON log line.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any


@dataclasses.dataclass(frozen=True)
class Event:
    """One server-sent event: its type (``event``), its ``data`` text and its ``id``, if any."""

    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        """Return ``data`` decoded as JSON."""
        return json.loads(self.data)


_LINE_END = re.compile(r"\r\n|\r|\n")


def _lines(chunks: Iterable[str]) -> Iterator[str]:
    """Split text chunks into lines ending in CRLF, LF or CR, as the SSE format defines them.

    A CR at the end of a chunk is held back until the next one shows whether an LF follows. A last
    line without an end is yielded too (``parse_events`` still will not dispatch its event).
    """
    buffer = ""
    for chunk in chunks:
        buffer += chunk
        start = 0
        while match := _LINE_END.search(buffer, start):
            if match.group() == "\r" and match.end() == len(buffer):
                break
            yield buffer[start : match.start()]
            start = match.end()
        buffer = buffer[start:]
    if buffer:
        yield buffer.removesuffix("\r")


def parse_events(chunks: Iterable[str]) -> Iterator[Event]:
    """Parse a ``text/event-stream`` body, given as text chunks, into events.

    Follows the WHATWG rules: a blank line dispatches the event; ``:`` starts a comment (the
    server's keep-alives); ``data`` lines join with newlines; the last ``id`` seen carries over to
    later events; an event cut off before its blank line is never dispatched.
    """
    event = ""
    data: list[str] = []
    last_id: str | None = None
    first = True
    for line in _lines(chunks):
        if first:
            line, first = line.removeprefix("\ufeff"), False
        if not line:
            if data:
                yield Event(event or "message", "\n".join(data), last_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value
