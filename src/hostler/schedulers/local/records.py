"""What the local scheduler keeps on disk: two files per task in the work directory.

``<handle>.json`` is the record (labels, state, pid, exit code) as JSON lines: a line is appended
at create, start and exit, and the last complete line is the truth. Appending is atomic for
readers and much cheaper than rewriting a file. Another scheduler object over the same directory
lists tasks from these files. ``<handle>.log`` is the output, one JSON object per line
(``{"time": ..., "stream": ..., "text": ...}``), made at the first line. ``work/`` is the working
directory (and HOME) every task shares. ``objects/<handle>/`` holds the files copied into a task
(``copy_in``), made at the first copy. The environment is never written: it may carry secrets.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from hostler.core import errors, ports

STATUS_SUFFIX = ".json"
OUTPUT_SUFFIX = ".log"
WORK = "work"
OBJECTS = "objects"

_HANDLE = re.compile(r"^local-[0-9a-f]{32}$")
_CHUNK = 1 << 20


def is_handle(value: str) -> bool:
    """Tell whether ``value`` has the shape of a local handle (and so is safe as a file name)."""
    return bool(_HANDLE.match(value))


@dataclasses.dataclass
class Record:
    """One task process as the local scheduler knows it; mutable, guarded by its owner's lock."""

    handle: str
    name: str
    image: str
    labels: dict[str, str]
    state: ports.ContainerState
    pid: int | None = None
    pid_started: str | None = None
    """When the kernel started ``pid`` (``/proc``), to tell a reused pid from ours."""
    exit_code: int | None = None
    started: datetime.datetime | None = None
    finished: datetime.datetime | None = None

    def status(self, state: ports.ContainerState | None = None) -> ports.ContainerStatus:
        """Return the port's view of this record, with ``state`` instead of its own if given."""
        return ports.ContainerStatus(
            handle=self.handle,
            state=state or self.state,
            labels=dict(self.labels),
            exit_code=self.exit_code,
            image_digest=f"local:{self.image}",
            started=self.started,
            finished=self.finished,
        )

    def to_json(self) -> dict[str, Any]:
        """Return the record as JSON-ready data."""
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        data["state"] = self.state.value
        for key in ("started", "finished"):
            data[key] = _iso(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        """Return the record that ``to_json`` wrote."""
        fields = dict(data)
        fields["state"] = ports.ContainerState(fields["state"])
        for key in ("started", "finished"):
            fields[key] = _parse(fields.get(key))
        return cls(**fields)


def status_path(directory: Path, handle: str) -> Path:
    """Return where the record of ``handle`` is kept."""
    return directory / f"{handle}{STATUS_SUFFIX}"


def output_path(directory: Path, handle: str) -> Path:
    """Return where the output of ``handle`` is kept."""
    return directory / f"{handle}{OUTPUT_SUFFIX}"


def objects_path(directory: Path, handle: str) -> Path:
    """Return the objects directory of ``handle``: what its ``HOSTLER_OBJECTS`` names."""
    return directory / OBJECTS / handle


def copy_files(directory: Path, files: Sequence[ports.File]) -> None:
    """Copy ``files`` below ``directory``, streamed, making the directories they need.

    InvalidArgument for a path that would leave ``directory``, Unavailable for a file that cannot
    be read or written, Internal for one whose content is not ``size`` bytes long.
    """
    ports.check_files(files)
    for file in files:
        target = directory / file.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with file.open() as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
                copied = sink.tell()
        except OSError as exc:
            raise errors.Unavailable(f"file '{file.path}': cannot be copied ({exc})") from exc
        if copied != file.size:
            raise errors.Internal(
                f"file '{file.path}': holds {copied} bytes, not its size {file.size}"
            )


def save(path: Path, record: Record, *, new: bool = False) -> None:
    """Append ``record`` to its file (made when ``new``); a file removed meanwhile is ignored."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | (os.O_CREAT | os.O_EXCL if new else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:
        return  # removed while the process ended: nothing left to record
    try:
        os.write(fd, json.dumps(record.to_json()).encode() + b"\n")
    finally:
        os.close(fd)


def load(path: Path) -> Record | None:
    """Return the last complete record in ``path``, or None if there is none."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    complete = data[: data.rfind(b"\n")]  # a line being appended has no newline yet
    last = complete.rpartition(b"\n")[2]
    return Record.from_json(json.loads(last)) if last else None


def encode_line(time: str, stream: str, text: bytes) -> bytes:
    """Return one output line (without its newline) read at ``time`` (ISO 8601) for the log."""
    entry = {"time": time, "stream": stream, "text": text.decode("utf-8", "replace")}
    return json.dumps(entry).encode() + b"\n"


def decode_line(raw: bytes) -> ports.LogLine:
    """Return the ``LogLine`` of one line of the output file."""
    entry = json.loads(raw)
    return ports.LogLine(
        time=datetime.datetime.fromisoformat(entry["time"]),
        stream=entry["stream"],
        text=entry["text"],
    )


class Output:
    """The output file of a task, read as it grows; one not written yet reads as empty."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: BinaryIO | None = None

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *_: object) -> None:
        if self._file is not None:
            self._file.close()

    def read(self) -> bytes:
        """Return what was written since the last read."""
        if self._file is None:
            try:
                self._file = self._path.open("rb")
            except FileNotFoundError:
                return b""  # not started yet, or removed
        return self._file.read()


def _iso(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime.datetime | None:
    return None if value is None else datetime.datetime.fromisoformat(value)
