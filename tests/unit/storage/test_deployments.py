"""Deployments in every Store: saved with their pipeline, listed, routing canary runs, tallies."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping

import pytest

from hostler.core import deployments, errors, events, pipelines, ports, runs

from .conftest import NOW, MakeRun, config

LATER = NOW + datetime.timedelta(minutes=5)
Kind = deployments.Kind
State = deployments.State
LIVE, CANARY = runs.Route.LIVE, runs.Route.CANARY


def versions(store: ports.Store, count: int, pipeline: str = "hello") -> None:
    """Store versions 1 to ``count`` of ``pipeline`` (creating it)."""
    for n in range(1, count + 1):
        cfg = config(pipeline, image=f"alpine:{n}")
        store.create_version("default", cfg, pipelines.digest(cfg), NOW)


def deployment(
    to_version: int = 1,
    kind: Kind = Kind.DEPLOY,
    state: State = State.DEPLOYED,
    pipeline: str = "hello",
    **changes: object,
) -> deployments.Deployment:
    """Return a new deployment (id 0) of ``pipeline`` to ``to_version``, started at NOW."""
    new = deployments.Deployment(
        "default", pipeline, 0, kind, state, None, to_version, "alice", NOW
    )
    return new.evolve(**changes)


def save(
    store: ports.Store,
    saved: deployments.Deployment,
    live_version: int | None = None,
) -> tuple[pipelines.Pipeline, deployments.Deployment]:
    """Save ``saved`` with its pipeline as read now, making ``live_version`` live if given."""
    current = store.get_pipeline("default", saved.pipeline)
    live = current.live_version if live_version is None else live_version
    changed = dataclasses.replace(current, live_version=live, updated=LATER)
    return store.save_deployment(changed, current.revision, saved)


def start_canary(
    store: ports.Store, percent: int = 50, started: datetime.datetime = NOW
) -> deployments.Deployment:
    """Deploy version 1 of ``hello`` (of two), then start a canary of version 2; return it."""
    versions(store, 2)
    save(store, deployment(1), live_version=1)
    canary = deployment(2, Kind.CANARY, State.CANARY, from_version=1, percent=percent)
    return save(store, canary.evolve(started=started))[1]


def deployed_events(store: ports.Store) -> list[Mapping[str, object]]:
    """Return the data of every ``pipeline.deployed`` event."""
    found = store.list_events(events.Filter(kinds=(events.PIPELINE_DEPLOYED,)), None, 100)
    return [e.data for e in found]


# saving -----------------------------------------------------------------------------------


def test_inserting_gives_ids_from_one_and_the_next_run_as_first_run(
    store: ports.Store, make_run: MakeRun
) -> None:
    versions(store, 2)
    pipeline, first = save(store, deployment(1), live_version=1)
    make_run()
    make_run()
    _, second = save(store, deployment(2, from_version=1), live_version=2)

    assert (first.id, first.first_run, first.routed) == (1, 1, 0)
    assert (second.id, second.first_run) == (2, 3)
    assert first == deployment(1).evolve(id=1, first_run=1)
    assert store.get_deployment("default", "hello", 1) == first
    assert store.get_deployment("default", "hello", 2) == second
    assert (pipeline.live_version, pipeline.updated, pipeline.revision) == (1, LATER, 2)
    assert store.get_pipeline("default", "hello").live_version == 2


def test_deployment_ids_are_counted_per_pipeline(store: ports.Store) -> None:
    versions(store, 1, "a")
    versions(store, 1, "b")
    save(store, deployment(pipeline="a"), live_version=1)
    save(store, deployment(pipeline="a", kind=Kind.REDEPLOY))
    _, other = save(store, deployment(pipeline="b"), live_version=1)
    assert other.id == 1


def test_a_new_deployment_starts_with_nothing_routed(store: ports.Store) -> None:
    versions(store, 1)
    _, saved = save(store, deployment(routed=7, first_run=9), live_version=1)
    assert (saved.routed, saved.first_run) == (0, 1)


def test_the_pipelines_canary_follows_the_deployments_state(store: ports.Store) -> None:
    canary = start_canary(store, percent=10)
    assert canary.id == 2
    assert store.get_pipeline("default", "hello").canary == 2

    promoted = canary.evolve(state=State.PROMOTED, ended=LATER, reason="promoted by bob")
    pipeline, stored = save(store, promoted, live_version=2)

    assert pipeline.canary is None
    assert store.get_pipeline("default", "hello") == pipeline
    assert stored == promoted
    assert [d.state for d in store.list_deployments("default", "hello", None, 10)] == [
        State.PROMOTED,
        State.DEPLOYED,
    ]


def test_the_canary_given_with_the_pipeline_is_ignored(store: ports.Store) -> None:
    versions(store, 1)
    current = store.get_pipeline("default", "hello")
    changed = dataclasses.replace(current, live_version=1, updated=LATER, canary=99)
    pipeline, _ = store.save_deployment(changed, current.revision, deployment(1))
    assert pipeline.canary is None
    assert store.get_pipeline("default", "hello").canary is None


def test_update_pipeline_keeps_the_canary(store: ports.Store) -> None:
    start_canary(store)
    current = store.get_pipeline("default", "hello")
    changed = dataclasses.replace(current, description="new", canary=None)
    assert store.update_pipeline(changed, current.revision).canary == 2
    assert store.get_pipeline("default", "hello").canary == 2


def test_saving_appends_an_event_only_when_the_live_version_changes(store: ports.Store) -> None:
    canary = start_canary(store)
    save(store, canary.evolve(state=State.ABORTED, ended=LATER))
    assert deployed_events(store) == [{"from": None, "to": 1}]
    save(store, deployment(2, from_version=1), live_version=2)
    assert deployed_events(store) == [{"from": None, "to": 1}, {"from": 1, "to": 2}]


def test_a_stale_pipeline_revision_is_a_conflict_and_writes_nothing(store: ports.Store) -> None:
    versions(store, 2)
    save(store, deployment(1), live_version=1)
    current = store.get_pipeline("default", "hello")
    changed = dataclasses.replace(current, live_version=2, updated=LATER)
    canary = deployment(2, Kind.CANARY, State.CANARY, percent=50)

    with pytest.raises(errors.Conflict) as caught:
        store.save_deployment(changed, current.revision - 1, canary)

    assert caught.value.message == (
        "pipeline 'default/hello': changed by someone else (revision 2, expected 1)"
    )
    assert store.get_pipeline("default", "hello") == current
    assert [d.id for d in store.list_deployments("default", "hello", None, 10)] == [1]
    assert store.list_canaries(10) == []
    assert deployed_events(store) == [{"from": None, "to": 1}]


def test_replacing_keeps_first_run_and_routed(store: ports.Store, make_run: MakeRun) -> None:
    canary = start_canary(store)
    make_run()
    store.route_run("default", "hello")
    changed = canary.evolve(percent=20, first_run=99, routed=0, reason="wider")
    _, stored = save(store, changed)
    assert stored == changed.evolve(first_run=canary.first_run, routed=1)
    assert store.get_deployment("default", "hello", canary.id) == stored


def test_replacing_a_missing_deployment_is_not_found_and_writes_nothing(
    store: ports.Store,
) -> None:
    versions(store, 1)
    pipeline, _ = save(store, deployment(1), live_version=1)
    with pytest.raises(errors.NotFound) as caught:
        save(store, deployment(1, Kind.REDEPLOY).evolve(id=5))
    assert caught.value.message == "deployment 5 of pipeline 'default/hello': not found"
    assert caught.value.field == "deployment"
    assert store.get_pipeline("default", "hello") == pipeline


def test_saving_a_deployment_of_another_pipeline_is_invalid(store: ports.Store) -> None:
    versions(store, 1)
    pipeline = store.get_pipeline("default", "hello")
    with pytest.raises(errors.InvalidArgument) as caught:
        store.save_deployment(pipeline, pipeline.revision, deployment(pipeline="other"))
    assert caught.value.message == (
        "deployment of pipeline 'default/other': given with pipeline 'default/hello'"
    )
    assert caught.value.field == "deployment"
    assert store.get_pipeline("default", "hello") == pipeline


def test_saving_for_a_missing_pipeline_names_it(store: ports.Store) -> None:
    ghost = pipelines.Pipeline("default", "ghost", "", 1, NOW, NOW)
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/ghost': not found$"):
        store.save_deployment(ghost, 1, deployment(pipeline="ghost"))


def test_an_automatic_abort_rule_and_times_read_back_equal(store: ports.Store) -> None:
    versions(store, 2)
    save(store, deployment(1), live_version=1)
    cet = datetime.timezone(datetime.timedelta(hours=1))
    canary = deployment(
        2,
        Kind.CANARY,
        State.CANARY,
        from_version=1,
        percent=25,
        auto_abort=deployments.AutoAbort(max_failure_rate=10, window=20),
        started=LATER.astimezone(cet),
    )
    _, stored = save(store, canary)
    assert stored == canary.evolve(id=2, first_run=1, started=LATER)
    assert stored.started.utcoffset() == datetime.timedelta(0)
    assert store.get_deployment("default", "hello", 2) == stored


def test_a_naive_time_is_refused_and_writes_nothing(store: ports.Store) -> None:
    versions(store, 1)
    pipeline = store.get_pipeline("default", "hello")
    naive = deployment(1, started=datetime.datetime(2025, 1, 1))
    with pytest.raises(errors.Internal, match="has no time zone"):
        save(store, naive, live_version=1)
    assert store.get_pipeline("default", "hello") == pipeline
    assert store.list_deployments("default", "hello", None, 10) == []


# reading ----------------------------------------------------------------------------------


def test_get_deployment_missing_names_the_missing_parent(store: ports.Store) -> None:
    versions(store, 1)
    with pytest.raises(errors.NotFound) as caught:
        store.get_deployment("default", "hello", 3)
    assert caught.value.message == "deployment 3 of pipeline 'default/hello': not found"
    assert caught.value.field == "deployment"
    assert caught.value.hint == "list the pipeline's deployments to see which exist"
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$"):
        store.get_deployment("default", "x", 1)
    with pytest.raises(errors.NotFound, match=r"^namespace 'x': not found$"):
        store.get_deployment("x", "hello", 1)


def test_list_deployments_pages_newest_first(store: ports.Store) -> None:
    versions(store, 1)
    save(store, deployment(1), live_version=1)
    for _ in range(4):
        save(store, deployment(1, Kind.REDEPLOY, from_version=1))
    first = store.list_deployments("default", "hello", None, 2)
    second = store.list_deployments("default", "hello", first[-1].id, 2)
    third = store.list_deployments("default", "hello", second[-1].id, 2)
    assert [[d.id for d in page] for page in (first, second, third)] == [[5, 4], [3, 2], [1]]
    assert store.list_deployments("default", "hello", 1, 2) == []


def test_list_deployments_of_a_missing_pipeline_names_it(store: ports.Store) -> None:
    versions(store, 1)
    assert store.list_deployments("default", "hello", None, 10) == []
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$"):
        store.list_deployments("default", "x", None, 10)
    with pytest.raises(errors.NotFound, match=r"^namespace 'x': not found$"):
        store.list_deployments("x", "hello", None, 10)


def test_list_canaries_is_oldest_first_across_pipelines(store: ports.Store) -> None:
    for name, started in [("b", NOW), ("a", LATER), ("c", NOW - datetime.timedelta(hours=1))]:
        versions(store, 2, name)
        save(store, deployment(1, pipeline=name), live_version=1)
        canary = deployment(2, Kind.CANARY, State.CANARY, pipeline=name, percent=10)
        save(store, canary.evolve(started=started))
    ended = store.get_deployment("default", "b", 2)
    save(store, deployment(2, Kind.CANARY, State.CANARY, pipeline="b", percent=5))
    save(store, ended.evolve(state=State.ABORTED, ended=LATER))

    found = store.list_canaries(10)

    assert [(d.pipeline, d.id) for d in found] == [("c", 2), ("b", 3), ("a", 2)]
    assert [d.pipeline for d in store.list_canaries(1)] == ["c"]


# routing ----------------------------------------------------------------------------------


def test_without_a_canary_every_run_takes_the_live_version(store: ports.Store) -> None:
    versions(store, 2)
    save(store, deployment(2), live_version=2)
    assert [store.route_run("default", "hello") for _ in range(3)] == [(2, LIVE)] * 3


def test_a_50_percent_canary_alternates_live_first(store: ports.Store) -> None:
    canary = start_canary(store, percent=50)

    routed = [store.route_run("default", "hello") for _ in range(40)]

    assert routed == [(1, LIVE), (2, CANARY)] * 20
    assert store.get_deployment("default", "hello", canary.id).routed == 40


def test_a_canary_routes_its_share_of_runs(store: ports.Store) -> None:
    start_canary(store, percent=10)
    routed = [store.route_run("default", "hello")[1] for _ in range(30)]
    assert [n for n, route in enumerate(routed, start=1) if route is CANARY] == [10, 20, 30]


def test_an_ended_canary_routes_no_more_runs(store: ports.Store) -> None:
    canary = start_canary(store, percent=50)
    store.route_run("default", "hello")
    save(store, canary.evolve(state=State.ABORTED, ended=LATER))
    assert [store.route_run("default", "hello") for _ in range(2)] == [(1, LIVE)] * 2
    assert store.get_deployment("default", "hello", canary.id).routed == 1


def test_routing_without_a_live_version_is_a_failed_precondition(store: ports.Store) -> None:
    versions(store, 1)
    with pytest.raises(errors.FailedPrecondition) as caught:
        store.route_run("default", "hello")
    assert caught.value.message == "pipeline 'default/hello': has no live version"
    assert caught.value.field == "pipeline"
    assert caught.value.hint == "deploy a version first with 'hostler pipeline up FILE'"
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$"):
        store.route_run("default", "x")
    with pytest.raises(errors.NotFound, match=r"^namespace 'x': not found$"):
        store.route_run("x", "hello")


# runs by version --------------------------------------------------------------------------


def run_of(
    store: ports.Store, make_run: MakeRun, version: int, status: runs.Status | None = None
) -> runs.Run:
    """Store a run of ``version`` of ``hello``, complete with ``status`` if given."""
    template, _ = make_run()
    run, _ = store.create_run(template.evolve(version=version, route=CANARY), [])
    if status is None:
        return run
    done = run.evolve(state=runs.State.COMPLETE, status=status, ended=LATER)
    return store.update_run(done, run.revision)


def test_tally_runs_counts_each_versions_runs_by_status(
    store: ports.Store, make_run: MakeRun
) -> None:
    versions(store, 3)
    run_of(store, make_run, 2, runs.Status.FAILED)  # runs 1 and 2, before the range
    run_of(store, make_run, 2, runs.Status.SUCCESSFUL)  # 3 and 4
    run_of(store, make_run, 3, runs.Status.SUCCESSFUL)  # 5 and 6
    run_of(store, make_run, 2, runs.Status.CANCELLED)  # 7 and 8
    run_of(store, make_run, 2, runs.Status.FAILED)  # 9 and 10

    tallies = store.tally_runs("default", "hello", 3, None)

    assert tallies == [
        deployments.Tally(version=1, runs=4),
        deployments.Tally(version=2, runs=3, successful=1, failed=1, cancelled=1),
        deployments.Tally(version=3, runs=1, successful=1),
    ]
    assert store.tally_runs("default", "hello", 3, 6) == [
        deployments.Tally(version=1, runs=2),
        deployments.Tally(version=2, runs=1, successful=1),
        deployments.Tally(version=3, runs=1, successful=1),
    ]
    assert store.tally_runs("default", "hello", 11, None) == []


def test_tally_runs_of_a_missing_pipeline_names_it(store: ports.Store) -> None:
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$"):
        store.tally_runs("default", "x", 1, None)


def test_list_runs_filters_by_version(store: ports.Store, make_run: MakeRun) -> None:
    versions(store, 2)
    for _ in range(3):
        run_of(store, make_run, 2)
    assert [r.id for r in store.list_runs("default", "hello", None, 10, version=2)] == [6, 4, 2]
    page = store.list_runs("default", "hello", 4, 10, [runs.State.PENDING], version=1)
    assert [r.id for r in page] == [3, 1]
    assert store.list_runs("default", "hello", None, 10, version=3) == []


def test_a_runs_route_is_stored_and_kept(store: ports.Store, make_run: MakeRun) -> None:
    versions(store, 2)
    live, _ = make_run()
    canary = run_of(store, make_run, 2)
    assert (live.route, canary.route) == (LIVE, CANARY)
    assert store.get_run("default", "hello", canary.id).route is CANARY
    assert store.get_run("default", "hello", live.id).route is LIVE
    updated = store.update_run(canary.evolve(route=LIVE), canary.revision)
    assert updated.route is CANARY
