"""Events: the append-only record of what happened, and the filters that select from it.

The store writes one event per change, in the same transaction as the change itself, and gives it
the next id of one increasing sequence that never reuses an id. A reader that remembers the last id
it saw can therefore ask for "everything after it" and miss nothing, see nothing twice.

Kinds are stable strings, safe to match on in scripts: ``namespace.created``, ``version.created``,
``pipeline.deployed`` (the live version changed), ``pipeline.canary`` (a canary began, was
promoted or was aborted), ``run.created``, ``run.<state>`` for each later
change of a run's state or status, and ``task.<state>`` for each change of a task execution's
state or status. A run's creation is one ``run.created``; its task executions, created with it in
``waiting``, add no event of their own. A later attempt of a task (a retry) is one
``task.retried``. ``object.stored``, ``object.deleted``, ``object.evicted`` (beyond a pipeline's
count of objects) and ``object.expired`` (a run object of a run grown old) follow objects.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping

from hostler.core import deployments, errors, namespaces, objects, pipelines, reasons, runs, tasks

NAMESPACE_CREATED = "namespace.created"
VERSION_CREATED = "version.created"
PIPELINE_DEPLOYED = "pipeline.deployed"
PIPELINE_CANARY = "pipeline.canary"
RUN_CREATED = "run.created"
TASK_RETRIED = "task.retried"
OBJECT_STORED = "object.stored"
OBJECT_DELETED = "object.deleted"
OBJECT_EVICTED = "object.evicted"
OBJECT_EXPIRED = "object.expired"


def run_kind(state: runs.State) -> str:
    """Return the kind of the event that records a run reaching ``state``: ``run.<state>``."""
    return f"run.{state.value}"


def task_kind(state: tasks.State) -> str:
    """Return the kind of the event that records a task execution reaching ``state``."""
    return f"task.{state.value}"


KINDS: tuple[str, ...] = (
    NAMESPACE_CREATED,
    VERSION_CREATED,
    PIPELINE_DEPLOYED,
    PIPELINE_CANARY,
    RUN_CREATED,
    *(run_kind(s) for s in runs.State),
    TASK_RETRIED,
    *(task_kind(s) for s in tasks.State if s is not tasks.State.WAITING),
    OBJECT_STORED,
    OBJECT_DELETED,
    OBJECT_EVICTED,
    OBJECT_EXPIRED,
)
"""Every kind of event, in the order of a thing's life. Task executions start ``waiting`` and never
go back there, so that state has no kind; a run starts ``pending`` (``run.created``) and goes back
there when a task of it is retried by hand (``run.pending``)."""

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(kind.partition(".")[0] for kind in KINDS))
"""The part of each kind before the dot; ``run.*`` in a filter matches every kind of ``run``."""

_WILDCARD = ".*"


@dataclasses.dataclass(frozen=True)
class Event:
    """One thing that happened. Immutable; events are never changed once stored.

    The subject fields say what it happened to, from the namespace down to the task attempt; those
    that do not apply are None (a ``namespace.created`` has only ``namespace``).
    """

    id: int
    """Required. The position in the event log, from 1; 0 for an event not yet stored."""
    time: datetime.datetime
    """Required. When the store recorded the event, in UTC."""
    kind: str
    """Required. One of ``KINDS``."""
    namespace: str | None
    pipeline: str | None = None
    run: int | None = None
    task: str | None = None
    attempt: int | None = None
    data: Mapping[str, object] = dataclasses.field(default_factory=dict)
    """What changed, as JSON values. State changes: ``state``, ``status``, ``reason``
    (``{"kind", "description"}`` or None) and ``previous_state`` (None for ``run.created``);
    ``version.created``: ``version`` and ``digest``; ``pipeline.deployed``: ``from`` (None when
    no version was live) and ``to``; ``pipeline.canary``: ``deployment``, ``state`` (``canary``,
    ``promoted`` or ``aborted``), ``version`` (the candidate), ``percent`` and ``reason``;
    ``object.*``: ``key``, ``scope``, ``digest`` and ``size``."""


@dataclasses.dataclass(frozen=True)
class Filter:
    """Which events a reader wants: every field given must match; empty fields match anything.

    ``kinds`` holds exact kinds and family wildcards such as ``run.*``; an event matches when its
    kind matches any of them.
    """

    kinds: tuple[str, ...] = ()
    namespace: str | None = None
    pipeline: str | None = None
    run: int | None = None

    def matches(self, event: Event) -> bool:
        """Tell whether ``event`` passes this filter."""
        return (
            (not self.kinds or any(kind_matches(pattern, event.kind) for pattern in self.kinds))
            and (self.namespace is None or event.namespace == self.namespace)
            and (self.pipeline is None or event.pipeline == self.pipeline)
            and (self.run is None or event.run == self.run)
        )


def kind_matches(pattern: str, kind: str) -> bool:
    """Tell whether ``kind`` is ``pattern``, or belongs to the family of a ``family.*`` pattern."""
    if pattern.endswith(_WILDCARD):
        return kind.startswith(pattern[:-1])
    return kind == pattern


def family_prefix(pattern: str) -> str | None:
    """Return ``run.`` for the wildcard ``run.*``, and None for an exact kind."""
    return pattern[:-1] if pattern.endswith(_WILDCARD) else None


def check_kinds(patterns: Iterable[str], *, field: str = "kind") -> tuple[str, ...]:
    """Return ``patterns`` if each is a known kind or ``family.*``; else raise InvalidArgument."""
    checked = tuple(patterns)
    for pattern in checked:
        prefix = family_prefix(pattern)
        known = pattern in KINDS if prefix is None else prefix.removesuffix(".") in FAMILIES
        if not known:
            raise errors.InvalidArgument(
                f"event kind '{pattern}': not a known kind",
                field=field,
                hint=f"use one of {', '.join(KINDS)}; or a whole family: "
                + ", ".join(f"{family}{_WILDCARD}" for family in FAMILIES),
            )
    return checked


# -- the events of each change; the store calls these inside the change's transaction ----------


def reason_data(reason: reasons.Reason | None) -> dict[str, str] | None:
    """Return ``reason`` as JSON values: ``{"kind", "description"}``, or None."""
    if reason is None:
        return None
    return {"kind": reason.kind.value, "description": reason.description}


def namespace_created(namespace: namespaces.Namespace, time: datetime.datetime) -> Event:
    """Return the event of ``namespace``'s creation."""
    return Event(0, time, NAMESPACE_CREATED, namespace.name)


def version_created(version: pipelines.Version, time: datetime.datetime) -> Event:
    """Return the event of a new version of a pipeline."""
    return Event(
        0,
        time,
        VERSION_CREATED,
        version.namespace,
        version.pipeline,
        data={"version": version.version, "digest": version.digest},
    )


def pipeline_deployed(
    before: int | None, after: pipelines.Pipeline, time: datetime.datetime
) -> Event | None:
    """Return the event of a pipeline now ``after`` whose live version was ``before``, or None
    when the live version did not change."""
    if before == after.live_version:
        return None
    return Event(
        0,
        time,
        PIPELINE_DEPLOYED,
        after.namespace,
        after.id,
        data={"from": before, "to": after.live_version},
    )


def canary_changed(deployment: deployments.Deployment, time: datetime.datetime) -> Event | None:
    """Return the event of a canary deployment saved in its new state, or None for a deployment
    that is not a canary."""
    if deployment.kind is not deployments.Kind.CANARY:
        return None
    return Event(
        0,
        time,
        PIPELINE_CANARY,
        deployment.namespace,
        deployment.pipeline,
        data={
            "deployment": deployment.id,
            "state": deployment.state.value,
            "version": deployment.to_version,
            "percent": deployment.percent,
            "reason": deployment.reason,
        },
    )


def object_changed(kind: str, obj: objects.Object, time: datetime.datetime) -> Event:
    """Return the event ``kind`` (one of the ``object.*`` kinds) of ``obj``."""
    return Event(
        0,
        time,
        kind,
        obj.namespace,
        obj.pipeline,
        obj.run,
        data={"key": obj.key, "scope": obj.scope.value, "digest": obj.digest, "size": obj.size},
    )


def run_created(run: runs.Run, time: datetime.datetime) -> Event:
    """Return the event of a new run (its task executions get none of their own)."""
    return Event(
        0,
        time,
        RUN_CREATED,
        run.namespace,
        run.pipeline,
        run.id,
        data={**_state_data(run, None), "version": run.version, "trigger": run.trigger},
    )


def attempt_created(execution: tasks.Execution, time: datetime.datetime) -> Event:
    """Return the event of a new attempt of a task: ``task.retried``."""
    return Event(
        0,
        time,
        TASK_RETRIED,
        execution.namespace,
        execution.pipeline,
        execution.run,
        execution.task,
        execution.attempt,
        data=_state_data(execution, None),
    )


def run_changed(
    before: tuple[runs.State, runs.Status], after: runs.Run, time: datetime.datetime
) -> Event | None:
    """Return the event of a run now ``after`` that was in ``before`` (its state and status), or
    None when neither changed."""
    if before == (after.state, after.status):
        return None
    return Event(
        0,
        time,
        run_kind(after.state),
        after.namespace,
        after.pipeline,
        after.id,
        data=_state_data(after, before[0]),
    )


def execution_changed(
    before: tuple[tasks.State, tasks.Status], after: tasks.Execution, time: datetime.datetime
) -> Event | None:
    """Return the event of a task execution now ``after`` that was in ``before`` (its state and
    status), or None when neither changed."""
    if before == (after.state, after.status):
        return None
    return Event(
        0,
        time,
        task_kind(after.state),
        after.namespace,
        after.pipeline,
        after.run,
        after.task,
        after.attempt,
        data=_state_data(after, before[0]),
    )


def _state_data(
    subject: runs.Run | tasks.Execution, previous: runs.State | tasks.State | None
) -> dict[str, object]:
    return {
        "state": subject.state.value,
        "status": subject.status.value,
        "reason": reason_data(subject.reason),
        "previous_state": None if previous is None else previous.value,
    }
