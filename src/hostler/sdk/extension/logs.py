"""An extension's log: one JSON object a line on standard error, which Hostler captures.

The fields are those of Hostler's own log (``timestamp``, ``level``, ``logger``, ``event``, the
record's extra fields, and ``exception`` with its traceback inside the same line), so that the
supervisor can read both the same way. Only ``configure`` installs it, and only the entry point
(``Extension.main``) calls that; the standard library's ``logging`` does the rest.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any, TextIO

QUIET = ("httpx", "httpcore")
"""Libraries whose records below WARNING an extension's log leaves out."""

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class Json(logging.Formatter):
    """Formats a record as one line of JSON, its extra fields included."""

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as a JSON object on one line."""
        line: dict[str, Any] = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(level: str = "info", stream: TextIO | None = None) -> None:
    """Send every log record at ``level`` or above to ``stream`` (standard error) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(Json())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx and httpcore log every request at INFO, with its whole URL: a line per poll every
    # second, and a webhook's URL may hold its key.
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
