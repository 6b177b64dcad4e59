"""Wire models: the JSON shapes of the API, built from core entities (see docs/api.md).

Entities stay free of HTTP concerns; each wire model has ``from_entity`` to build it. Timestamps
are ISO 8601 in UTC. Enums that share a Python name in core (``runs.State``, ``tasks.State``) get
their own names on the wire so that the OpenAPI document has one schema per meaning.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Annotated, Any, Generic, Literal, TypeVar

import pydantic
from pydantic import json_schema

from hostler.core import events, namespaces, pipelines, ports, reasons, runs, tasks
from hostler.services import pages
from hostler.services import pipelines as pipeline_service

T = TypeVar("T")
E = TypeVar("E")


def _utc(value: datetime.datetime) -> datetime.datetime:
    # A naive time from a store is UTC by Hostler's convention; say so on the wire.
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


Timestamp = Annotated[datetime.datetime, pydantic.AfterValidator(_utc)]


def _enum_schema(title: str, values: list[str]) -> pydantic.WithJsonSchema:
    return pydantic.WithJsonSchema({"title": title, "type": "string", "enum": values})


RunState = Annotated[runs.State, _enum_schema("RunState", [m.value for m in runs.State])]
RunStatus = Annotated[runs.Status, _enum_schema("RunStatus", [m.value for m in runs.Status])]
TaskState = Annotated[tasks.State, _enum_schema("TaskState", [m.value for m in tasks.State])]
TaskStatus = Annotated[tasks.Status, _enum_schema("TaskStatus", [m.value for m in tasks.Status])]
ReasonKind = Annotated[reasons.Kind, _enum_schema("ReasonKind", [m.value for m in reasons.Kind])]
EventKind = Annotated[str, _enum_schema("EventKind", list(events.KINDS))]


class PipelineConfig(pipelines.Config):
    """A pipeline configuration as a user writes it (only used to document the wire)."""


class _DocumentedAsConfig:
    """Annotation that documents a raw dict as a pipeline configuration.

    The dict is validated by ``pipelines.parse`` in the use case, which names the failing field
    in the domain's words; pydantic only documents the shape here.
    """

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: pydantic.GetJsonSchemaHandler
    ) -> json_schema.JsonSchemaValue:
        return handler(PipelineConfig.__pydantic_core_schema__)


ConfigData = Annotated[dict[str, Any], _DocumentedAsConfig()]


class _Out(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)


class _In(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")


class Page(pydantic.BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` to get the next one."""

    items: list[T]
    next_cursor: str | None = pydantic.Field(description="None on the last page.")

    @classmethod
    def of(cls, page: pages.Page[E], convert: Callable[[E], T]) -> Page[T]:
        """Return the wire page for ``page``, converting each item with ``convert``."""
        return cls(items=[convert(item) for item in page.items], next_cursor=page.next_cursor)


class Namespace(_Out):
    """A namespace: the tenancy boundary."""

    name: str
    description: str
    created: Timestamp

    @classmethod
    def from_entity(cls, entity: namespaces.Namespace) -> Namespace:
        """Return the wire form of ``entity``."""
        return cls(name=entity.name, description=entity.description, created=entity.created)


class Pipeline(_Out):
    """A pipeline; ``live_version`` is the version new runs start from (None before a deploy)."""

    namespace: str
    id: str
    description: str
    live_version: int | None
    created: Timestamp
    updated: Timestamp

    @classmethod
    def from_entity(cls, entity: pipelines.Pipeline) -> Pipeline:
        """Return the wire form of ``entity``."""
        return cls(
            namespace=entity.namespace,
            id=entity.id,
            description=entity.description,
            live_version=entity.live_version,
            created=entity.created,
            updated=entity.updated,
        )


class Version(_Out):
    """One immutable configuration of a pipeline; ``config`` is its canonical form."""

    namespace: str
    pipeline: str
    version: int
    digest: str = pydantic.Field(description="sha256 over the canonical JSON of the config.")
    config: ConfigData
    created: Timestamp

    @classmethod
    def from_entity(cls, entity: pipelines.Version) -> Version:
        """Return the wire form of ``entity``."""
        return cls(
            namespace=entity.namespace,
            pipeline=entity.pipeline,
            version=entity.version,
            digest=entity.digest,
            config=pipelines.canonical(entity.config),
            created=entity.created,
        )


class Reason(_Out):
    """Why a run or task execution is where it is."""

    kind: ReasonKind
    description: str

    @classmethod
    def from_entity(cls, entity: reasons.Reason | None) -> Reason | None:
        """Return the wire form of ``entity`` (None for None)."""
        if entity is None:
            return None
        return cls(kind=entity.kind, description=entity.description)


class Run(_Out):
    """One run of a pipeline version."""

    namespace: str
    pipeline: str
    id: int
    version: int
    state: RunState
    status: RunStatus
    reason: Reason | None
    variables: dict[str, str]
    trigger: str
    created: Timestamp
    started: Timestamp | None
    ended: Timestamp | None
    cancel_requested: bool
    logs_deleted: Timestamp | None = pydantic.Field(
        description="When the run's task logs were deleted (retention or on request); null: kept."
    )

    @classmethod
    def from_entity(cls, entity: runs.Run) -> Run:
        """Return the wire form of ``entity``."""
        return cls(
            namespace=entity.namespace,
            pipeline=entity.pipeline,
            id=entity.id,
            version=entity.version,
            state=entity.state,
            status=entity.status,
            reason=Reason.from_entity(entity.reason),
            variables=dict(entity.variables),
            trigger=entity.trigger,
            created=entity.created,
            started=entity.started,
            ended=entity.ended,
            cancel_requested=entity.cancel_requested,
            logs_deleted=entity.logs_deleted,
        )


class TaskExecution(_Out):
    """One attempt of one task in one run."""

    namespace: str
    pipeline: str
    run: int
    task: str
    attempt: int
    position: int
    state: TaskState
    status: TaskStatus
    reason: Reason | None
    exit_code: int | None
    image_digest: str | None
    container: str | None
    created: Timestamp
    queued: Timestamp | None
    started: Timestamp | None
    ended: Timestamp | None

    @classmethod
    def from_entity(cls, entity: tasks.Execution) -> TaskExecution:
        """Return the wire form of ``entity``."""
        return cls(
            namespace=entity.namespace,
            pipeline=entity.pipeline,
            run=entity.run,
            task=entity.task,
            attempt=entity.attempt,
            position=entity.position,
            state=entity.state,
            status=entity.status,
            reason=Reason.from_entity(entity.reason),
            exit_code=entity.exit_code,
            image_digest=entity.image_digest,
            container=entity.container,
            created=entity.created,
            queued=entity.queued,
            started=entity.started,
            ended=entity.ended,
        )


class LogLine(_Out):
    """One line of a task's output; ``offset`` is its line number from 0."""

    offset: int
    time: Timestamp
    stream: str
    text: str

    @classmethod
    def from_entity(cls, offset: int, entity: ports.LogLine) -> LogLine:
        """Return the wire form of ``entity``, the line at ``offset``."""
        return cls(offset=offset, time=entity.time, stream=entity.stream, text=entity.text)


class Log(_Out):
    """Part of a task's log: lines from an offset on, where to go on, and whether it has ended."""

    lines: list[LogLine]
    next_offset: int
    ended: bool

    @classmethod
    def from_entity(cls, offset: int, chunk: ports.LogChunk) -> Log:
        """Return the wire form of ``chunk``, read from line ``offset``."""
        return cls(
            lines=[LogLine.from_entity(offset + i, line) for i, line in enumerate(chunk.lines)],
            next_offset=chunk.next_offset,
            ended=chunk.ended,
        )


class LogEnd(_Out):
    """The data of the final ``end`` event of a followed log."""

    next_offset: int


class Event(_Out):
    """One entry of the event log. ``id`` increases with every event and is never reused."""

    id: int
    time: Timestamp = pydantic.Field(description="When the change was recorded.")
    kind: EventKind
    namespace: str | None
    pipeline: str | None
    run: int | None
    task: str | None
    attempt: int | None
    data: dict[str, Any] = pydantic.Field(
        description="What changed. State changes: state, status, reason (kind and description, "
        "or null) and previous_state (null for run.created, which adds version and trigger); "
        "version.created: version and digest; pipeline.deployed: from (null when no version "
        "was live) and to."
    )

    @classmethod
    def from_entity(cls, entity: events.Event) -> Event:
        """Return the wire form of ``entity``."""
        return cls(
            id=entity.id,
            time=entity.time,
            kind=entity.kind,
            namespace=entity.namespace,
            pipeline=entity.pipeline,
            run=entity.run,
            task=entity.task,
            attempt=entity.attempt,
            data=dict(entity.data),
        )


class Health(_Out):
    """The server is up; ``version`` is Hostler's."""

    status: Literal["ok"]
    version: str


# ------------------------------------------------------------------------------------------------
# Requests and results of changes
# ------------------------------------------------------------------------------------------------


class NamespaceRequest(_In):
    """Create a namespace."""

    name: str = pydantic.Field(description="Required. An identifier; never changes.")
    description: str = pydantic.Field("", description="Optional.")


class NamespaceResult(_Out):
    """The namespace, and whether the call created it or found it as asked."""

    namespace: Namespace
    result: Literal["created", "unchanged"]


class PipelineRequest(_In):
    """Register a pipeline configuration (and, on the pipelines route, make it live)."""

    config: ConfigData = pydantic.Field(description="Required. The pipeline configuration.")


class UpRequest(PipelineRequest):
    """Register a pipeline configuration and make it live, as planned."""

    planned_against: int | None = pydantic.Field(
        default=None,
        description="Optional. The live version the plan was made against (null: none was live). "
        "When given and the live version is another one by now, nothing changes and the answer "
        "is 409: plan again.",
    )

    @property
    def expected_live(self) -> pipeline_service.ExpectedLive:
        """The live version to expect, or ``UNCHECKED`` when the request does not say."""
        if "planned_against" in self.model_fields_set:
            return self.planned_against
        return pipeline_service.UNCHECKED


class FieldChange(_Out):
    """One field that a deploy changes; env values are never shown, only ``(set)``/``(changed)``."""

    field: str = pydantic.Field(description="A dotted path: image, env.LEVEL, retries.attempts.")
    before: Any = pydantic.Field(description="The live value; null when absent or default.")
    after: Any = pydantic.Field(description="The value after the deploy; null when absent.")


class TaskChange(_Out):
    """One task a deploy adds, removes or changes."""

    task: str
    kind: Literal["added", "removed", "changed"]
    fields: list[FieldChange]


class PlanCounts(_Out):
    """How many tasks a deploy adds, changes and removes."""

    added: int
    changed: int
    removed: int


class Plan(_Out):
    """What making a configuration live would change, against the live version."""

    pipeline: str
    action: Literal["first_deploy", "up_to_date", "upgrade", "rollback"]
    from_version: int | None = pydantic.Field(description="The live version; null when none.")
    to_version: int = pydantic.Field(
        description="The version deployed: an existing one, or the number a new one would get."
    )
    digest: str = pydantic.Field(description="The digest of the planned configuration.")
    registered: bool = pydantic.Field(
        description="True when the configuration is a version already; false when deploying "
        "would register it."
    )
    headline: str
    counts: PlanCounts
    tasks: list[TaskChange]
    settings: list[FieldChange]
    runs_in_flight: int = pydantic.Field(
        description="Runs pending or running now; they finish on the version they started with."
    )
    text: list[str] = pydantic.Field(description="The plan as lines for people, as the CLI shows.")

    @classmethod
    def from_entity(cls, planned: pipeline_service.Planned) -> Plan:
        """Return the wire form of a plan."""
        return cls.model_validate(
            {
                **planned.plan.to_dict(),
                "digest": planned.digest,
                "registered": planned.registered,
                "text": planned.plan.lines(),
            }
        )


class PipelineResult(_Out):
    """What registering and deploying did: a new version, a new live version, or nothing."""

    pipeline: Pipeline
    version: Version
    result: Literal["created", "deployed", "unchanged"]


class VersionResult(_Out):
    """The version, and whether the call created it or found identical content."""

    version: Version
    result: Literal["created", "unchanged"]


class RunRequest(_In):
    """Start a run of the pipeline's live version."""

    variables: dict[str, str] = pydantic.Field(
        default_factory=dict, description="Optional. Run variables, name to value."
    )


class RetryRequest(_In):
    """Retry one task of a run."""

    task: str = pydantic.Field(
        min_length=1,
        max_length=63,
        description="Required. The task to run again; it must have ended failed, lost or "
        "cancelled. The tasks skipped because of it run again too.",
    )


class RetryResult(_Out):
    """The run after a retry request, and the new attempts it added."""

    run: Run
    attempts: list[TaskExecution]


class LogsDeletedResult(_Out):
    """The run after a request to delete its logs, and whether the request changed anything."""

    run: Run
    result: Literal["deleted", "unchanged"]


class CancelResult(_Out):
    """The run after a cancel request, and whether the request changed anything."""

    run: Run
    result: Literal["cancelling", "unchanged"]
