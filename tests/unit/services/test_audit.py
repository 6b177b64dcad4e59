"""The audit history: records written around each admin operation, marked incomplete when a
server stopped in between, and listed by time and kind."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import pytest

from hostler import testing
from hostler.core import errors, history
from hostler.services import audit, namespaces
from hostler.services import deployments as deploy_service
from hostler.services import pipelines as pipeline_service
from hostler.services.context import Context

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)
Outcome = history.Outcome


class Clock:
    """A clock that stands still until moved."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(clock: Clock) -> Context:
    """A context acting as alice, in server instance ``one``, over the in-memory store."""
    return Context(
        store=testing.MemoryStore(),
        logs=testing.MemoryLogStore(),
        clock=clock,
        actor="alice",
        instance="one",
    )


def records(ctx: Context, *kinds: str) -> list[history.Record]:
    """Return the audit records, oldest first, optionally only of ``kinds``."""
    return list(reversed(ctx.store.list_history(history.Filter(kinds=kinds), None, 100)))


def config(n: int) -> dict[str, Any]:
    return {"id": "hello", "tasks": [{"id": "greet", "image": f"busybox:{n}"}]}


# recorded() -----------------------------------------------------------------------------------


def test_a_record_is_started_before_the_operation_and_finished_after_it(
    ctx: Context, clock: Clock
) -> None:
    with audit.recorded(ctx, "thing.make", "default/thing", {"size": 3}) as entry:
        [started] = records(ctx)
        clock.now = T0 + MINUTE
        entry.detail["made"] = 7

    assert (started.kind, started.target, started.actor, started.instance) == (
        "thing.make",
        "default/thing",
        "alice",
        "one",
    )
    assert (started.started, started.finished, started.outcome) == (T0, None, None)
    assert started.detail == {"size": 3}
    [finished] = records(ctx)
    assert finished.id == started.id
    assert (finished.finished, finished.outcome, finished.error) == (
        T0 + MINUTE,
        Outcome.SUCCEEDED,
        None,
    )
    assert finished.detail == {"size": 3, "made": 7}


def test_an_operation_that_had_nothing_to_do_is_recorded_unchanged(ctx: Context) -> None:
    with audit.recorded(ctx, "thing.make", "default/thing") as entry:
        entry.unchanged = True

    assert [r.outcome for r in records(ctx)] == [Outcome.UNCHANGED]


def test_a_failed_operation_is_recorded_with_its_message_and_still_raises(ctx: Context) -> None:
    with (
        pytest.raises(errors.NotFound),
        audit.recorded(ctx, "thing.make", "default/thing"),
    ):
        raise errors.NotFound("thing 'default/thing': not found")

    [record] = records(ctx)
    assert (record.outcome, record.error) == (Outcome.FAILED, "thing 'default/thing': not found")
    assert record.finished == T0


def test_an_unexpected_exception_is_recorded_as_an_internal_error(ctx: Context) -> None:
    with pytest.raises(ValueError, match="boom"), audit.recorded(ctx, "thing.make", "t"):
        raise ValueError("boom")

    [record] = records(ctx)
    assert (record.outcome, record.error) == (Outcome.FAILED, "internal error (ValueError('boom'))")


class BrokenHistoryStore(testing.MemoryStore):
    """A store that cannot write the audit history, and counts the attempts."""

    def __init__(self, *, start: bool = True, finish: bool = True) -> None:
        super().__init__()
        self.break_start, self.break_finish = start, finish
        self.attempts = 0

    def start_history(self, record: history.Record) -> history.Record:
        self.attempts += 1
        if self.break_start:
            raise errors.Unavailable("database: unreachable")
        return super().start_history(record)

    def finish_history(
        self,
        record: int,
        finished: datetime.datetime,
        outcome: history.Outcome,
        detail: Mapping[str, Any],
        error: str | None,
    ) -> None:
        self.attempts += 1
        if self.break_finish:
            raise RuntimeError("disk full")
        super().finish_history(record, finished, outcome, detail, error)

    def abandon_history(self, instance: str, finished: datetime.datetime) -> int:
        raise errors.Unavailable("database: unreachable")


def test_an_operation_succeeds_when_its_record_cannot_be_started(clock: Clock) -> None:
    store = BrokenHistoryStore()
    ctx = Context(store=store, logs=testing.MemoryLogStore(), clock=clock)

    done = namespaces.create(ctx, "team", "The team")

    assert done.created
    assert store.get_namespace("team").description == "The team"
    assert store.attempts == 1  # nothing to finish when nothing was started


def test_an_operation_succeeds_when_its_record_cannot_be_finished(clock: Clock) -> None:
    store = BrokenHistoryStore(start=False)
    ctx = Context(store=store, logs=testing.MemoryLogStore(), clock=clock)

    version, created = pipeline_service.register(ctx, "default", config(1))

    assert (version.version, created) == (1, True)
    assert store.attempts == 2
    [record] = store.list_history(history.Filter(), None, 10)
    assert (record.kind, record.outcome) == ("version.register", None)


def test_a_failing_operation_keeps_its_own_error_when_history_cannot_be_written(
    clock: Clock,
) -> None:
    ctx = Context(store=BrokenHistoryStore(), logs=testing.MemoryLogStore(), clock=clock)

    with pytest.raises(errors.InvalidArgument) as caught:
        namespaces.create(ctx, "Not A Name")

    assert caught.value.field == "name"


# abandon() -----------------------------------------------------------------------------------


def unfinished(ctx: Context, instance: str, kind: str = "pipeline.deploy") -> history.Record:
    record = history.Record(0, kind, "default/hello", "alice", instance, T0)
    return ctx.store.start_history(record)


def test_abandon_marks_only_this_instances_unfinished_records_incomplete(
    ctx: Context, clock: Clock
) -> None:
    mine = [unfinished(ctx, "one"), unfinished(ctx, "one", "namespace.create")]
    theirs = unfinished(ctx, "two")
    with audit.recorded(ctx, "thing.make", "t"):
        pass  # finished: stays as it is
    clock.now = T0 + MINUTE

    assert audit.abandon(ctx) == 2

    by_id = {r.id: r for r in records(ctx)}
    assert [(by_id[r.id].outcome, by_id[r.id].finished) for r in mine] == [
        (Outcome.INCOMPLETE, T0 + MINUTE)
    ] * 2
    assert (by_id[theirs.id].outcome, by_id[theirs.id].finished) == (None, None)
    assert [r.outcome for r in records(ctx, "thing")] == [Outcome.SUCCEEDED]
    assert audit.abandon(ctx) == 0


def test_abandon_does_not_fail_the_start_of_a_server(clock: Clock) -> None:
    ctx = Context(store=BrokenHistoryStore(), logs=testing.MemoryLogStore(), clock=clock)

    assert audit.abandon(ctx) == 0


# what the use cases record -------------------------------------------------------------------


def test_creating_a_namespace_is_recorded_with_its_outcome(ctx: Context) -> None:
    alice = ctx.acting_as("alice")
    namespaces.create(alice, "team", "The team")
    namespaces.create(ctx.acting_as("bob"), "team", "The team")
    with pytest.raises(errors.AlreadyExists) as caught:
        namespaces.create(alice, "team", "Another team")

    found = [(r.kind, r.target, r.actor, r.outcome, r.error) for r in records(ctx)]
    assert found == [
        ("namespace.create", "team", "alice", Outcome.SUCCEEDED, None),
        ("namespace.create", "team", "bob", Outcome.UNCHANGED, None),
        ("namespace.create", "team", "alice", Outcome.FAILED, caught.value.message),
    ]
    assert records(ctx)[0].detail == {"description": "The team"}


def test_registering_a_version_is_recorded_with_its_number_and_digest(ctx: Context) -> None:
    alice = ctx.acting_as("alice")
    version, _ = pipeline_service.register(alice, "default", config(1))
    pipeline_service.register(alice, "default", config(1))

    found = records(ctx)
    assert [(r.kind, r.target, r.actor, r.outcome) for r in found] == [
        ("version.register", "default/hello", "alice", Outcome.SUCCEEDED),
        ("version.register", "default/hello", "alice", Outcome.UNCHANGED),
    ]
    assert found[0].detail == {"version": 1, "digest": version.digest}


def test_registering_an_invalid_configuration_is_recorded_failed(ctx: Context) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        pipeline_service.register(ctx, "default", {"id": "hello", "tasks": []})

    [record] = records(ctx)
    assert (record.kind, record.target, record.outcome, record.error) == (
        "version.register",
        "default/hello",
        Outcome.FAILED,
        caught.value.message,
    )


def test_up_records_the_registration_and_the_deploy(ctx: Context) -> None:
    pipeline_service.up(ctx.acting_as("carol"), "default", config(1))

    found = records(ctx)
    assert [(r.kind, r.actor, r.outcome) for r in found] == [
        ("version.register", "carol", Outcome.SUCCEEDED),
        ("pipeline.deploy", "carol", Outcome.SUCCEEDED),
    ]
    assert found[1].detail == {
        "version": 1,
        "canary": None,
        "kind": "deploy",
        "from_version": None,
        "deployment": 1,
    }


def test_deploy_promote_and_abort_are_recorded_as_their_actor(ctx: Context) -> None:
    for n in (1, 2, 3):
        pipeline_service.register(ctx, "default", config(n))
    alice = ctx.acting_as("alice")
    deploy_service.deploy(alice, "default", "hello", 1)
    deploy_service.deploy(alice, "default", "hello", 2, canary=deploy_service.Canary(20))
    deploy_service.promote(ctx.acting_as("bob"), "default", "hello")
    deploy_service.deploy(alice, "default", "hello", 3, canary=deploy_service.Canary(20))
    deploy_service.abort(alice, "default", "hello", reason="too slow")

    found = records(ctx, "pipeline")
    assert [(r.kind, r.actor, r.outcome) for r in found] == [
        ("pipeline.deploy", "alice", Outcome.SUCCEEDED),
        ("pipeline.deploy", "alice", Outcome.SUCCEEDED),
        ("pipeline.promote", "bob", Outcome.SUCCEEDED),
        ("pipeline.deploy", "alice", Outcome.SUCCEEDED),
        ("pipeline.abort", "alice", Outcome.SUCCEEDED),
    ]
    assert found[1].detail["canary"] == 20
    assert found[2].detail == {"reason": None, "deployment": 2, "candidate": 2, "live": 1}
    assert found[4].detail == {"reason": "too slow", "deployment": 3, "candidate": 3, "live": 2}
    assert {r.target for r in found} == {"default/hello"}


def test_a_refused_deploy_is_recorded_failed(ctx: Context) -> None:
    pipeline_service.up(ctx, "default", config(1))

    with pytest.raises(errors.FailedPrecondition) as caught:
        deploy_service.deploy(ctx, "default", "hello", 1)

    last = records(ctx)[-1]
    assert (last.kind, last.outcome, last.error) == (
        "pipeline.deploy",
        Outcome.FAILED,
        caught.value.message,
    )


# list_() -------------------------------------------------------------------------------------


@pytest.fixture
def timeline(ctx: Context, clock: Clock) -> list[history.Record]:
    """Records of four kinds started a minute apart from T0; return them oldest first."""
    for n, kind in enumerate(["namespace.create", "version.register", "pipeline.deploy"]):
        clock.now = T0 + n * MINUTE
        with audit.recorded(ctx, kind, "default/hello"):
            pass
    clock.now = T0 + 3 * MINUTE
    with audit.recorded(ctx, "pipelines.other", "default/hello"):
        pass
    return records(ctx)


def kinds(page: Any) -> list[str]:
    return [r.kind for r in page.items]


def test_history_is_listed_newest_first(ctx: Context, timeline: list[history.Record]) -> None:
    assert kinds(audit.list_(ctx)) == [r.kind for r in reversed(timeline)]


def test_history_is_filtered_by_time_since_inclusive_until_exclusive(
    ctx: Context, timeline: list[history.Record]
) -> None:
    since = audit.list_(ctx, since=T0 + MINUTE)
    until = audit.list_(ctx, until=T0 + 2 * MINUTE)
    both = audit.list_(ctx, since=T0 + MINUTE, until=T0 + 2 * MINUTE)

    assert kinds(since) == ["pipelines.other", "pipeline.deploy", "version.register"]
    assert kinds(until) == ["version.register", "namespace.create"]
    assert kinds(both) == ["version.register"]


def test_history_is_filtered_by_kind_or_family(
    ctx: Context, timeline: list[history.Record]
) -> None:
    assert kinds(audit.list_(ctx, kinds=["pipeline"])) == ["pipeline.deploy"]
    assert kinds(audit.list_(ctx, kinds=["pipeline.deploy", "namespace"])) == [
        "pipeline.deploy",
        "namespace.create",
    ]
    assert kinds(audit.list_(ctx, kinds=["pipe"])) == []


def test_history_pages(ctx: Context, timeline: list[history.Record]) -> None:
    first = audit.list_(ctx, limit=3)
    rest = audit.list_(ctx, cursor=first.next_cursor, limit=3)

    assert [r.id for r in first.items + rest.items] == [r.id for r in reversed(timeline)]
    assert rest.next_cursor is None


@pytest.mark.parametrize("until", [T0, T0 - MINUTE])
def test_history_until_must_be_later_than_since(ctx: Context, until: datetime.datetime) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        audit.list_(ctx, since=T0, until=until)

    assert caught.value.field == "until"
