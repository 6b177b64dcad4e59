"""Hostler's own log: one renderer for every record, masked with the running tasks' secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from hostler import logging as hostler_logging
from hostler.core import secrets


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    hostler_logging.configure("info", "json", out)
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def test_records_are_json_with_their_extra_fields(stream: io.StringIO) -> None:
    logging.getLogger("hostler.test").info("task started", extra={"task": "default/p#1 t"})
    record = json.loads(stream.getvalue().splitlines()[-1])
    assert (record["event"], record["task"], record["level"]) == (
        "task started",
        "default/p#1 t",
        "info",
    )


def test_the_secrets_of_running_tasks_are_masked_in_every_record(stream: io.StringIO) -> None:
    log = logging.getLogger("hostler.test")
    held = secrets.RUNNING.hold(secrets.Masker(["hunter2-value"]))
    try:
        log.warning("task failed", extra={"error": "bad password hunter2-value"})
        try:
            raise RuntimeError("hunter2-value leaked into an exception")
        except RuntimeError:
            log.exception("task broke off")
    finally:
        secrets.RUNNING.release(held)
    log.warning("after", extra={"error": "hunter2-value"})

    lines = stream.getvalue().splitlines()
    assert "hunter2-value" not in "\n".join(lines[:-1])
    assert json.loads(lines[0])["error"] == "bad password ***"
    assert "*** leaked into an exception" in lines[1]
    assert json.loads(lines[-1])["error"] == "hunter2-value"  # released: no longer masked


def test_nothing_is_held_for_a_masker_that_masks_nothing() -> None:
    held = secrets.Held()
    handle = held.hold(secrets.NO_MASK)
    assert held.mask("text") == "text"
    held.release(handle)
    held.release(handle)  # twice is harmless
