"""Deployments: deploy, roll back and redeploy a version, canaries and their routing, promote,
abort (by hand and automatically), the deploy lock, races and the deployment history."""

from __future__ import annotations

import datetime
import pathlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hostler import testing
from hostler.core import deployments, errors, events, history, pipelines, plans, runs
from hostler.services import deployments as deploy_service
from hostler.services import pipelines as pipeline_service
from hostler.services import runs as run_service
from hostler.services.context import Context
from hostler.storage import database
from hostler.storage import store as sql_store

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)
LOCK = "deploy:default/hello"
Kind = deployments.Kind
State = deployments.State
LIVE, CANARY = runs.Route.LIVE, runs.Route.CANARY
Canary = deploy_service.Canary


def config(n: int) -> dict[str, Any]:
    """Return configuration number ``n`` of ``hello``: each ``n`` is a version of its own."""
    return {
        "id": "hello",
        "description": f"Hello {n}",
        "tasks": [{"id": "greet", "image": f"busybox:{n}"}],
    }


@pytest.fixture
def ctx() -> Context:
    """A context acting as alice over the in-memory store: ``hello`` v1 live, v2 and v3 registered
    but not live."""
    context = Context(
        store=testing.MemoryStore(), logs=testing.MemoryLogStore(), clock=lambda: NOW
    ).acting_as("alice")
    pipeline_service.up(context, "default", config(1))
    for n in (2, 3):
        pipeline_service.register(context, "default", config(n))
    return context


Snapshot = tuple[
    pipelines.Pipeline, list[deployments.Deployment], list[history.Record], list[events.Event]
]


def snapshot(ctx: Context) -> Snapshot:
    """Return what a deployment can change: the pipeline, its deployments, history and events."""
    store = ctx.store
    return (
        store.get_pipeline("default", "hello"),
        store.list_deployments("default", "hello", None, 100),
        store.list_history(history.Filter(), None, 100),
        store.list_events(events.Filter(), None, 1000),
    )


def live(ctx: Context) -> int | None:
    return ctx.store.get_pipeline("default", "hello").live_version


def start_runs(ctx: Context, count: int) -> list[runs.Run]:
    return [run_service.start(ctx, "default", "hello") for _ in range(count)]


def finish(ctx: Context, run: runs.Run, status: runs.Status) -> runs.Run:
    """Complete ``run`` with ``status``, as the engine would."""
    ended = run.evolve(state=runs.State.COMPLETE, status=status, started=NOW, ended=NOW)
    return ctx.store.update_run(ended, run.revision)


def audit_kinds(ctx: Context) -> list[tuple[str, str, history.Outcome | None]]:
    """Return (kind, actor, outcome) of every audit record, oldest first."""
    records = ctx.store.list_history(history.Filter(), None, 100)
    return [(r.kind, r.actor, r.outcome) for r in reversed(records)]


# deploy, rollback, redeploy -------------------------------------------------------------------


def test_deploying_a_newer_version_makes_it_live_and_records_the_deployment(ctx: Context) -> None:
    done = deploy_service.deploy(ctx, "default", "hello", 2)

    assert done.plan.action is plans.Action.UPGRADE
    assert (done.plan.from_version, done.plan.to_version) == (1, 2)
    assert done.pipeline.live_version == 2
    assert done.pipeline.description == "Hello 2"
    made = done.deployment
    assert (made.kind, made.state, made.from_version, made.to_version, made.actor) == (
        Kind.DEPLOY,
        State.DEPLOYED,
        1,
        2,
        "alice",
    )
    assert (made.started, made.ended) == (NOW, NOW)
    assert ctx.store.list_deployments("default", "hello", None, 10)[0] == made
    assert live(ctx) == 2


def test_the_first_deploy_is_a_deploy_from_no_version(ctx: Context) -> None:
    first = ctx.store.list_deployments("default", "hello", None, 10)

    assert [(d.id, d.kind, d.from_version, d.to_version) for d in first] == [
        (1, Kind.DEPLOY, None, 1)
    ]


def test_deploying_an_older_version_is_a_rollback(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 3)

    done = deploy_service.deploy(ctx, "default", "hello", 2)

    assert done.plan.action is plans.Action.ROLLBACK
    assert done.plan.headline.startswith("ROLLBACK hello v3 → v2")
    assert (done.deployment.kind, done.deployment.from_version, done.deployment.to_version) == (
        Kind.ROLLBACK,
        3,
        2,
    )
    assert done.deployment.actor == "alice"
    assert live(ctx) == 2


def test_deploying_the_live_version_is_refused_and_changes_nothing(ctx: Context) -> None:
    before = snapshot(ctx)

    with pytest.raises(errors.FailedPrecondition, match="v1 is the live version already") as e:
        deploy_service.deploy(ctx, "default", "hello", 1)

    assert e.value.field == "version"
    assert "force_same_version" in (e.value.hint or "")
    pipeline, deployed, _, logged = snapshot(ctx)
    assert (pipeline, deployed, logged) == (before[0], before[1], before[3])


def test_the_live_version_is_redeployed_with_force_same_version(ctx: Context) -> None:
    done = deploy_service.deploy(ctx, "default", "hello", 1, force_same_version=True)

    assert done.plan.action is plans.Action.REDEPLOY
    made = done.deployment
    assert (made.kind, made.state, made.from_version, made.to_version, made.actor) == (
        Kind.REDEPLOY,
        State.DEPLOYED,
        1,
        1,
        "alice",
    )
    assert done.pipeline.live_version == 1
    assert [d.kind for d in ctx.store.list_deployments("default", "hello", None, 10)] == [
        Kind.REDEPLOY,
        Kind.DEPLOY,
    ]


def test_deploying_a_missing_version_is_not_found_and_records_nothing(ctx: Context) -> None:
    before = ctx.store.list_deployments("default", "hello", None, 10)

    with pytest.raises(errors.NotFound, match="version 9"):
        deploy_service.deploy(ctx, "default", "hello", 9)

    assert ctx.store.list_deployments("default", "hello", None, 10) == before


# plans write nothing -------------------------------------------------------------------------


def test_plans_write_nothing(ctx: Context) -> None:
    before = snapshot(ctx)

    upgrade = deploy_service.plan(ctx, "default", "hello", 2)
    rollback_free = deploy_service.plan(ctx, "default", "hello", 1, force_same_version=True)
    canary = deploy_service.plan(ctx, "default", "hello", 3, canary=Canary(10))

    assert (upgrade.action, upgrade.from_version, upgrade.to_version) == (
        plans.Action.UPGRADE,
        1,
        2,
    )
    assert rollback_free.action is plans.Action.REDEPLOY
    assert canary.action is plans.Action.CANARY
    assert canary.routing == plans.Routing(10)
    assert snapshot(ctx) == before


def test_planning_the_live_version_is_refused(ctx: Context) -> None:
    with pytest.raises(errors.FailedPrecondition) as caught:
        deploy_service.plan(ctx, "default", "hello", 1)

    assert caught.value.field == "version"


def test_plans_of_promote_and_abort_write_nothing(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))
    start_runs(ctx, 2)
    before = snapshot(ctx)

    promote = deploy_service.plan_promote(ctx, "default", "hello")
    abort = deploy_service.plan_abort(ctx, "default", "hello")

    assert (promote.action, promote.from_version, promote.to_version) == (
        plans.Action.PROMOTE,
        1,
        2,
    )
    assert (abort.action, abort.from_version, abort.to_version) == (plans.Action.ABORT, 2, 1)
    assert promote.routing is not None
    assert promote.routing.percent == 50
    assert [(t.version, t.runs) for t in promote.routing.tallies] == [(1, 1), (2, 1)]
    assert promote.runs_in_flight == 2
    assert snapshot(ctx) == before


def test_planning_a_deploy_while_a_canary_is_in_progress_is_refused_and_writes_nothing(
    ctx: Context,
) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))
    before = snapshot(ctx)

    with pytest.raises(errors.FailedPrecondition, match="a canary of v2 is in progress"):
        deploy_service.plan(ctx, "default", "hello", 3)

    assert snapshot(ctx) == before


def test_a_deploy_while_a_canary_is_in_progress_changes_nothing_but_its_failed_record(
    ctx: Context,
) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))
    pipeline, deployed, records, logged = snapshot(ctx)

    with pytest.raises(errors.FailedPrecondition, match="a canary of v2 is in progress") as e:
        deploy_service.deploy(ctx, "default", "hello", 3)

    assert e.value.field == "pipeline"
    assert "promote or abort it first" in (e.value.hint or "")
    after = snapshot(ctx)
    assert (after[0], after[1], after[3]) == (pipeline, deployed, logged)
    [refused, *rest] = after[2]
    assert rest == records
    assert (refused.kind, refused.outcome, refused.error) == (
        "pipeline.deploy",
        history.Outcome.FAILED,
        e.value.message,
    )


# canaries ------------------------------------------------------------------------------------


def test_a_canary_leaves_the_live_version_and_records_its_share(ctx: Context) -> None:
    rule = deployments.AutoAbort(max_failure_rate=10, window=20)

    done = deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50, rule))

    made = done.deployment
    assert (made.kind, made.state, made.from_version, made.to_version) == (
        Kind.CANARY,
        State.CANARY,
        1,
        2,
    )
    assert (made.percent, made.auto_abort, made.ended, made.actor) == (50, rule, None, "alice")
    assert done.plan.action is plans.Action.CANARY
    assert done.pipeline.live_version == 1
    assert done.pipeline.canary == made.id


def test_a_canary_at_50_percent_alternates_runs_live_first(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))

    started = start_runs(ctx, 40)

    assert [(r.route, r.version) for r in started] == [(LIVE, 1), (CANARY, 2)] * 20
    assert ctx.store.get_deployment("default", "hello", 2).routed == 40


def test_a_canary_at_25_percent_takes_every_fourth_run(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(25))

    started = start_runs(ctx, 40)

    on_candidate = [n for n, r in enumerate(started, 1) if r.route is CANARY]
    assert on_candidate == list(range(4, 41, 4))
    assert all(r.version == 2 for r in started if r.route is CANARY)
    assert all(r.version == 1 for r in started if r.route is LIVE)


def test_an_aborted_canary_sends_every_new_run_to_the_live_version(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))
    start_runs(ctx, 4)

    done = deploy_service.abort(ctx, "default", "hello", expected_candidate=2)

    assert done.plan.action is plans.Action.ABORT
    assert (done.deployment.state, done.deployment.reason) == (State.ABORTED, "aborted by alice")
    assert done.deployment.ended == NOW
    assert (done.pipeline.live_version, done.pipeline.canary) == (1, None)
    assert [(r.route, r.version) for r in start_runs(ctx, 10)] == [(LIVE, 1)] * 10


def test_a_promoted_candidate_is_the_live_version_of_later_runs(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))
    start_runs(ctx, 4)

    done = deploy_service.promote(ctx, "default", "hello", expected_candidate=2)

    assert done.plan.action is plans.Action.PROMOTE
    assert (done.deployment.state, done.deployment.reason) == (
        State.PROMOTED,
        "promoted by alice",
    )
    assert (done.pipeline.live_version, done.pipeline.canary) == (2, None)
    assert done.pipeline.description == "Hello 2"
    assert [(r.route, r.version) for r in start_runs(ctx, 6)] == [(LIVE, 2)] * 6


def test_deploy_and_up_are_refused_while_a_canary_is_in_progress(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))
    versions = ctx.store.list_versions("default", "hello", None, 10)

    with pytest.raises(errors.FailedPrecondition, match="canary"):
        deploy_service.deploy(ctx, "default", "hello", 3)
    with pytest.raises(errors.FailedPrecondition, match="canary"):
        deploy_service.deploy(ctx, "default", "hello", 3, canary=Canary(10))
    with pytest.raises(errors.FailedPrecondition, match="canary"):
        pipeline_service.up(ctx, "default", config(4))
    with pytest.raises(errors.FailedPrecondition, match="canary"):
        pipeline_service.plan(ctx, "default", config(4))

    assert ctx.store.list_versions("default", "hello", None, 10) == versions
    assert ctx.store.get_pipeline("default", "hello").canary == 2


def test_promote_and_abort_without_a_canary_are_refused(ctx: Context) -> None:
    before = snapshot(ctx)

    for end in (deploy_service.promote, deploy_service.abort):
        with pytest.raises(errors.FailedPrecondition, match="has no canary") as caught:
            end(ctx, "default", "hello")
        assert caught.value.field == "pipeline"
    for plan in (deploy_service.plan_promote, deploy_service.plan_abort):
        with pytest.raises(errors.FailedPrecondition, match="has no canary"):
            plan(ctx, "default", "hello")

    assert snapshot(ctx)[:2] == before[:2]


def test_ending_a_canary_of_another_candidate_than_planned_is_a_conflict(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))

    for end in (deploy_service.promote, deploy_service.abort):
        with pytest.raises(errors.Conflict, match="the canary is of v2 now, not v3") as caught:
            end(ctx, "default", "hello", expected_candidate=3)
        assert caught.value.field == "candidate"
        assert "plan again" in (caught.value.hint or "")

    current = ctx.store.get_pipeline("default", "hello")
    assert (current.live_version, current.canary) == (1, 2)


def test_a_canary_needs_a_live_version(ctx: Context) -> None:
    pipeline_service.register(ctx, "default", {**config(1), "id": "fresh"})

    with pytest.raises(errors.FailedPrecondition, match="no live version") as caught:
        deploy_service.deploy(ctx, "default", "fresh", 1, canary=Canary(50))

    assert caught.value.field == "canary"


def test_a_canary_of_the_live_version_is_refused(ctx: Context) -> None:
    with pytest.raises(errors.FailedPrecondition, match="a canary needs another one"):
        deploy_service.deploy(ctx, "default", "hello", 1, canary=Canary(50))

    assert ctx.store.get_pipeline("default", "hello").canary is None


@pytest.mark.parametrize("percent", [0, 100, -5])
def test_a_canary_takes_a_share_from_1_to_99_percent(percent: int) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        Canary(percent)

    assert caught.value.field == "canary"


# automatic abort -----------------------------------------------------------------------------


def canary_with_runs(ctx: Context, rule: deployments.AutoAbort | None) -> list[runs.Run]:
    """Start a 50% canary of v2 with ``rule`` and 8 runs; return the 4 of the candidate."""
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50, rule))
    return [r for r in start_runs(ctx, 8) if r.route is CANARY]


def test_a_canary_failing_more_than_its_rule_allows_is_aborted_by_hostler(ctx: Context) -> None:
    candidate = canary_with_runs(ctx, deployments.AutoAbort(max_failure_rate=40, window=4))
    finish(ctx, candidate[0], runs.Status.FAILED)
    finish(ctx, candidate[1], runs.Status.SUCCESSFUL)
    finish(ctx, candidate[2], runs.Status.FAILED)

    [aborted] = deploy_service.check_canaries(ctx)

    assert (aborted.id, aborted.state) == (2, State.ABORTED)
    assert aborted.reason == (
        "aborted automatically: 2 of the last 4 runs of the candidate failed (more than 40%)"
    )
    current = ctx.store.get_pipeline("default", "hello")
    assert (current.live_version, current.canary) == (1, None)
    record = ctx.store.list_history(history.Filter(kinds=("pipeline.abort",)), None, 10)[0]
    assert (record.actor, record.outcome) == ("hostler", history.Outcome.SUCCEEDED)
    assert record.detail["reason"] == aborted.reason
    assert deploy_service.check_canaries(ctx) == []  # nothing left to abort


def test_a_canary_within_its_rule_is_left_alone(ctx: Context) -> None:
    candidate = canary_with_runs(ctx, deployments.AutoAbort(max_failure_rate=40, window=4))
    finish(ctx, candidate[0], runs.Status.FAILED)
    for run in candidate[1:]:
        finish(ctx, run, runs.Status.SUCCESSFUL)
    before = snapshot(ctx)

    assert deploy_service.check_canaries(ctx) == []

    assert snapshot(ctx) == before
    assert ctx.store.get_pipeline("default", "hello").canary == 2


def test_failures_of_the_live_version_do_not_abort_a_canary(ctx: Context) -> None:
    deploy_service.deploy(
        ctx, "default", "hello", 2, canary=Canary(50, deployments.AutoAbort(0, 4))
    )
    for run in start_runs(ctx, 8):
        if run.route is LIVE:
            finish(ctx, run, runs.Status.FAILED)

    assert deploy_service.check_canaries(ctx) == []
    assert ctx.store.get_pipeline("default", "hello").canary == 2


def test_a_canary_without_a_rule_is_never_aborted(ctx: Context) -> None:
    for run in canary_with_runs(ctx, None):
        finish(ctx, run, runs.Status.FAILED)

    assert deploy_service.check_canaries(ctx) == []
    assert ctx.store.get_deployment("default", "hello", 2).state is State.CANARY


def test_an_automatic_abort_skips_a_canary_whose_deploy_lock_is_held(ctx: Context) -> None:
    for run in canary_with_runs(ctx, deployments.AutoAbort(0, 4)):
        finish(ctx, run, runs.Status.FAILED)
    ctx.store.acquire_lock(LOCK, "promote of the canary by bob", NOW, NOW + HOUR)

    assert deploy_service.check_canaries(ctx) == []
    assert ctx.store.get_deployment("default", "hello", 2).state is State.CANARY

    ctx.store.release_lock(LOCK, "promote of the canary by bob")
    assert [d.id for d in deploy_service.check_canaries(ctx)] == [2]


def test_the_canary_watch_aborts_a_failing_canary_by_itself(ctx: Context) -> None:
    for run in canary_with_runs(ctx, deployments.AutoAbort(0, 4))[:1]:
        finish(ctx, run, runs.Status.FAILED)
    watch = deploy_service.canary_watch(ctx, interval=0.01)

    watch.start()
    try:
        deadline = time.monotonic() + 10
        while ctx.store.get_pipeline("default", "hello").canary is not None:
            assert time.monotonic() < deadline, "the canary was not aborted"
            time.sleep(0.01)
    finally:
        watch.stop()

    assert ctx.store.get_deployment("default", "hello", 2).state is State.ABORTED


# the deploy lock -----------------------------------------------------------------------------


def test_a_deploy_waits_for_the_lock_then_names_its_holder(ctx: Context) -> None:
    holder = "deploy of v9 by someone, started 2026-03-01 11:59:00 UTC [abcd1234]"
    assert ctx.store.acquire_lock(LOCK, holder, NOW, NOW + HOUR) is None

    with pytest.raises(errors.Conflict, match="another deployment is in progress") as caught:
        deploy_service.deploy(ctx, "default", "hello", 2, lock_wait=0.2)

    assert holder in caught.value.message
    assert caught.value.field == "pipeline"
    assert live(ctx) == 1

    ctx.store.release_lock(LOCK, holder)
    assert (
        deploy_service.deploy(ctx, "default", "hello", 2, lock_wait=0.2).pipeline.live_version == 2
    )


def test_an_expired_deploy_lock_is_taken_over(ctx: Context) -> None:
    ctx.store.acquire_lock(LOCK, "deploy of v9 by a stopped server", NOW - 2 * HOUR, NOW - HOUR)

    done = deploy_service.deploy(ctx, "default", "hello", 2, lock_wait=0)

    assert done.pipeline.live_version == 2


def test_the_deploy_lock_is_released_after_a_deploy_and_after_a_refusal(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2)
    assert ctx.store.acquire_lock(LOCK, "probe 1", NOW, NOW + HOUR) is None
    ctx.store.release_lock(LOCK, "probe 1")

    with pytest.raises(errors.FailedPrecondition):
        deploy_service.deploy(ctx, "default", "hello", 2)

    assert ctx.store.acquire_lock(LOCK, "probe 2", NOW, NOW + HOUR) is None


def test_promote_and_abort_take_the_deploy_lock(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))
    ctx.store.acquire_lock(LOCK, "deploy of v3 by bob", NOW, NOW + HOUR)

    for end in (deploy_service.promote, deploy_service.abort):
        with pytest.raises(errors.Conflict, match="deploy of v3 by bob"):
            end(ctx, "default", "hello", lock_wait=0)

    assert ctx.store.get_pipeline("default", "hello").canary == 2


# races on the real store ---------------------------------------------------------------------


@pytest.fixture
def sql_ctx(tmp_path: pathlib.Path) -> Iterator[Context]:
    """A context over a migrated SQLite store with ``hello`` v1 live and v2 and v3 registered."""
    url = f"sqlite:///{tmp_path / 'hostler.db'}"
    database.migrate(url)
    store = sql_store.Store(database.connect(url))
    context = Context(store=store, logs=testing.MemoryLogStore())
    pipeline_service.up(context, "default", config(1))
    for n in (2, 3):
        pipeline_service.register(context, "default", config(n))
    yield context
    store.close()


def test_of_two_deploys_planned_against_the_same_live_version_exactly_one_wins(
    sql_ctx: Context,
) -> None:
    start = threading.Barrier(2)
    won: list[int] = []
    lost: list[errors.Conflict] = []

    def deploy(version: int) -> None:
        start.wait()
        try:
            deploy_service.deploy(sql_ctx, "default", "hello", version, expected_live=1)
            won.append(version)
        except errors.Conflict as exc:
            lost.append(exc)

    threads = [threading.Thread(target=deploy, args=(v,)) for v in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(won) == 1
    [conflict] = lost
    assert f"the live version is v{won[0]} now, not v1 as planned" in conflict.message
    assert conflict.field == "planned_against"
    assert "plan again" in (conflict.hint or "")
    assert sql_ctx.store.get_pipeline("default", "hello").live_version == won[0]
    assert len(sql_ctx.store.list_deployments("default", "hello", None, 10)) == 2


def test_a_deploy_planned_against_another_live_version_is_a_conflict(sql_ctx: Context) -> None:
    with pytest.raises(errors.Conflict, match="the live version is v1 now, not none as planned"):
        deploy_service.deploy(sql_ctx, "default", "hello", 2, expected_live=None)

    assert sql_ctx.store.get_pipeline("default", "hello").live_version == 1


def test_canary_routing_on_the_real_store_counts_each_run_once(sql_ctx: Context) -> None:
    deploy_service.deploy(sql_ctx, "default", "hello", 2, canary=Canary(50))
    start = threading.Barrier(4)
    routes: list[runs.Route] = []

    def run_some() -> None:
        start.wait()
        for _ in range(5):
            routes.append(run_service.start(sql_ctx, "default", "hello").route)

    threads = [threading.Thread(target=run_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(routes) == sorted([LIVE, CANARY] * 10)
    assert sql_ctx.store.get_deployment("default", "hello", 2).routed == 20


# history -------------------------------------------------------------------------------------


def test_history_lists_deployments_newest_first_with_the_runs_of_each_version(
    ctx: Context,
) -> None:
    for run in start_runs(ctx, 2):
        finish(ctx, run, runs.Status.SUCCESSFUL)
    deploy_service.deploy(ctx, "default", "hello", 2)
    first, second, _ = start_runs(ctx, 3)
    finish(ctx, first, runs.Status.FAILED)
    finish(ctx, second, runs.Status.CANCELLED)
    deploy_service.deploy(ctx, "default", "hello", 3, canary=Canary(50))
    start_runs(ctx, 4)

    page = deploy_service.history(ctx, "default", "hello", None, 50)

    assert [(e.deployment.id, e.deployment.kind) for e in page.items] == [
        (3, Kind.CANARY),
        (2, Kind.DEPLOY),
        (1, Kind.DEPLOY),
    ]
    assert [e.tallies for e in page.items] == [
        [deployments.Tally(2, runs=2), deployments.Tally(3, runs=2)],
        [deployments.Tally(2, runs=3, failed=1, cancelled=1)],
        [deployments.Tally(1, runs=2, successful=2)],
    ]
    assert page.next_cursor is None


def test_history_pages_through_deployments(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2)
    deploy_service.deploy(ctx, "default", "hello", 3)

    first = deploy_service.history(ctx, "default", "hello", None, 2)
    rest = deploy_service.history(ctx, "default", "hello", first.next_cursor, 2)

    assert [e.deployment.id for e in first.items] == [3, 2]
    assert [e.deployment.id for e in rest.items] == [1]
    assert rest.next_cursor is None


def test_history_of_a_missing_pipeline_is_not_found(ctx: Context) -> None:
    with pytest.raises(errors.NotFound, match="pipeline 'default/nope'"):
        deploy_service.history(ctx, "default", "nope", None, 10)


def test_every_deployment_is_recorded_in_the_audit_history(ctx: Context) -> None:
    deploy_service.deploy(ctx, "default", "hello", 2, canary=Canary(50))
    deploy_service.promote(ctx, "default", "hello")
    deploy_service.deploy(ctx, "default", "hello", 3, canary=Canary(50))
    deploy_service.abort(ctx.acting_as("bob"), "default", "hello")

    assert audit_kinds(ctx)[-4:] == [
        ("pipeline.deploy", "alice", history.Outcome.SUCCEEDED),
        ("pipeline.promote", "alice", history.Outcome.SUCCEEDED),
        ("pipeline.deploy", "alice", history.Outcome.SUCCEEDED),
        ("pipeline.abort", "bob", history.Outcome.SUCCEEDED),
    ]
