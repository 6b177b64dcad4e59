"""Plans: what deploying a pipeline version would change, worked out before anything is applied.

A plan compares the target version with the live one over their canonical forms (defaults left out,
see ``pipelines.canonical``), so a field left out and a field set to its default are equal. It has
one section per kind of thing that changes, each of one of two shapes:

- a list of ``TaskChange``: things with an id that are added, removed or changed field by field
  (tasks; triggers are ``TriggerChange``, of the same shape with what the trigger does and, for
  the schedules Hostler knows, its next fires);
- a list of ``FieldChange``: plain fields of the pipeline (``settings``).

A canary plan (start, promote, abort) also carries its ``Routing``: the share of new runs the
candidate takes, the automatic abort rule, and how the runs of each version stand so far.

``lines()`` renders a plan for people and ``to_dict()`` for the API; both walk the sections with one
helper per shape, so a new section is one more field here and one more call in each.

Environment values are never shown: an env change says only that a key was added, removed or
changed (its ``before`` and ``after`` are ``SET``, ``CHANGED`` or None), because env often carries
credentials and secret references.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hostler.core import deployments, durations, errors, pipelines, schedules, subscriptions


class Action(enum.StrEnum):
    """What a deploy does to the pipeline as a whole."""

    FIRST_DEPLOY = "first_deploy"
    UP_TO_DATE = "up_to_date"
    UPGRADE = "upgrade"
    ROLLBACK = "rollback"
    REDEPLOY = "redeploy"
    """The live version deployed again; nothing changes (``force_same_version``)."""
    CANARY = "canary"
    """A share of new runs goes to the target; the rest stay on the live version."""
    PROMOTE = "promote"
    """The canary's candidate becomes the live version."""
    ABORT = "abort"
    """The canary is dropped: every new run is on the live version again (``to_version``)."""


class Change(enum.StrEnum):
    """What happens to one task (or other item with an id)."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


SET = "(set)"
"""A set env key: ``before`` of a changed or removed key, ``after`` of an added one."""

CHANGED = "(changed)"
"""The ``after`` of an env key whose value changes: its value is never shown."""

_REDACTED = frozenset({"env"})
_MAPS = frozenset({"env", "depends_on"})
_NESTED = {"retries": tuple(pipelines.Retries.model_fields)}
_DURATIONS = frozenset({"timeout", "retries.backoff", "retries.max_backoff"})
_TASK_FIELDS = tuple(name for name in pipelines.TaskConfig.model_fields if name != "id")
_SETTINGS = tuple(
    name
    for name in pipelines.Config.model_fields
    if name not in ("id", "tasks", "triggers", "notifications")
)
NEXT_FIRES = 3
"""How many next fires a plan shows for a schedule."""
_ORDER = "task_order"
_NAME_WIDTH = 26


@dataclasses.dataclass(frozen=True)
class FieldChange:
    """One field that changes. Immutable.

    ``field`` is a dotted path relative to its task or to the pipeline (``image``, ``env.LEVEL``,
    ``depends_on.fetch``, ``retries.attempts``). ``before`` and ``after`` are canonical JSON values,
    None when the field is absent or at its default; env values are masked (see ``SET``).
    """

    field: str
    before: Any
    after: Any

    def describe(self) -> str:
        """Return the change as one line for people, e.g. ``timeout: 30s → 1m``."""
        if self.field.split(".")[0] in _REDACTED:
            verb = (
                "added" if self.before is None else "removed" if self.after is None else "changed"
            )
            return f"{self.field}: {verb}"
        return f"{self.field}: {_show(self.field, self.before)} → {_show(self.field, self.after)}"

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-compatible data."""
        return {
            "field": self.field,
            "before": copy.deepcopy(self.before),
            "after": copy.deepcopy(self.after),
        }


@dataclasses.dataclass(frozen=True)
class TaskChange:
    """One task added, removed or changed. Immutable.

    ``fields`` lists what differs for a changed task, and every field an added task sets (before
    None), so that the API can show what a new task runs; it is empty for a removed task.
    """

    task: str
    kind: Change
    fields: list[FieldChange] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        """Return the change as indented lines for people; an added task takes one line."""
        if self.kind is Change.CHANGED:
            return [f"  ~ {self.task}", *(f"      {f.describe()}" for f in self.fields)]
        mark = "+" if self.kind is Change.ADDED else "-"
        return [f"  {mark} {self.task.ljust(_NAME_WIDTH - 1)} ({self.kind.value})"]

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-compatible data."""
        return {
            "task": self.task,
            "kind": self.kind.value,
            "fields": [f.to_dict() for f in self.fields],
        }


@dataclasses.dataclass(frozen=True)
class TriggerChange:
    """One trigger added, removed or changed. Immutable.

    ``description`` says what it does (``cron 0 2 * * * (UTC)``, ``every 30s``, or its extension
    for one whose schedule Hostler does not know); ``next_fires`` are its next fires once
    deployed, for schedules only; ``fields`` are the settings that differ.
    """

    trigger: str
    extension: str
    kind: Change
    description: str
    next_fires: list[datetime.datetime] = dataclasses.field(default_factory=list)
    fields: list[FieldChange] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        """Return the change as indented lines for people."""
        mark = {Change.ADDED: "+", Change.REMOVED: "-", Change.CHANGED: "~"}[self.kind]
        head = f"  {mark} {self.trigger.ljust(_NAME_WIDTH - 1)} {self.description}"
        if self.kind is Change.REMOVED:
            return [f"{head} (removed)"]
        out = [head, *(f"      {f.describe()}" for f in self.fields)]
        if self.next_fires:
            fires = ", ".join(f"{t:%Y-%m-%d %H:%M:%S}" for t in self.next_fires)
            out.append(f"      next fires (UTC): {fires}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-compatible data."""
        return {
            "trigger": self.trigger,
            "extension": self.extension,
            "kind": self.kind.value,
            "description": self.description,
            "next_fires": [t.isoformat() for t in self.next_fires],
            "fields": [f.to_dict() for f in self.fields],
        }


@dataclasses.dataclass(frozen=True)
class Routing:
    """How a canary shares new runs. Immutable.

    ``percent`` of new runs go to the candidate; ``tallies`` are the runs of each version since
    the canary began (empty when it is about to begin).
    """

    percent: int
    auto_abort: deployments.AutoAbort | None = None
    tallies: list[deployments.Tally] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the routing as JSON-compatible data."""
        rule = self.auto_abort
        return {
            "percent": self.percent,
            "auto_abort": None if rule is None else dataclasses.asdict(rule),
            "tallies": [
                {**dataclasses.asdict(t), "success_rate": t.success_rate} for t in self.tallies
            ],
        }


@dataclasses.dataclass(frozen=True)
class Plan:
    """What deploying ``to_version`` of ``pipeline`` would change. Immutable; built by ``make``.

    ``tasks`` lists changed tasks in the target's order, then removed tasks in the live order.
    ``settings`` lists changed pipeline fields (description, parallelism, timeout), and
    ``task_order`` when only the order of the tasks both versions share differs.
    ``runs_in_flight`` runs are unaffected: they finish on ``from_version``. ``routing`` is set
    for the canary actions.
    """

    pipeline: str
    action: Action
    from_version: int | None
    to_version: int
    tasks: list[TaskChange] = dataclasses.field(default_factory=list)
    settings: list[FieldChange] = dataclasses.field(default_factory=list)
    runs_in_flight: int = 0
    routing: Routing | None = None
    missing_secrets: list[str] = dataclasses.field(default_factory=list)
    """References (``secret{{NAME}}``) of the target that no secret answers yet."""
    triggers: list[TriggerChange] = dataclasses.field(default_factory=list)
    """Triggers added, changed (in the target's order), then removed."""
    notifications: list[TriggerChange] = dataclasses.field(default_factory=list)
    """Notifications added, changed (in the target's order), then removed."""

    @property
    def added(self) -> int:
        """The number of tasks added."""
        return self._count(Change.ADDED)

    @property
    def changed(self) -> int:
        """The number of tasks changed."""
        return self._count(Change.CHANGED)

    @property
    def removed(self) -> int:
        """The number of tasks removed."""
        return self._count(Change.REMOVED)

    @property
    def headline(self) -> str:
        """The plan in one line, e.g. ``Deploy hello v3 → v4: 1 task added, 2 changed, 0 removed``.

        Only the first count carries the word task, in the singular for exactly one.
        """
        name, old, new = self.pipeline, self.from_version, self.to_version
        if self.action is Action.UP_TO_DATE:
            return "Up-to-date."
        if self.action is Action.REDEPLOY:
            return f"Redeploy {name} v{new}, the live version: no task changes"
        if self.action is Action.ABORT:
            return f"Abort the canary of {name} v{old}: every new run goes to v{new} again"
        added = f"{self.added} {'task' if self.added == 1 else 'tasks'} added"
        if self.action is Action.FIRST_DEPLOY:
            return f"Deploy {name} (first version) v{new}: {added}"
        counts = f"{added}, {self.changed} changed, {self.removed} removed"
        if self.action is Action.CANARY and self.routing is not None:
            return f"Canary {name} v{old} → v{new} at {self.routing.percent}%: {counts}"
        verb = {Action.ROLLBACK: "ROLLBACK", Action.PROMOTE: "Promote"}.get(self.action, "Deploy")
        return f"{verb} {name} v{old} → v{new}: {counts}"

    def lines(self) -> list[str]:
        """Return the whole plan as lines of plain text for people, without line ends."""
        out = [self.headline]
        if self.action is Action.UP_TO_DATE:
            return out
        if self.tasks:
            out += ["", "Tasks:", *(line for change in self.tasks for line in change.lines())]
        if self.settings:
            out += ["", "Settings:", *(f"  {change.describe()}" for change in self.settings)]
        if self.triggers:
            out += ["", "Triggers:", *(line for change in self.triggers for line in change.lines())]
        if self.notifications:
            changes = self.notifications
            out += ["", "Notifications:", *(line for change in changes for line in change.lines())]
        if self.routing is not None:
            out += ["", "Routing:", *(f"  {line}" for line in self._routing(self.routing))]
        if self.missing_secrets:
            out += [
                "",
                "Secrets missing (tasks that use them fail until they are set):",
                *(f"  {ref}" for ref in self.missing_secrets),
            ]
        if self.action is not Action.FIRST_DEPLOY:
            out += ["", f"Runs in flight: {self._runs()}"]
        return out

    def _routing(self, routing: Routing) -> list[str]:
        if self.action is Action.CANARY:
            lines = [
                f"{routing.percent}% of new runs go to v{self.to_version}, "
                f"the rest to v{self.from_version}"
            ]
            if routing.auto_abort is not None:
                lines.append(routing.auto_abort.describe())
            return lines
        lines = [f"the canary took {routing.percent}% of new runs"]
        if self.action is Action.PROMOTE:
            lines.append(f"every new run goes to v{self.to_version} from now on")
        if routing.tallies:
            lines += [
                "runs since the canary began:",
                *(f"  {t.describe()}" for t in routing.tallies),
            ]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-compatible data, for the API."""
        return {
            "pipeline": self.pipeline,
            "action": self.action.value,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "headline": self.headline,
            "counts": {"added": self.added, "changed": self.changed, "removed": self.removed},
            "tasks": [change.to_dict() for change in self.tasks],
            "settings": [change.to_dict() for change in self.settings],
            "runs_in_flight": self.runs_in_flight,
            "routing": None if self.routing is None else self.routing.to_dict(),
            "missing_secrets": list(self.missing_secrets),
            "triggers": [change.to_dict() for change in self.triggers],
            "notifications": [change.to_dict() for change in self.notifications],
        }

    def _count(self, kind: Change) -> int:
        return sum(1 for change in self.tasks if change.kind is kind)

    def _runs(self) -> str:
        if self.runs_in_flight == 0:
            return "none"
        one = self.runs_in_flight == 1
        they = "it finishes" if one else "they finish"
        # with a canary, runs in flight are on either version
        on = ("its" if one else "their") + " version" if self.routing else f"v{self.from_version}"
        return f"{self.runs_in_flight} ({they} on {on})"


def make(
    pipeline_id: str,
    live: pipelines.Version | None,
    target: pipelines.Version,
    *,
    active_runs: int = 0,
    force_same_version: bool = False,
    now: datetime.datetime | None = None,
) -> Plan:
    """Return the plan of making ``target`` live in place of ``live`` (None: nothing is live yet).

    ``active_runs`` is the number of runs in flight on ``live``; schedules added or changed show
    their next fires after ``now`` when it is given. The live version as target is
    ``up_to_date``, or ``redeploy`` with ``force_same_version``. Raises InvalidArgument when
    ``active_runs`` is negative, or when ``live`` and ``target`` share a version number but not a
    digest.
    """
    if active_runs < 0:
        raise errors.InvalidArgument(
            f"pipeline '{pipeline_id}': active runs must be zero or more, not {active_runs}",
            field="active_runs",
        )
    if live is None:
        action = Action.FIRST_DEPLOY
    elif live.digest == target.digest:
        same = Action.REDEPLOY if force_same_version else Action.UP_TO_DATE
        return Plan(pipeline_id, same, live.version, target.version, [], [], active_runs)
    elif target.version == live.version:
        raise errors.InvalidArgument(
            f"pipeline '{pipeline_id}': v{target.version} has two digests, live and target",
            field="target",
            hint="pass the stored versions, not edited copies",
        )
    else:
        action = Action.UPGRADE if target.version > live.version else Action.ROLLBACK
    before = pipelines.canonical(live.config) if live is not None else {"tasks": []}
    after = pipelines.canonical(target.config)
    return Plan(
        pipeline=pipeline_id,
        action=action,
        from_version=live.version if live is not None else None,
        to_version=target.version,
        tasks=_tasks(before["tasks"], after["tasks"]),
        settings=_fields(before, after, _SETTINGS) + _order(before["tasks"], after["tasks"]),
        runs_in_flight=active_runs,
        triggers=_triggers(
            live.config.triggers if live is not None else [], target, target.config.triggers, now
        ),
        notifications=_triggers(
            live.config.notifications if live is not None else [],
            target,
            target.config.notifications,
            now,
        ),
    )


def canary(
    pipeline_id: str,
    live: pipelines.Version,
    candidate: pipelines.Version,
    routing: Routing,
    *,
    active_runs: int = 0,
    now: datetime.datetime | None = None,
) -> Plan:
    """Return the plan of starting a canary of ``candidate`` next to ``live``.

    FailedPrecondition when the candidate is the live version.
    """
    changes = make(pipeline_id, live, candidate, active_runs=active_runs, now=now)
    if changes.action is Action.UP_TO_DATE:
        raise errors.FailedPrecondition(
            f"pipeline '{pipeline_id}': v{candidate.version} is the live version; "
            "a canary needs another one",
            field="version",
            hint="register the new version with 'hostler pipeline up FILE --dry-run' and "
            "canary its number",
        )
    return dataclasses.replace(changes, action=Action.CANARY, routing=routing)


def promote(
    pipeline_id: str,
    live: pipelines.Version,
    candidate: pipelines.Version,
    routing: Routing,
    *,
    active_runs: int = 0,
    now: datetime.datetime | None = None,
) -> Plan:
    """Return the plan of making a canary's ``candidate`` the live version."""
    changes = make(pipeline_id, live, candidate, active_runs=active_runs, now=now)
    return dataclasses.replace(changes, action=Action.PROMOTE, routing=routing)


def abort(
    pipeline_id: str,
    live: pipelines.Version,
    candidate: pipelines.Version,
    routing: Routing,
    *,
    active_runs: int = 0,
) -> Plan:
    """Return the plan of dropping a canary of ``candidate``: nothing changes for ``live``."""
    return Plan(
        pipeline_id,
        Action.ABORT,
        candidate.version,
        live.version,
        runs_in_flight=active_runs,
        routing=routing,
    )


def _triggers(
    live: Sequence[pipelines.TriggerConfig],
    target: pipelines.Version,
    wanted: Sequence[pipelines.TriggerConfig],
    now: datetime.datetime | None,
) -> list[TriggerChange]:
    old = {t.key: t for t in live}
    new = {t.key: t for t in wanted}
    changes = []
    for key, trigger in new.items():
        before = old.get(key)
        if before == trigger:
            continue
        fields = _keys(
            "settings",
            before.settings if before is not None else {},
            trigger.settings,
            masked=False,
        )
        if before is not None and before.extension != trigger.extension:
            fields.insert(0, FieldChange("extension", before.extension, trigger.extension))
        schedule = _schedule(
            trigger, subscriptions.subscription_id(target.namespace, target.pipeline, key)
        )
        changes.append(
            TriggerChange(
                key,
                trigger.extension,
                Change.ADDED if before is None else Change.CHANGED,
                _describe(trigger, schedule),
                schedules.upcoming(schedule, now, NEXT_FIRES)
                if schedule is not None and now is not None
                else [],
                fields if before is not None else [],
            )
        )
    for key, trigger in old.items():
        if key not in new:
            changes.append(
                TriggerChange(
                    key,
                    trigger.extension,
                    Change.REMOVED,
                    _describe(trigger, _schedule(trigger, key)),
                )
            )
    return changes


def _schedule(trigger: pipelines.TriggerConfig, sub: str) -> schedules.Schedule | None:
    """Return the trigger's schedule if Hostler knows its extension's (and it is valid)."""
    try:
        return schedules.of(trigger.extension, trigger.settings, sub)
    except errors.InvalidArgument:
        return None


def _describe(trigger: pipelines.TriggerConfig, schedule: schedules.Schedule | None) -> str:
    return schedule.describe() if schedule is not None else f"extension {trigger.extension}"


def _tasks(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[TaskChange]:
    old = {task["id"]: task for task in before}
    new = {task["id"]: task for task in after}
    changes = []
    for task_id, task in new.items():
        fields = _fields(old.get(task_id, {}), task, _TASK_FIELDS)
        if task_id not in old:
            changes.append(TaskChange(task_id, Change.ADDED, fields))
        elif fields:
            changes.append(TaskChange(task_id, Change.CHANGED, fields))
    changes += [TaskChange(task_id, Change.REMOVED) for task_id in old if task_id not in new]
    return changes


def _fields(
    before: Mapping[str, Any], after: Mapping[str, Any], names: Iterable[str], prefix: str = ""
) -> list[FieldChange]:
    """Return the differences of ``names`` between two canonical dicts, in the order of names."""
    changes: list[FieldChange] = []
    for name in names:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        path = prefix + name
        if not prefix and name in _MAPS:
            changes += _keys(path, old or {}, new or {}, masked=name in _REDACTED)
        elif not prefix and name in _NESTED:
            changes += _fields(old or {}, new or {}, _NESTED[name], f"{path}.")
        else:
            changes.append(FieldChange(path, old, new))
    return changes


def _keys(
    path: str, before: Mapping[str, Any], after: Mapping[str, Any], *, masked: bool
) -> list[FieldChange]:
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if masked:
            old = None if old is None else SET
            new = None if new is None else SET if old is None else CHANGED
        changes.append(FieldChange(f"{path}.{key}", old, new))
    return changes


def _order(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[FieldChange]:
    """Return a change of ``task_order`` when the tasks both versions have are reordered."""
    common = {task["id"] for task in before} & {task["id"] for task in after}
    old = [task["id"] for task in before if task["id"] in common]
    new = [task["id"] for task in after if task["id"] in common]
    return [] if old == new else [FieldChange(_ORDER, old, new)]


def _show(field: str, value: Any) -> str:
    """Return ``value`` written for people: durations compact, plain strings bare, JSON else."""
    if value is None:
        return "(unset)"
    if field in _DURATIONS and isinstance(value, int | float):
        return durations.format(value)
    if isinstance(value, str) and _bare(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _bare(text: str) -> bool:
    # Quote what could be misread: blanks at the ends, control characters, the arrow, a marker.
    return (
        bool(text)
        and text.isprintable()
        and text == text.strip()
        and "→" not in text
        and not text.startswith("(")
    )
