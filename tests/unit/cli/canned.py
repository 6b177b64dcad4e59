"""Answers of the API as the wire contract shows them, for the CLI's unit tests."""

from __future__ import annotations

from typing import Any

NAMESPACE: dict[str, Any] = {
    "name": "default",
    "description": "Where everything starts",
    "created": "2024-05-01T12:00:00Z",
}

PIPELINE: dict[str, Any] = {
    "namespace": "default",
    "id": "hello",
    "description": "Says hello",
    "live_version": 1,
    "created": "2024-05-01T12:00:00Z",
    "updated": "2024-05-01T12:00:00Z",
}

CONFIG: dict[str, Any] = {
    "id": "hello",
    "tasks": [{"id": "fetch", "image": "busybox:stable", "command": ["echo", "hi"]}],
}

VERSION: dict[str, Any] = {
    "namespace": "default",
    "pipeline": "hello",
    "version": 1,
    "digest": "sha256:ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12",
    "config": CONFIG,
    "created": "2024-05-01T12:00:00Z",
}


def run(
    state: str = "pending", status: str = "unknown", *, ended: str | None = None
) -> dict[str, Any]:
    """Return run 1 of default/hello in ``state`` and ``status``."""
    return {
        "namespace": "default",
        "pipeline": "hello",
        "id": 1,
        "version": 1,
        "state": state,
        "status": status,
        "reason": None,
        "variables": {"GREETING": "hi"},
        "trigger": {"kind": "manual"},
        "created": "2024-05-01T12:00:00Z",
        "started": None if state == "pending" else "2024-05-01T12:00:00Z",
        "ended": ended,
        "cancel_requested": False,
        "logs_deleted": None,
    }


def task(
    name: str = "fetch",
    state: str = "waiting",
    status: str = "unknown",
    *,
    exit_code: int | None = None,
) -> dict[str, Any]:
    """Return the first attempt of task ``name`` of run default/hello#1."""
    complete = state == "complete"
    return {
        "namespace": "default",
        "pipeline": "hello",
        "run": 1,
        "task": name,
        "attempt": 1,
        "position": 0,
        "state": state,
        "status": status,
        "reason": None,
        "exit_code": exit_code,
        "image_digest": None,
        "container": None,
        "created": "2024-05-01T12:00:00Z",
        "queued": None,
        "started": "2024-05-01T12:00:01Z" if state in {"running", "complete"} else None,
        "ended": "2024-05-01T12:00:03.200000Z" if complete else None,
    }


def event(
    event_id: int,
    kind: str,
    *,
    task: str | None = None,
    status: str = "unknown",
    reason: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return event ``event_id``: ``kind`` of run default/hello#1, or of its ``task``."""
    state = kind.partition(".")[2]
    return {
        "id": event_id,
        "time": "2024-05-01T12:00:01Z",
        "kind": kind,
        "namespace": "default",
        "pipeline": "hello",
        "run": 1,
        "task": task,
        "attempt": 1 if task else None,
        "data": {
            "state": "pending" if state == "created" else state,
            "status": status,
            "reason": reason,
            "previous_state": None,
        },
    }


def page(*items: dict[str, Any], next_cursor: str | None = None) -> dict[str, Any]:
    """Return a page of a list."""
    return {"items": list(items), "next_cursor": next_cursor}


def problem(
    status: int, code: str, detail: str, *, field: str | None = None, hint: str | None = None
) -> dict[str, Any]:
    """Return a problem+json body."""
    return {
        "type": f"https://hostler.dev/problems/{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        "field": field,
        "hint": hint,
    }
