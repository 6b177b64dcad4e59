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
    "canary": None,
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
        "route": "live",
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


def version(number: int, *, tasks: int = 1, description: str = "") -> dict[str, Any]:
    """Return version ``number`` of default/hello, of ``tasks`` tasks."""
    names = ["fetch", "report", "notify"][:tasks]
    config = {
        "id": "hello",
        "description": description,
        "tasks": [{"id": name, "image": "busybox:stable"} for name in names],
    }
    return {
        **VERSION,
        "version": number,
        "digest": f"sha256:{number}{number}ab" + "0" * 59,
        "config": config,
        "created": f"2024-05-0{number}T12:00:00Z",
    }


def deployment(
    deployment_id: int,
    kind: str = "deploy",
    state: str = "deployed",
    *,
    from_version: int | None = 3,
    to_version: int = 4,
    percent: int | None = None,
    auto_abort: dict[str, int] | None = None,
    reason: str | None = None,
    actor: str = "alice",
) -> dict[str, Any]:
    """Return deployment ``deployment_id`` of default/hello, from v3 to v4 unless told."""
    return {
        "namespace": "default",
        "pipeline": "hello",
        "id": deployment_id,
        "kind": kind,
        "state": state,
        "from_version": from_version,
        "to_version": to_version,
        "actor": actor,
        "started": f"2024-05-{deployment_id:02}T09:00:00Z",
        "ended": None if state == "canary" else f"2024-05-{deployment_id:02}T09:30:00Z",
        "first_run": 11,
        "percent": percent,
        "auto_abort": auto_abort,
        "routed": 0 if percent is None else 19,
        "reason": reason,
    }


def tally(version: int, runs: int, successful: int, failed: int = 0) -> dict[str, Any]:
    """Return the runs of ``version`` under a deployment: the rest of ``runs`` were cancelled."""
    ended = successful + failed
    return {
        "version": version,
        "runs": runs,
        "successful": successful,
        "failed": failed,
        "cancelled": runs - ended,
        "success_rate": None if ended == 0 else 100.0 * successful / ended,
    }


def deploy_result(
    plan: dict[str, Any],
    deployment: dict[str, Any] | None = None,
    *,
    live_version: int | None = None,
    canary: int | None = None,
) -> dict[str, Any]:
    """Return the answer to a deploy, promote or abort: a dry run without ``deployment``."""
    pipeline = {**PIPELINE, "live_version": live_version, "canary": canary}
    return {
        "plan": plan,
        "applied": deployment is not None,
        "pipeline": None if deployment is None else pipeline,
        "deployment": deployment,
    }


def record(
    record_id: int,
    kind: str = "pipeline.deploy",
    outcome: str | None = "succeeded",
    *,
    target: str = "default/hello",
    detail: dict[str, Any] | None = None,
    error: str | None = None,
    actor: str = "alice",
) -> dict[str, Any]:
    """Return audit record ``record_id``: ``kind`` of ``target``, ended with ``outcome``."""
    return {
        "id": record_id,
        "kind": kind,
        "target": target,
        "actor": actor,
        "instance": "hostler-1",
        "started": f"2024-05-02T09:{record_id:02}:00Z",
        "finished": None if outcome is None else f"2024-05-02T09:{record_id:02}:01Z",
        "outcome": outcome,
        "detail": detail or {},
        "error": error,
    }


def token(
    token_id: str = "0123456789ab",
    name: str = "ci",
    *,
    roles: tuple[str, ...] = ("namespace-owner:team-*",),
    expires: str | None = None,
    disabled: bool = False,
) -> dict[str, Any]:
    """Return the metadata of token ``token_id``, as the API shows it: never its secret."""
    return {
        "id": token_id,
        "name": name,
        "roles": list(roles),
        "created": "2024-05-01T12:00:00Z",
        "created_by": "admin",
        "expires": expires,
        "disabled": disabled,
    }


SECRET = "hst_0123456789ab_" + "s" * 43
"""The whole text of token 0123456789ab."""


def grant(actions: list[str], kinds: list[str], pattern: str) -> dict[str, Any]:
    """Return a grant as the API shows it."""
    return {"kinds": kinds, "actions": actions, "pattern": pattern}


def role(
    name: str = "deployers",
    *grants: dict[str, Any],
    description: str = "Deploy the team's pipelines",
    builtin: bool = False,
) -> dict[str, Any]:
    """Return role ``name`` with ``grants`` (read and run on pipelines and runs of team-* if
    none)."""
    return {
        "name": name,
        "description": description,
        "grants": list(grants) or [grant(["read", "run"], ["pipelines", "runs"], "team-*")],
        "builtin": builtin,
    }


BUILTIN_ROLES: list[dict[str, Any]] = [
    {
        "name": "admin",
        "description": "Everything, everywhere.",
        "grants": [
            grant(
                ["read", "write", "delete", "run", "admin"],
                [
                    "namespaces",
                    "pipelines",
                    "runs",
                    "logs",
                    "secrets",
                    "objects",
                    "tokens",
                    "extensions",
                    "events",
                    "history",
                ],
                "*",
            )
        ],
        "builtin": True,
    },
    {
        "name": "namespace-owner",
        "description": "Every action on the namespaced kinds of the namespaces its pattern "
        "matches (given as namespace-owner:PATTERN).",
        "grants": [],
        "builtin": True,
    },
]


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


KEY = "3f9c1a27b04e5d61"
"""The name of the key secrets are encrypted with (never a key itself)."""


def secret(
    name: str = "DB_PASSWORD",
    *,
    namespaces: tuple[str, ...] | None = None,
    value: str | None = None,
) -> dict[str, Any]:
    """Return secret ``name`` of default/hello as the API shows it, or with ``namespaces`` the
    global one usable there; ``value`` only as a reveal answers it."""
    is_global = namespaces is not None
    return {
        "scope": "global" if is_global else "pipeline",
        "namespace": None if is_global else "default",
        "pipeline": None if is_global else "hello",
        "name": name,
        "namespaces": list(namespaces or ()),
        "key": KEY,
        "created": "2024-05-01T12:00:00Z",
        "updated": "2024-05-02T08:30:00Z",
        "value": value,
    }
