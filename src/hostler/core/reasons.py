"""Why a run or a task execution is where it is: a typed kind plus a human description."""

from __future__ import annotations

import dataclasses
import enum


class Kind(enum.StrEnum):
    """The typed part of a reason; stable, safe to match on in scripts."""

    PARALLELISM_LIMIT = "parallelism_limit"
    GLOBAL_LIMIT = "global_limit"
    EXIT_CODE = "exit_code"
    TIMEOUT = "timeout"
    RUN_TIMEOUT = "run_timeout"
    CANCELLED = "cancelled"
    DEPENDENCY_NOT_MET = "dependency_not_met"
    TASK_FAILED = "task_failed"
    SCHEDULER_ERROR = "scheduler_error"
    ENGINE_ERROR = "engine_error"
    LOST = "lost"
    RETRY_BACKOFF = "retry_backoff"
    SECRET_MISSING = "secret_missing"  # noqa: S105 - a reason kind, not a secret
    SECRET_ERROR = "secret_error"  # noqa: S105 - a reason kind, not a secret
    OBJECT_MISSING = "object_missing"


@dataclasses.dataclass(frozen=True)
class Reason:
    """Why something is in its state or status. Immutable."""

    kind: Kind
    description: str
