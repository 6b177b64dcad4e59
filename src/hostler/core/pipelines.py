"""Pipeline configurations: what a user writes, validated, normalised and digested.

A configuration is immutable once registered as a version. Its digest is sha256 over canonical JSON
(sorted keys, no insignificant white space, defaults left out), so the same content written with
another key order, or with a default spelled out, has the same digest.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any

import pydantic

from hostler.core import dag, durations, errors, identifiers, objects, schedules

Duration = Annotated[
    float,
    pydantic.BeforeValidator(durations.parse),
    pydantic.Field(description="Seconds, or a string such as '30s', '5m' or '1h30m'."),
]

ZeroOrDuration = Annotated[
    float,
    pydantic.BeforeValidator(durations.parse_or_zero),
    pydantic.Field(description="Seconds, or a string such as '2s' or '1m'; 0 for none."),
]


class Condition(enum.StrEnum):
    """When a dependent task runs, given how its dependency ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    ANY = "any"


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Retries(_Model):
    """When and how a failed task is tried again. Immutable."""

    attempts: int = pydantic.Field(
        ge=1,
        le=100,
        description="Required. Attempts in all, the first one included: 3 means up to 2 retries.",
    )
    backoff: ZeroOrDuration = pydantic.Field(
        default=0.0, description="Optional. Wait before the first retry."
    )
    factor: float = pydantic.Field(
        default=2.0, ge=1, le=10, description="Optional. Each later wait is this many times longer."
    )
    max_backoff: ZeroOrDuration = pydantic.Field(
        default=300.0, description="Optional. No wait is longer than this."
    )
    on_exit_codes: list[int] = pydantic.Field(
        default_factory=list,
        description="Optional. Retry only on these exit codes; on any failure when empty.",
    )

    def delay(self, attempt: int) -> float:
        """Return the seconds to wait after failed attempt ``attempt`` (1-based) before the next."""
        return float(min(self.max_backoff, self.backoff * self.factor ** (attempt - 1)))


class TaskConfig(_Model):
    """One task of a pipeline: a container image and a command. Immutable."""

    id: str = pydantic.Field(description="Required. Unique within the pipeline.")
    image: str = pydantic.Field(min_length=1, description="Required. Container image to run.")
    description: str = ""
    command: list[str] | None = pydantic.Field(
        default=None, description="Optional. Command and arguments; the image's default if absent."
    )
    env: dict[str, str] = pydantic.Field(
        default_factory=dict, description="Optional. Environment variables for the task."
    )
    depends_on: dict[str, Condition] = pydantic.Field(
        default_factory=dict,
        description="Optional. Task ids this task waits for, each with the condition to run.",
    )
    timeout: Duration | None = pydantic.Field(
        default=None, description="Optional. The task is stopped and fails after this long."
    )
    retries: Retries | None = pydantic.Field(
        default=None, description="Optional. Try the task again when it fails."
    )
    objects: list[str] = pydantic.Field(
        default_factory=list,
        description="Optional. Objects copied in as files before the task starts, each written "
        "pipeline_object{{KEY}} or run_object{{KEY}}; they appear as "
        "/hostler/objects/pipeline/KEY and /hostler/objects/run/KEY.",
    )
    inject_api_token: bool = pydantic.Field(
        default=False,
        description="Optional. Give the task HOSTLER_URL and HOSTLER_TOKEN: a run token that "
        "reads and writes its own run's objects, reads its pipeline and starts runs in its "
        "namespace, until the run ends.",
    )


class TriggerConfig(_Model):
    """What starts runs of the pipeline besides people: an extension and its settings."""

    extension: str = pydantic.Field(
        description="Required. The extension that fires it, such as interval or cron."
    )
    id: str | None = pydantic.Field(
        default=None,
        description="Optional. Names the trigger; needed to tell apart two triggers of one "
        "extension. The extension's name when absent.",
    )
    settings: dict[str, Any] = pydantic.Field(
        default_factory=dict,
        description="Optional. The extension's settings, such as {schedule: '0 2 * * *'}.",
    )

    @property
    def key(self) -> str:
        """What tells the trigger apart from the pipeline's others: its id, else its extension."""
        return self.id or self.extension


class Config(_Model):
    """A pipeline configuration: the content of one version. Immutable."""

    id: str = pydantic.Field(description="Required. The pipeline's identifier.")
    description: str = ""
    parallelism: int = pydantic.Field(
        default=0, ge=0, description="Optional. Runs of this pipeline at once; 0 means no limit."
    )
    timeout: Duration | None = pydantic.Field(
        default=None, description="Optional. A run is cancelled as failed after this long."
    )
    tasks: list[TaskConfig] = pydantic.Field(description="Required. At least one task.")
    triggers: list[TriggerConfig] = pydantic.Field(
        default_factory=list,
        description="Optional. What starts runs on its own: schedules, webhooks, other "
        "pipelines (each an extension with its settings).",
    )
    notifications: list[TriggerConfig] = pydantic.Field(
        default_factory=list,
        description="Optional. What tells about its runs, such as the notify extension's "
        "messages when runs fail (each an extension with its settings).",
    )

    @property
    def subscriptions(self) -> list[TriggerConfig]:
        """Return the triggers, then the notifications: every extension the pipeline
        subscribes to. Their keys are unique across both."""
        return [*self.triggers, *self.notifications]

    def task(self, task_id: str) -> TaskConfig:
        """Return the task named ``task_id``; raise NotFound if there is none."""
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise errors.NotFound(f"task '{task_id}': not found in pipeline '{self.id}'")


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def parse(data: Mapping[str, Any]) -> Config:
    """Validate raw ``data`` (from YAML, JSON or the SDK) and return the configuration.

    Raises InvalidArgument naming the first offending field, after both the shape rules and the
    DAG rules (see ``hostler.core.dag``).
    """
    if not isinstance(data, Mapping):
        raise errors.InvalidArgument(
            "pipeline: the configuration must be a mapping", field="", hint="start with 'id: NAME'"
        )
    try:
        config = Config.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = _field_path(first["loc"])
        what = "is required" if first["type"] == "missing" else first["msg"].lower()
        if first["type"] == "extra_forbidden":
            what = "is not a known field"
        raise errors.InvalidArgument(
            f"pipeline: field '{field}' {what}",
            field=field,
            hint="see docs/pipelines.md for the fields a pipeline accepts",
        ) from None
    dag.validate(config.id, [(t.id, list(t.depends_on)) for t in config.tasks])
    for index, task in enumerate(config.tasks):
        for name in task.env:
            identifiers.check_variable(name, field=f"tasks[{index}].env.{name}")
        objects.check_env(task.env, field=f"tasks[{index}].env")
        seen: set[objects.Ref] = set()
        for position, text in enumerate(task.objects):
            field = f"tasks[{index}].objects[{position}]"
            ref = objects.parse_ref(text, field=field)
            if ref in seen:
                raise errors.InvalidArgument(
                    f"task '{task.id}': object {ref} listed twice", field=field, hint="list it once"
                )
            seen.add(ref)
    _check_triggers(config)
    return config


def _check_triggers(config: Config) -> None:
    seen: set[str] = set()
    listed = [
        (f"{section}[{index}]", trigger)
        for section, entries in (
            ("triggers", config.triggers),
            ("notifications", config.notifications),
        )
        for index, trigger in enumerate(entries)
    ]
    for field, trigger in listed:
        identifiers.check(trigger.extension, what="extension", field=f"{field}.extension")
        if trigger.id is not None:
            identifiers.check(trigger.id, what="trigger", field=f"{field}.id")
        if trigger.key in seen:
            raise errors.InvalidArgument(
                f"trigger '{trigger.key}': given twice",
                field=f"{field}.id",
                hint="give each trigger or notification of the same extension an id of its own",
            )
        seen.add(trigger.key)
        try:
            schedules.of(trigger.extension, trigger.settings, trigger.key)
        except errors.InvalidArgument as exc:
            raise errors.InvalidArgument(
                f"trigger '{trigger.key}': {exc.message}",
                field=f"{field}.{exc.field}" if exc.field else field,
                hint=exc.hint,
            ) from None


def canonical(config: Config) -> dict[str, Any]:
    """Return the canonical JSON-compatible form of ``config``: defaults left out."""
    return config.model_dump(mode="json", exclude_defaults=True)


def canonical_json(config: Config) -> str:
    """Return the canonical JSON text of ``config`` (sorted keys, compact)."""
    return json.dumps(canonical(config), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(config: Config) -> str:
    """Return ``sha256:<hex>`` over the canonical JSON of ``config``."""
    return "sha256:" + hashlib.sha256(canonical_json(config).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """A named pipeline in a namespace; ``live_version`` is the version new runs start from.

    ``canary`` is the id of the deployment whose canary takes a share of new runs, if one does.
    """

    namespace: str
    id: str
    description: str
    live_version: int | None
    created: datetime.datetime
    updated: datetime.datetime
    revision: int = 1
    canary: int | None = None

    @property
    def ref(self) -> str:
        """The pipeline written for people: ``namespace/pipeline``."""
        return f"{self.namespace}/{self.id}"


@dataclasses.dataclass(frozen=True)
class Version:
    """One immutable configuration of a pipeline. ``version`` increases from 1."""

    namespace: str
    pipeline: str
    version: int
    digest: str
    config: Config
    created: datetime.datetime
