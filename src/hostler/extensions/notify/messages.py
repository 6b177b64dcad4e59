"""What a notify message says: its facts, its headline and its text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hostler.extensions.notify.conditions import Notice
from hostler.extensions.notify.words import spoken


def facts(notice: Notice, link: str | None) -> dict[str, Any]:
    """Return the facts of ``notice`` as a message carries them; ``link`` is where people reach
    Hostler, if known."""
    run = notice.run
    namespace, pipeline, number = run.get("namespace"), run.get("pipeline"), run.get("id")
    reason = run.get("reason")
    url = None
    if link:
        url = f"{link.rstrip('/')}/api/v1/namespaces/{namespace}/pipelines/{pipeline}/runs/{number}"
    return {
        "namespace": namespace,
        "pipeline": pipeline,
        "run": number,
        "status": run.get("status") if run.get("state") == "complete" else "running",
        "condition": notice.condition,
        "duration_seconds": notice.seconds,
        "trigger": run.get("trigger"),
        "reason": reason.get("description") if isinstance(reason, Mapping) else None,
        "url": url,
    }


def headline(told: Mapping[str, Any]) -> str:
    """Return the first line of a message of the facts ``told``: ``default/build #12 failed``."""
    return f"{told['namespace']}/{told['pipeline']} #{told['run']} {told['status']}"


def text(told: Mapping[str, Any]) -> str:
    """Return the message of the facts ``told``, for people."""
    lines = [headline(told), f"Condition: {told['condition']}"]
    if told["duration_seconds"] is not None:
        lines.append(f"Duration: {spoken(told['duration_seconds'])}")
    if told["trigger"]:
        lines.append(f"Trigger: {told['trigger']}")
    if told["reason"]:
        lines.append(f"Reason: {told['reason']}")
    if told["url"]:
        lines.append(f"Run: {told['url']}")
    return "\n".join(lines)
