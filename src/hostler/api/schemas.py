"""Wire models: the JSON shapes of the API, built from core entities (see docs/api.md).

Entities stay free of HTTP concerns; each wire model has ``from_entity`` to build it. Timestamps
are ISO 8601 in UTC. Enums that share a Python name in core (``runs.State``, ``tasks.State``) get
their own names on the wire so that the OpenAPI document has one schema per meaning.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, Literal, TypeVar

import pydantic
from pydantic import json_schema

from hostler.core import (
    access,
    deployments,
    events,
    extensions,
    history,
    images,
    namespaces,
    objects,
    pipelines,
    plans,
    ports,
    reasons,
    runs,
    secrets,
    subscriptions,
    tasks,
    tokens,
    updates,
)
from hostler.services import deployments as deployment_service
from hostler.services import installs as install_service
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
    canary: int | None = pydantic.Field(
        description="The deployment whose canary takes a share of new runs; null when none does."
    )
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
            canary=entity.canary,
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
    route: Literal["live", "canary"] = pydantic.Field(
        description="Why the run has its version: the live one, or a canary's candidate."
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
            route=entity.route.value,
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
        "version.created: version and digest; pipeline.canary: deployment, state, version, "
        "percent, reason; pipeline.deployed: from (null when no version "
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


class PlannedAgainst(_In):
    """A request that applies a plan: it says which live version the plan was made against."""

    planned_against: int | None = pydantic.Field(
        default=None,
        description="Optional. The live version the plan was made against (null: none was live). "
        "When given and the live version is another one by now, nothing changes and the answer "
        "is 409: plan again.",
    )

    @property
    def expected_live(self) -> deployment_service.ExpectedLive:
        """The live version to expect, or ``UNCHECKED`` when the request does not say."""
        if "planned_against" in self.model_fields_set:
            return self.planned_against
        return deployment_service.UNCHECKED


class UpRequest(PipelineRequest, PlannedAgainst):
    """Register a pipeline configuration and make it live, as planned."""


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


class TriggerChange(_Out):
    """One trigger a deploy adds, removes or changes."""

    trigger: str = pydantic.Field(description="Its id, or its extension's name.")
    extension: str
    kind: Literal["added", "removed", "changed"]
    description: str = pydantic.Field(description="What it does: 'cron 0 2 * * * (UTC)'.")
    next_fires: list[Timestamp] = pydantic.Field(
        description="Its next fires once deployed, for the schedules Hostler knows (interval, "
        "cron); empty otherwise."
    )
    fields: list[FieldChange]


class PlanCounts(_Out):
    """How many tasks a deploy adds, changes and removes."""

    added: int
    changed: int
    removed: int


class AutoAbort(_In):
    """Abort a canary when more than ``max_failure_rate`` percent of the last ``window`` runs of
    its candidate failed."""

    max_failure_rate: int = pydantic.Field(ge=0, le=99, description="Required. In percent.")
    window: int = pydantic.Field(ge=1, le=1000, description="Required. A number of runs.")


class Tally(_Out):
    """The runs of one version started during a deployment."""

    version: int
    runs: int
    successful: int
    failed: int
    cancelled: int
    success_rate: float | None = pydantic.Field(
        description="Percent of the runs ended successful or failed that succeeded; null if none."
    )


class Routing(_Out):
    """How a canary shares new runs, and how the runs of each version stand since it began."""

    percent: int
    auto_abort: AutoAbort | None
    tallies: list[Tally]


class DeployPlan(_Out):
    """What a deployment would change, against the live version."""

    pipeline: str
    action: Literal[
        "first_deploy",
        "up_to_date",
        "upgrade",
        "rollback",
        "redeploy",
        "canary",
        "promote",
        "abort",
    ]
    from_version: int | None = pydantic.Field(
        description="The live version (null when none); for an abort, the canary's candidate."
    )
    to_version: int = pydantic.Field(
        description="The version deployed; for an abort, the live version every run goes to."
    )
    headline: str
    counts: PlanCounts
    tasks: list[TaskChange]
    settings: list[FieldChange]
    runs_in_flight: int = pydantic.Field(
        description="Runs pending or running now; they finish on the version they started with."
    )
    routing: Routing | None = pydantic.Field(description="For canary plans; null otherwise.")
    missing_secrets: list[str] = pydantic.Field(
        description="Secrets the target version refers to (secret{{NAME}}) that do not exist "
        "yet: the tasks that use them fail until they are set."
    )
    triggers: list[TriggerChange] = pydantic.Field(
        description="Triggers added, changed, then removed."
    )
    notifications: list[TriggerChange] = pydantic.Field(
        description="Notifications added, changed, then removed."
    )
    text: list[str] = pydantic.Field(description="The plan as lines for people, as the CLI shows.")

    @classmethod
    def of(cls, plan: plans.Plan) -> DeployPlan:
        """Return the wire form of ``plan``."""
        return cls.model_validate({**plan.to_dict(), "text": plan.lines()})


class Plan(DeployPlan):
    """What making a configuration live would change, against the live version."""

    digest: str = pydantic.Field(description="The digest of the planned configuration.")
    registered: bool = pydantic.Field(
        description="True when the configuration is a version already; false when deploying "
        "would register it."
    )

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


class DeployRequest(PlannedAgainst):
    """Deploy a version of the pipeline: make it live, or start a canary of it."""

    version: int = pydantic.Field(ge=1, description="Required. The version to deploy.")
    force_same_version: bool = pydantic.Field(
        False, description="Optional. Deploy the live version again; refused (409) without it."
    )
    canary: int | None = pydantic.Field(
        default=None,
        ge=1,
        le=99,
        description="Optional. Start a canary: this percentage of new runs goes to the version, "
        "the rest stay on the live one, until it is promoted or aborted.",
    )
    auto_abort: AutoAbort | None = pydantic.Field(
        default=None, description="Optional, with canary: abort it by itself when it fails."
    )
    dry_run: bool = pydantic.Field(False, description="Optional. Only plan; nothing changes.")

    @pydantic.field_validator("auto_abort")
    @classmethod
    def _abort_needs_canary(
        cls, value: AutoAbort | None, info: pydantic.ValidationInfo
    ) -> AutoAbort | None:
        # A field validator, not a model one, so that the error names ``auto_abort``. ``canary``
        # is validated first; when it is invalid it is missing here and has its own error.
        if value is not None and "canary" in info.data and info.data["canary"] is None:
            raise ValueError("applies to a canary only: give canary too")
        return value

    @property
    def canary_request(self) -> deployment_service.Canary | None:
        """The canary asked for, if any."""
        if self.canary is None:
            return None
        rule = self.auto_abort
        abort = None if rule is None else deployments.AutoAbort(rule.max_failure_rate, rule.window)
        return deployment_service.Canary(self.canary, abort)


class CanaryRequest(_In):
    """Promote or abort the pipeline's canary."""

    candidate: int | None = pydantic.Field(
        default=None,
        description="Optional. The candidate version the plan was made for; when the canary is "
        "of another version by now, nothing changes and the answer is 409.",
    )
    dry_run: bool = pydantic.Field(False, description="Optional. Only plan; nothing changes.")


class Deployment(_Out):
    """One deployment of a pipeline: a version made live, or a canary and how it ended."""

    namespace: str
    pipeline: str
    id: int
    kind: Literal["deploy", "rollback", "redeploy", "canary"]
    state: Literal["deployed", "canary", "promoted", "aborted"]
    from_version: int | None
    to_version: int
    actor: str
    started: Timestamp
    ended: Timestamp | None
    first_run: int = pydantic.Field(description="The first run started under this deployment.")
    percent: int | None = pydantic.Field(description="For a canary: its share of new runs.")
    auto_abort: AutoAbort | None
    routed: int = pydantic.Field(description="For a canary: the runs it has routed so far.")
    reason: str | None = pydantic.Field(description="Why a canary ended, once it has.")

    @classmethod
    def from_entity(cls, entity: deployments.Deployment) -> Deployment:
        """Return the wire form of ``entity``."""
        rule = entity.auto_abort
        return cls.model_validate(
            {
                **{f.name: getattr(entity, f.name) for f in dataclasses.fields(entity)},
                "auto_abort": None if rule is None else dataclasses.asdict(rule),
            }
        )


class DeploymentEntry(Deployment):
    """A deployment with the runs of each version started under it."""

    tallies: list[Tally]

    @classmethod
    def from_entry(cls, entry: deployment_service.Entry) -> DeploymentEntry:
        """Return the wire form of a history entry."""
        tallies = [{**dataclasses.asdict(t), "success_rate": t.success_rate} for t in entry.tallies]
        return cls.model_validate(
            {**Deployment.from_entity(entry.deployment).model_dump(), "tallies": tallies}
        )


class DeployResult(_Out):
    """The plan, and what applying it did (nothing for a dry run)."""

    plan: DeployPlan
    applied: bool = pydantic.Field(description="False for a dry run.")
    pipeline: Pipeline | None = pydantic.Field(description="The pipeline after; null if dry run.")
    deployment: Deployment | None = pydantic.Field(description="The deployment; null if dry run.")

    @classmethod
    def of(cls, plan: plans.Plan, done: deployment_service.Deployed | None) -> DeployResult:
        """Return the answer for ``plan``, applied as ``done`` (None: a dry run)."""
        return cls(
            plan=DeployPlan.of(plan),
            applied=done is not None,
            pipeline=None if done is None else Pipeline.from_entity(done.pipeline),
            deployment=None if done is None else Deployment.from_entity(done.deployment),
        )


class HistoryRecord(_Out):
    """One audited admin operation; ``outcome`` is null while it is in progress."""

    id: int
    kind: str = pydantic.Field(description="The operation: namespace.create, pipeline.deploy ...")
    target: str
    actor: str
    instance: str = pydantic.Field(description="The server instance that ran it.")
    started: Timestamp
    finished: Timestamp | None
    outcome: Literal["succeeded", "unchanged", "failed", "incomplete"] | None
    detail: dict[str, Any]
    error: str | None

    @classmethod
    def from_entity(cls, entity: history.Record) -> HistoryRecord:
        """Return the wire form of ``entity``."""
        return cls.model_validate(
            {f.name: getattr(entity, f.name) for f in dataclasses.fields(entity)}
        )


class Token(_Out):
    """A token's metadata; its secret is shown once, when it is made, and never again."""

    id: str
    name: str
    roles: list[str] = pydantic.Field(description="Roles: admin, namespace-owner:PATTERN, ...")
    created: Timestamp
    created_by: str
    expires: Timestamp | None
    disabled: bool
    run: str | None = pydantic.Field(
        None, description="A run token's run (namespace/pipeline#run); null for other tokens."
    )

    @classmethod
    def from_entity(cls, entity: tokens.Token) -> Token:
        """Return the wire form of ``entity``: never its digest."""
        return cls(
            id=entity.id,
            name=entity.name,
            roles=list(entity.roles),
            created=entity.created,
            created_by=entity.created_by,
            expires=entity.expires,
            disabled=entity.disabled,
            run=str(entity.run) if entity.run is not None else None,
        )


class TokenRequest(_In):
    """Make a token."""

    name: str = pydantic.Field(description="Required. An identifier, unique among tokens.")
    roles: list[str] = pydantic.Field(
        min_length=1,
        max_length=50,
        description="Required. Roles: 'admin', 'namespace-owner:PATTERN', "
        "'namespace-reader:PATTERN', or a role an admin made.",
    )
    expires: Timestamp | None = pydantic.Field(
        default=None, description="Optional. When it stops working; never when absent."
    )


class TokenCreated(_Out):
    """A new token, and its whole text: store it now, it is never shown again."""

    token: Token
    secret: str = pydantic.Field(description="The token to send as 'Authorization: Bearer …'.")


class TokenResult(_Out):
    """The token after a request to disable or enable it, and whether that changed it."""

    token: Token
    result: Literal["changed", "unchanged"]


class GrantData(_In):
    """Actions on kinds of resource in the namespaces a pattern matches."""

    kinds: list[access.Kind] = pydantic.Field(min_length=1, description="Required.")
    actions: list[access.Action] = pydantic.Field(min_length=1, description="Required.")
    pattern: str = pydantic.Field(
        description="Required. Anchored: 'team-*' matches 'team-a', not 'my-team-a'; '*' "
        "alone also reaches what belongs to the whole installation."
    )

    def to_entity(self) -> access.Grant:
        """Return the grant, checking its pattern."""
        return access.Grant(frozenset(self.kinds), frozenset(self.actions), self.pattern)

    @classmethod
    def from_entity(cls, grant: access.Grant) -> GrantData:
        """Return the wire form of ``grant``, kinds and actions in their documented order."""
        return cls(
            kinds=[k for k in access.Kind if k in grant.kinds],
            actions=[a for a in access.Action if a in grant.actions],
            pattern=grant.pattern,
        )


class Role(_Out):
    """A role: built in, or made by an admin."""

    name: str
    description: str
    grants: list[GrantData] = pydantic.Field(
        description="What it grants; empty for the namespace roles, whose pattern comes with "
        "the token that has them."
    )
    builtin: bool

    @classmethod
    def from_entity(cls, entity: access.Role) -> Role:
        """Return the wire form of ``entity``."""
        return cls(
            name=entity.name,
            description=entity.description,
            grants=[GrantData.from_entity(g) for g in entity.grants],
            builtin=entity.builtin,
        )


class RoleRequest(_In):
    """Make a role."""

    name: str = pydantic.Field(description="Required. An identifier.")
    description: str = pydantic.Field("", max_length=1000, description="Optional.")
    grants: list[GrantData] = pydantic.Field(min_length=1, max_length=100, description="Required.")


class Whoami(_Out):
    """Who the server takes the caller for, and what they may do."""

    name: str
    token: str | None = pydantic.Field(description="The token's id; null in development mode.")
    grants: list[GrantData]

    @classmethod
    def from_entity(cls, entity: access.Principal) -> Whoami:
        """Return the wire form of ``entity``."""
        return cls(
            name=entity.name,
            token=entity.token,
            grants=[GrantData.from_entity(g) for g in entity.grants],
        )


class SecretRequest(_In):
    """Set a secret's value."""

    value: str = pydantic.Field(
        min_length=1, description="Required. At most 64 KiB; never returned but to an admin."
    )
    namespaces: list[str] = pydantic.Field(
        default_factory=list,
        max_length=100,
        description="Global secrets only, required there: the namespaces that may use it, as "
        "anchored patterns ('team-*', '*').",
    )


class Secret(_Out):
    """A secret's metadata; ``value`` only when an admin asked for it with ``reveal=true``."""

    scope: Literal["pipeline", "global"]
    namespace: str | None
    pipeline: str | None
    name: str
    namespaces: list[str] = pydantic.Field(description="Global secrets: where they may be used.")
    key: str = pydantic.Field(description="The name of the key its value is encrypted with.")
    created: Timestamp
    updated: Timestamp
    value: str | None = pydantic.Field(None, description="Null unless revealed.")

    @classmethod
    def from_entity(cls, entity: secrets.Secret, value: str | None = None) -> Secret:
        """Return the wire form of ``entity``: never its ciphertext."""
        return cls(
            scope=entity.scope.value,
            namespace=entity.namespace,
            pipeline=entity.pipeline,
            name=entity.name,
            namespaces=list(entity.namespaces),
            key=entity.key,
            created=entity.created,
            updated=entity.updated,
            value=value,
        )


class Object(_Out):
    """An object's metadata: where it belongs, its key, and its content's digest and size."""

    scope: Literal["pipeline", "run"]
    namespace: str
    pipeline: str
    run: int | None = pydantic.Field(description="The run of a run object; null otherwise.")
    key: str
    digest: str = pydantic.Field(description="sha256:<hex> of the content.")
    size: int = pydantic.Field(description="Bytes.")
    created: Timestamp
    created_by: str

    @classmethod
    def from_entity(cls, entity: objects.Object) -> Object:
        """Return the wire form of ``entity``."""
        return cls(
            scope=entity.scope.value,
            namespace=entity.namespace,
            pipeline=entity.pipeline,
            run=entity.run,
            key=entity.key,
            digest=entity.digest,
            size=entity.size,
            created=entity.created,
            created_by=entity.created_by,
        )


class SubscriptionRequest(_In):
    """Subscribe a pipeline to an extension by hand, as a trigger or notification of its file
    would, but kept until it is unsubscribed, whatever version is deployed."""

    id: str | None = pydantic.Field(
        default=None,
        description="Optional. The subscription's key, unique among the pipeline's "
        "subscriptions (its file's triggers and notifications too); the extension's name when "
        "absent.",
    )
    extension: str = pydantic.Field(
        description="Required. The extension to subscribe to, such as interval, cron or notify."
    )
    settings: dict[str, Any] = pydantic.Field(
        default_factory=dict,
        description="Optional. The extension's settings, such as {every: '30s'}; text may refer "
        "to secrets (secret{{NAME}}), resolved when the extension is told.",
    )


class Subscription(_Out):
    """One subscription of a pipeline: from its file (a trigger or notification of its live
    version), or made by hand."""

    namespace: str
    pipeline: str
    key: str = pydantic.Field(description="Its id, else its extension's name.")
    extension: str
    settings: dict[str, Any] = pydantic.Field(
        description="The extension's settings as written: secret references unresolved."
    )
    source: Literal["file", "manual"] = pydantic.Field(
        description="file: the live version's, changed by deploying; manual: made by hand, "
        "kept until it is unsubscribed."
    )
    version: int | None = pydantic.Field(
        description="The live version it comes from; null for one made by hand."
    )
    created: Timestamp | None = pydantic.Field(description="Made by hand: when; null otherwise.")
    created_by: str | None = pydantic.Field(description="Made by hand: by whom; null otherwise.")
    missing_secrets: list[str] = pydantic.Field(
        description="The secrets its settings refer to that cannot be used now (secret{{NAME}}): "
        "while there is one, its extension is not told of it."
    )

    @classmethod
    def from_entity(
        cls, namespace: str, pipeline: str, entity: subscriptions.Entry
    ) -> Subscription:
        """Return the wire form of ``entity``, a subscription of ``namespace/pipeline``."""
        return cls(
            namespace=namespace,
            pipeline=pipeline,
            key=entity.key,
            extension=entity.extension,
            settings=dict(entity.settings),
            source=entity.source.value,
            version=entity.version,
            created=entity.created,
            created_by=entity.created_by,
            missing_secrets=list(entity.missing_secrets),
        )

    @classmethod
    def from_manual(
        cls, entity: subscriptions.Manual, missing_secrets: Sequence[str] = ()
    ) -> Subscription:
        """Return the wire form of a subscription made by hand, waiting for
        ``missing_secrets``."""
        entry = dataclasses.replace(entity.entry(), missing_secrets=tuple(missing_secrets))
        return cls.from_entity(entity.namespace, entity.pipeline, entry)


class SubscriptionList(_Out):
    """A pipeline's subscriptions: its file's in their order, then those made by hand by key."""

    items: list[Subscription]


class Extension(_Out):
    """An installed extension and how it stands."""

    name: str
    state: Literal["starting", "running", "unhealthy", "waiting"] = pydantic.Field(
        description="running: it answers and holds its subscriptions; waiting: it stopped and "
        "starts again after its back-off."
    )
    pid: int | None = pydantic.Field(
        description="Its process; null when it is not running, or runs in a container."
    )
    container: str | None = pydantic.Field(
        description="The short id of its container, for one installed from an image that runs; "
        "else null."
    )
    restarts: int = pydantic.Field(description="Times it was started again since the server did.")
    subscriptions: int = pydantic.Field(description="Subscriptions it holds.")

    @classmethod
    def from_entity(cls, entity: extensions.Status) -> Extension:
        """Return the wire form of ``entity``."""
        return cls(
            name=entity.name,
            state=entity.state.value,
            pid=entity.pid,
            container=entity.container,
            restarts=entity.restarts,
            subscriptions=entity.subscriptions,
        )


class ExtensionList(_Out):
    """Every installed extension, by name."""

    items: list[Extension]


class ExtensionLog(_Out):
    """The last lines of an extension's output."""

    name: str
    lines: list[str] = pydantic.Field(description="Oldest first; each a JSON log record.")


class InstalledExtension(_Out):
    """An extension installed from an image. Its configuration's values are never returned."""

    name: str
    image: str = pydantic.Field(description="The image it was installed from: a tag, or an id.")
    image_id: str = pydantic.Field(description="That image's id when it was installed.")
    version: str = pydantic.Field(description="A semantic version.")
    pin: int | None = pydantic.Field(
        description="The major version updates stay within; null: any."
    )
    config_keys: list[str] = pydantic.Field(
        description="The keys of its HOSTLER_EXTENSION_CONFIG_* values; the values are never "
        "returned (they may be tokens)."
    )
    installed: Timestamp = pydantic.Field(description="When this version was installed.")
    installed_by: str
    subscriptions: int = pydantic.Field(description="Subscriptions wanted of it.")

    @classmethod
    def from_entity(cls, entity: images.Installed, subscriptions: int) -> InstalledExtension:
        """Return the wire form of ``entity``, which holds ``subscriptions``: never its
        configuration's values."""
        return cls(
            name=entity.name,
            image=entity.image,
            image_id=entity.image_id,
            version=str(entity.version),
            pin=entity.pin,
            config_keys=sorted(entity.config),
            installed=entity.installed,
            installed_by=entity.installed_by,
            subscriptions=subscriptions,
        )


class InstalledExtensionList(_Out):
    """Every extension installed from an image, by name."""

    items: list[InstalledExtension]


class ExtensionChange(_Out):
    """What an install or update does to one extension."""

    extension: str
    action: Literal["install", "upgrade", "downgrade", "reinstall", "pin", "none"] = pydantic.Field(
        description="pin: only its pin changes, it has the newest version of that major "
        "already; none: it has the version asked for (or the newest) already."
    )
    from_version: str | None = pydantic.Field(description="Null for an install.")
    to_version: str
    image: str = pydantic.Field(description="The image it goes to.")
    pin: int | None = pydantic.Field(description="The major version it is pinned to after.")
    subscriptions: int = pydantic.Field(description="Subscriptions affected.")


class ExtensionPlan(_Out):
    """What an install or update of extensions would change."""

    up_to_date: bool = pydantic.Field(description="True when it changes nothing.")
    changes: list[ExtensionChange] = pydantic.Field(description="One per extension, by name.")
    text: list[str] = pydantic.Field(
        description="The plan as lines for people, as the CLI shows: 'Up-to-date.' when it "
        "changes nothing."
    )

    @classmethod
    def of(cls, plan: updates.Plan) -> ExtensionPlan:
        """Return the wire form of ``plan``."""
        return cls.model_validate({**plan.to_dict(), "text": plan.lines()})


class ExtensionResult(_Out):
    """The plan, and what applying it did (nothing for a dry run)."""

    plan: ExtensionPlan
    planned: str = pydantic.Field(
        description="The plan's digest: send it back as planned to apply this plan and no other."
    )
    applied: bool = pydantic.Field(description="False for a dry run.")
    extensions: list[InstalledExtension] = pydantic.Field(
        description="The extensions it changed, as they are now; empty for a dry run."
    )

    @classmethod
    def of(
        cls,
        planned: install_service.Planned | install_service.Done,
        done: install_service.Done | None,
        counts: dict[str, int],
    ) -> ExtensionResult:
        """Return the answer for ``planned``, applied as ``done`` (None: a dry run); ``counts``
        gives the subscriptions of each extension."""
        return cls(
            plan=ExtensionPlan.of(planned.plan),
            planned=planned.digest,
            applied=done is not None,
            extensions=[]
            if done is None
            else [InstalledExtension.from_entity(e, counts.get(e.name, 0)) for e in done.changed],
        )


_VERSION = pydantic.Field(
    default=None,
    max_length=255,
    description="Optional. A version (1.3.0), or a major version (1), which pins the extension "
    "to it: later updates stay within it. Absent: the newest (within the pin, for an update).",
)


_PLANNED = pydantic.Field(
    default=None,
    max_length=100,
    description="Optional. The digest of the plan shown (planned, from a dry run): the change "
    "is refused (409, naming planned) if the plan is no longer that one.",
)


class InstallRequest(_In):
    """Install an extension from an image present on the engine."""

    name: str = pydantic.Field(
        max_length=63, description="Required. Lower-case letters, digits and dashes."
    )
    image: str = pydantic.Field(
        min_length=1,
        max_length=1024,
        description="Required. An image reference (hostler-ext-slack:1.3.0), or a repository "
        "(hostler-ext-slack) whose newest version (or version) is taken. Its label "
        "dev.hostler.extension.name must be name.",
    )
    version: str | None = _VERSION
    config: dict[str, str] = pydantic.Field(
        default_factory=dict,
        description="Optional. Its HOSTLER_EXTENSION_CONFIG_* values by key without the prefix "
        "({TOKEN: '...'}); never returned.",
    )
    dry_run: bool = pydantic.Field(False, description="Optional. Only plan; nothing changes.")
    planned: str | None = _PLANNED


class UpdateAllRequest(_In):
    """Update every extension installed from an image to its newest version, within its pin."""

    allow_downgrade: bool = pydantic.Field(
        False, description="Optional. Go to an older version; refused (409) without it."
    )
    force_same_version: bool = pydantic.Field(
        False,
        description="Optional. Install the installed version again; refused (409) without it.",
    )
    dry_run: bool = pydantic.Field(False, description="Optional. Only plan; nothing changes.")
    planned: str | None = _PLANNED


class UpdateRequest(UpdateAllRequest):
    """Update an extension installed from an image."""

    version: str | None = _VERSION


class AvailableVersion(_Out):
    """A newer version of an extension on the engine."""

    version: str
    image: str


class AvailableExtension(_Out):
    """An extension installed from an image, and the newer versions the engine has of it."""

    name: str
    version: str
    pin: int | None
    newer: list[AvailableVersion] = pydantic.Field(
        description="Within its pin, newest first, no prereleases; empty when it is up to date."
    )

    @classmethod
    def from_entity(cls, entity: install_service.Available) -> AvailableExtension:
        """Return the wire form of ``entity``."""
        return cls(
            name=entity.extension.name,
            version=str(entity.extension.version),
            pin=entity.extension.pin,
            newer=[
                AvailableVersion(version=str(i.version), image=i.reference) for i in entity.newer
            ],
        )


class AvailableList(_Out):
    """Every extension installed from an image, by name, with its newer versions."""

    items: list[AvailableExtension]
    up_to_date: bool = pydantic.Field(description="True when none has a newer version.")


class RotateResult(_Out):
    """What re-encrypting the secrets did."""

    secrets: int = pydantic.Field(
        description="How many values were encrypted again (secrets, and configuration values "
        "of extensions installed from images)."
    )
    key: str = pydantic.Field(description="The name of the key they are encrypted with now.")
