"""How the HTTP client moves objects: content streamed in chunks, digests checked on the way.

An upload reads its source (a path or a binary file) chunk by chunk as httpx sends it, so an
object of any size costs one chunk of memory; when the source's size is known it is declared in
``Content-Length``, so that a server refuses an object over its limit before the body is sent. A
download writes each chunk as it arrives and hashes it on the way; ``Download.check`` then
compares the digest the server announced with the content received.

``client.Client`` uses these through its ``*_object`` methods; this module imports only the
standard library.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator, Mapping
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
"""Bytes an upload reads from its source at a time."""

DIGEST_HEADER = "X-Hostler-Digest"
"""The header of a download that holds the object's digest, ``sha256:<hex>`` (the ETag too)."""

Source = BinaryIO | str | os.PathLike[str]
"""What an upload reads: a path, or a binary file object read from its current position."""


class Mismatch(Exception):
    """The content received is not what the server announced; the message says how."""


def size_of(source: Source) -> int | None:
    """Return the bytes an upload of ``source`` will send, or None when that is unknown (a pipe,
    standard input)."""
    if isinstance(source, str | os.PathLike):
        return os.stat(source).st_size
    try:
        if not source.seekable():
            return None
        position = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(position)
    except (OSError, ValueError):
        return None
    return max(end - position, 0)


def chunks(source: Source, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield the content of ``source`` in chunks of at most ``size`` bytes.

    A path is opened when the first chunk is asked for and closed at the end; a file object is
    read from its current position and left open.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            yield from chunks(file, size)
        return
    while chunk := source.read(size):
        yield chunk


def announced(headers: Mapping[str, str]) -> str | None:
    """Return the digest a download's headers announce (``X-Hostler-Digest``, else the ETag),
    or None when they announce none."""
    digest = headers.get(DIGEST_HEADER)
    if digest:
        return digest.strip()
    etag = headers.get("ETag", "").strip()
    if etag.startswith("W/"):
        return None  # a weak ETag says nothing exact about the bytes
    etag = etag.strip('"')
    return etag if etag.startswith("sha256:") else None


class Download:
    """The content of one download, written to ``target`` and hashed as it arrives.

    ``expected`` is the digest the server announced; ``size`` and ``digest`` are those of what
    was received so far.
    """

    def __init__(self, target: BinaryIO, expected: str) -> None:
        self.expected = expected
        self.size = 0
        self._target = target
        self._hash = hashlib.sha256()

    @property
    def digest(self) -> str:
        """The digest of the content received so far, ``sha256:<hex>``."""
        return f"sha256:{self._hash.hexdigest()}"

    def write(self, chunk: bytes) -> None:
        """Hash ``chunk`` and write it to the target."""
        self._hash.update(chunk)
        self._target.write(chunk)
        self.size += len(chunk)

    def check(self) -> None:
        """Raise ``Mismatch`` unless the content received has the digest announced."""
        if self.digest != self.expected:
            raise Mismatch(
                f"received {self.size} bytes of digest {self.digest}, "
                f"but the server announced {self.expected}"
            )
