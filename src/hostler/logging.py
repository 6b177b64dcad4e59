"""How Hostler's own logs are written; only entry points call ``configure``.

Modules log through the standard library (``logging.getLogger(__name__)``) with constant messages
and details in ``extra``; structlog renders every record the same way: JSON lines in production,
readable lines in a terminal. A traceback stays inside one record. Every rendered record is
masked with the secrets of the tasks running in this process (``core.secrets.RUNNING``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from hostler.core import secrets

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _extra_fields(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    record = event.get("_record")
    if record is not None:
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_") and key not in event:
                event[key] = value
    return event


def configure(
    level: str = "info", fmt: Literal["auto", "json", "console"] = "auto", stream: Any = None
) -> None:
    """Send every log record, Hostler's and its libraries', through one structlog renderer."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = _Masking(
        foreign_pre_chain=[*shared, _extra_fields],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if fmt == "json" else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "urllib3", "docker", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


class _Masking(structlog.stdlib.ProcessorFormatter):
    """Renders a record, then masks the secrets of the running tasks in it."""

    def format(self, record: logging.LogRecord) -> str:
        return secrets.RUNNING.mask(super().format(record))


def _identity(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event
