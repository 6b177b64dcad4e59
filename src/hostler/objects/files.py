"""The file object store: ``ports.ObjectStore`` as content-addressed files under a root directory.

A blob lives at ``ROOT/blobs/sha256/<2 hex>/<62 hex>``, named by the sha256 of its content, so the
same content is stored once. A name (``logs/default/hello/3/fetch/1``) is a hard link to its blob
at ``ROOT/names/<name>``: the blob's link count is its reference count, and the blob goes when its
last name is unlinked (its digest found again by hashing the content). A blob is written to a
temporary file first and moved into place, so a reader never sees half of one; a crash leaves at
most a stray temporary file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from hostler.core import errors, ports

_NAME_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
_CHUNK = 1 << 20
_HINT = "check the object directory: it must exist, be writable and have free space"


class Store:
    """Blobs under ``root``; implements ``hostler.core.ports.ObjectStore``.

    Safe to share between threads; one server process owns an object directory.
    """

    def __init__(self, root: str | pathlib.Path) -> None:
        self._root = pathlib.Path(root)
        self._lock = threading.Lock()  # links and unlinks, so that counts stay true

    def put(self, chunks: Iterable[bytes], name: str | None = None) -> ports.ObjectInfo:
        """Store the bytes of ``chunks`` (streamed, never held whole) and return their digest;
        with ``name``, give the blob that name under the same lock."""
        path = self._name(name) if name is not None else None
        incoming = self._root / "incoming"
        with _translate("object"):
            incoming.mkdir(parents=True, exist_ok=True)
            digest, size = hashlib.sha256(), 0
            with tempfile.NamedTemporaryFile(dir=incoming, delete=False) as temporary:
                try:
                    for chunk in chunks:
                        digest.update(chunk)
                        size += len(chunk)
                        temporary.write(chunk)
                    temporary.flush()
                    os.fsync(temporary.fileno())
                except BaseException:
                    os.unlink(temporary.name)
                    raise
            info = ports.ObjectInfo(f"sha256:{digest.hexdigest()}", size)
            blob = self._blob(info.digest)
            blob.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                if blob.exists():
                    os.unlink(temporary.name)  # the same content is stored already
                else:
                    os.replace(temporary.name, blob)
                if path is not None:
                    self._link(path, blob)
        return info

    def link(self, name: str, digest: str) -> None:
        """Give the blob ``digest`` the name ``name``, replacing what the name pointed to."""
        path = self._name(name)
        with self._lock, _translate(f"object name '{name}'"):
            blob = self._blob(digest)
            if not blob.exists():
                raise errors.NotFound(f"object '{digest}': not found", field="digest")
            self._link(path, blob)

    def _link(self, path: pathlib.Path, blob: pathlib.Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._unlink(path)
        os.link(blob, path)

    def open(self, name: str) -> BinaryIO:
        """Return the blob named ``name`` opened for reading; NotFound if the name is unknown."""
        path = self._name(name)
        with _translate(f"object name '{name}'"):
            try:
                return path.open("rb")
            except FileNotFoundError:
                raise errors.NotFound(f"object name '{name}': not found", field="name") from None

    def exists(self, name: str) -> bool:
        """Tell whether the name ``name`` is given to a blob."""
        path = self._name(name)
        with _translate(f"object name '{name}'"):
            return path.exists()

    def unlink(self, name: str) -> None:
        """Remove the name ``name``, and its blob when no other name holds it; idempotent."""
        path = self._name(name)
        with self._lock, _translate(f"object name '{name}'"):
            self._unlink(path)

    def _unlink(self, path: pathlib.Path) -> None:
        try:
            links = path.stat().st_nlink
        except FileNotFoundError:
            return
        # A name is a hard link to its blob: two links are the blob's own entry and this name.
        blob = self._blob(_digest_of(path)) if links <= 2 else None
        path.unlink()
        if blob is not None:
            blob.unlink(missing_ok=True)

    def _blob(self, digest: str) -> pathlib.Path:
        match = _DIGEST.fullmatch(digest)
        if match is None:
            raise errors.InvalidArgument(
                f"object '{digest}': not a digest", field="digest", hint="write sha256:<64 hex>"
            )
        hexdigest = match.group(1)
        return self._root / "blobs" / "sha256" / hexdigest[:2] / hexdigest[2:]

    def _name(self, name: str) -> pathlib.Path:
        parts = name.split("/")
        if not name or not all(_NAME_PART.fullmatch(part) for part in parts):
            raise errors.InvalidArgument(
                f"object name '{name}': not a valid name",
                field="name",
                hint="use names of letters, digits, '_', '-' or '.' separated by '/'",
            )
        return self._root.joinpath("names", *parts)


def _digest_of(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


@contextlib.contextmanager
def _translate(subject: str) -> Iterator[None]:
    """Turn OS errors into Unavailable, naming the subject; Hostler errors pass through."""
    try:
        yield
    except OSError as exc:
        raise errors.Unavailable(f"{subject}: {exc.strerror or exc}", hint=_HINT) from exc
