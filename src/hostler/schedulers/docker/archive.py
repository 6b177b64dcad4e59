"""Tar streams for the engine's archive endpoint: files copied into a container, made on the fly.

``stream`` yields a tar archive header by header and chunk by chunk, so that a file of any size
crosses into the container without being held in memory: ``APIClient.put_archive`` hands the
generator to requests, which sends it with chunked transfer encoding. The archive is extracted at
``/``, so it starts with the directories the files need (``hostler/``, ``hostler/objects/``, ...),
because the image may have none of them.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from tarfile import BLOCKSIZE, DIRTYPE, PAX_FORMAT, REGTYPE, TarInfo

from hostler.core import errors, ports

ROOT = "hostler/objects"
"""The objects directory of a container (``/hostler/objects``), relative to ``/``."""

CHUNK = 1 << 20
"""The most content read (and sent) at once: 1 MiB."""

_DIR_MODE = 0o755
_FILE_MODE = 0o644
_END = b"\0" * (2 * BLOCKSIZE)
"""Two zero blocks end a tar archive."""


def stream(files: Sequence[ports.File], mtime: float | None = None) -> Generator[bytes, None, None]:
    """Yield a tar archive of ``files`` below ``hostler/objects/``, its directories first.

    Directories get mode 0755 and files 0644, owned by root; ``mtime`` (now if None) dates them.
    Each file is opened only when its turn comes and read in chunks of at most ``CHUNK`` bytes.
    A file that cannot be read raises Unavailable, one whose content is not ``size`` bytes long
    raises Internal, each naming the file: the archive is then incomplete and must be dropped.
    """
    ports.check_files(files)
    when = int(time.time() if mtime is None else mtime)
    for directory in _directories(files):
        yield _header(f"{directory}/", DIRTYPE, _DIR_MODE, 0, when)
    for file in files:
        yield _header(f"{ROOT}/{file.path}", REGTYPE, _FILE_MODE, file.size, when)
        yield from _content(file)
        padding = -file.size % BLOCKSIZE
        if padding:
            yield b"\0" * padding
    yield _END


def _directories(files: Sequence[ports.File]) -> list[str]:
    """Return every directory the files need, each once, parents before children."""
    found: dict[str, None] = {}
    for file in files:
        parts = f"{ROOT}/{file.path}".split("/")
        for n in range(1, len(parts)):
            found["/".join(parts[:n])] = None
    return list(found)


def _header(name: str, kind: bytes, mode: int, size: int, mtime: int) -> bytes:
    info = TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = mtime
    info.uname = info.gname = "root"
    # pax, because an object key of up to 128 characters may not fit a ustar name field
    return info.tobuf(format=PAX_FORMAT, encoding="utf-8", errors="strict")


def _content(file: ports.File) -> Iterator[bytes]:
    """Yield exactly ``file.size`` bytes of the file's content, in chunks of at most ``CHUNK``."""
    left = file.size
    try:
        with file.open() as source:
            while left:
                chunk = source.read(min(CHUNK, left))
                if not chunk:
                    raise _wrong_size(file, "fewer")
                left -= len(chunk)
                yield chunk
            if source.read(1):
                raise _wrong_size(file, "more")
    except OSError as exc:
        # Raised as a Hostler error: urllib3 would take an OSError for a broken connection.
        raise errors.Unavailable(f"file '{file.path}': cannot be read ({exc})") from exc


def _wrong_size(file: ports.File, how: str) -> errors.Internal:
    return errors.Internal(f"file '{file.path}': holds {how} bytes than its size, {file.size}")
