"""Use cases for deployments: plan and deploy a version, canaries, promote, abort, history.

Every deployment is planned first (``plan_*`` write nothing) and applied under the pipeline's
deploy lock, with compare-and-set against the live version the caller planned against, and inside
an audit record. The lock is taken before the record is started: a deploy that could not even
start because another one held the lock is refused without a record (the automatic canary check
would otherwise leave one every second).

A canary shares new runs between the live version and a candidate until it is promoted or
aborted, by hand or automatically (``check_canaries``, run by ``canary_watch``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
import logging
import time
import uuid
from collections.abc import Iterator

from hostler.core import deployments, errors, pipelines, plans, runs
from hostler.services import audit, pages, periodic
from hostler.services import secrets as secret_service
from hostler.services import subscriptions as subscription_service
from hostler.services.context import Context

_log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 5.0
"""How long a deploy waits for another deploy of the same pipeline to finish before failing."""
LOCK_TTL_SECONDS = 15.0
"""How long a deploy lock outlives a server that stopped while holding it. A deploy takes
milliseconds; one slower than this loses the lock, and compare-and-set still keeps it safe."""
_LOCK_POLL = 0.05
SYSTEM_ACTOR = "hostler"
"""The actor of what Hostler does by itself, such as an automatic canary abort."""


class Unchecked(enum.Enum):
    """The type of ``UNCHECKED``."""

    UNCHECKED = "unchecked"


UNCHECKED = Unchecked.UNCHECKED
"""Deploy whatever the live version is: the caller did not plan against one."""

ExpectedLive = int | Unchecked | None
"""The live version a deploy was planned against (None: none was live), or ``UNCHECKED``."""


@dataclasses.dataclass(frozen=True)
class Canary:
    """What a canary deploy asks for: the share of new runs, and an optional abort rule."""

    percent: int
    auto_abort: deployments.AutoAbort | None = None

    def __post_init__(self) -> None:
        deployments.check_percent(self.percent)


@dataclasses.dataclass(frozen=True)
class Deployed:
    """What a deploy, promote or abort did: the plan applied, the pipeline and the deployment."""

    plan: plans.Plan
    pipeline: pipelines.Pipeline
    deployment: deployments.Deployment


# planning ------------------------------------------------------------------------------------


def plan(
    ctx: Context,
    namespace: str,
    pipeline: str,
    version: int,
    *,
    force_same_version: bool = False,
    canary: Canary | None = None,
) -> plans.Plan:
    """Return the plan of deploying ``version`` (as a canary when ``canary`` is given).

    FailedPrecondition when a canary is in progress, when ``version`` is live already and
    ``force_same_version`` is not set, or for a canary without a live version.
    """
    current = ctx.store.get_pipeline(namespace, pipeline)
    check_no_canary(ctx, current)
    target = ctx.store.get_version(namespace, pipeline, version)
    subscription_service.check_file_keys(ctx, namespace, target.config, version)
    live = _live(ctx, current)
    in_flight = _in_flight(ctx, namespace, pipeline)
    if canary is not None:
        if live is None:
            raise errors.FailedPrecondition(
                f"pipeline '{current.ref}': has no live version to share runs with",
                field="canary",
                hint="deploy a first version without --canary",
            )
        routing = plans.Routing(canary.percent, canary.auto_abort)
        made = plans.canary(pipeline, live, target, routing, active_runs=in_flight, now=ctx.clock())
    elif live is not None and live.version == version and not force_same_version:
        raise errors.FailedPrecondition(
            f"pipeline '{current.ref}': v{version} is the live version already",
            field="version",
            hint="add --force-same-version (force_same_version) to deploy it again",
        )
    else:
        made = plans.make(
            pipeline,
            live,
            target,
            active_runs=in_flight,
            force_same_version=force_same_version,
            now=ctx.clock(),
        )
    absent = secret_service.missing(ctx, namespace, target.config)
    return dataclasses.replace(made, missing_secrets=[str(ref) for ref in absent])


def plan_promote(ctx: Context, namespace: str, pipeline: str) -> plans.Plan:
    """Return the plan of making the canary's candidate the live version."""
    current, canary = _canary(ctx, namespace, pipeline, "promote")
    live, candidate = _versions(ctx, current, canary)
    routing = _routing(ctx, canary)
    in_flight = _in_flight(ctx, namespace, pipeline)
    return plans.promote(pipeline, live, candidate, routing, active_runs=in_flight, now=ctx.clock())


def plan_abort(ctx: Context, namespace: str, pipeline: str) -> plans.Plan:
    """Return the plan of dropping the canary: every new run on the live version again."""
    current, canary = _canary(ctx, namespace, pipeline, "abort")
    live, candidate = _versions(ctx, current, canary)
    routing = _routing(ctx, canary)
    return plans.abort(
        pipeline, live, candidate, routing, active_runs=_in_flight(ctx, namespace, pipeline)
    )


# applying ------------------------------------------------------------------------------------


def deploy(
    ctx: Context,
    namespace: str,
    pipeline: str,
    version: int,
    *,
    expected_live: ExpectedLive = UNCHECKED,
    force_same_version: bool = False,
    canary: Canary | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> Deployed:
    """Deploy ``version``: make it live, or start a canary of it when ``canary`` is given.

    With ``expected_live`` (the live version a plan was made against), a live version that
    changed since is a Conflict; the write is compare-and-set too, so of two deploys planned
    against the same live version exactly one succeeds.
    """
    detail = {"version": version, "canary": None if canary is None else canary.percent}
    with (
        _locked(ctx, namespace, pipeline, f"deploy of v{version}", lock_wait),
        audit.recorded(ctx, "pipeline.deploy", f"{namespace}/{pipeline}", detail) as entry,
    ):
        current = ctx.store.get_pipeline(namespace, pipeline)
        check_live(current, expected_live)
        planned = plan(
            ctx,
            namespace,
            pipeline,
            version,
            force_same_version=force_same_version,
            canary=canary,
        )
        target = ctx.store.get_version(namespace, pipeline, version)
        kind = _kind(planned.action)
        now = ctx.clock()
        deployment = deployments.Deployment(
            namespace=namespace,
            pipeline=pipeline,
            id=0,
            kind=kind,
            state=deployments.State.CANARY if canary else deployments.State.DEPLOYED,
            from_version=current.live_version,
            to_version=version,
            actor=ctx.actor,
            started=now,
            ended=None if canary else now,
            percent=canary.percent if canary else None,
            auto_abort=canary.auto_abort if canary else None,
        )
        updated = current
        if canary is None:
            updated = dataclasses.replace(
                current,
                live_version=version,
                description=target.config.description,
                updated=now,
            )
        stored, made = ctx.store.save_deployment(updated, current.revision, deployment)
        entry.detail.update(kind=kind.value, from_version=current.live_version, deployment=made.id)
        return Deployed(planned, stored, made)


def promote(
    ctx: Context,
    namespace: str,
    pipeline: str,
    *,
    expected_candidate: int | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> Deployed:
    """Make the canary's candidate the live version.

    With ``expected_candidate`` (the candidate a plan was made for), another candidate is a
    Conflict.
    """
    return _end_canary(ctx, namespace, pipeline, "promote", expected_candidate, None, lock_wait)


def abort(
    ctx: Context,
    namespace: str,
    pipeline: str,
    *,
    expected_candidate: int | None = None,
    reason: str | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> Deployed:
    """Drop the canary: every new run is on the live version again; ``reason`` says why."""
    return _end_canary(ctx, namespace, pipeline, "abort", expected_candidate, reason, lock_wait)


def _end_canary(
    ctx: Context,
    namespace: str,
    pipeline: str,
    action: str,
    expected_candidate: int | None,
    reason: str | None,
    lock_wait: float,
) -> Deployed:
    target = f"{namespace}/{pipeline}"
    with (
        _locked(ctx, namespace, pipeline, f"{action} of the canary", lock_wait),
        audit.recorded(ctx, f"pipeline.{action}", target, {"reason": reason}) as entry,
    ):
        current, canary = _canary(ctx, namespace, pipeline, action)
        if expected_candidate is not None and canary.to_version != expected_candidate:
            raise errors.Conflict(
                f"pipeline '{current.ref}': the canary is of v{canary.to_version} now, "
                f"not v{expected_candidate} as planned",
                field="candidate",
                hint="someone deployed meanwhile: plan again and review the new plan",
            )
        live, candidate = _versions(ctx, current, canary)
        routing = _routing(ctx, canary)
        in_flight = _in_flight(ctx, namespace, pipeline)
        now = ctx.clock()
        if action == "promote":
            planned = plans.promote(pipeline, live, candidate, routing, active_runs=in_flight)
            updated = dataclasses.replace(
                current,
                live_version=candidate.version,
                description=candidate.config.description,
                updated=now,
            )
            ended = canary.evolve(
                state=deployments.State.PROMOTED, ended=now, reason=f"promoted by {ctx.actor}"
            )
        else:
            planned = plans.abort(pipeline, live, candidate, routing, active_runs=in_flight)
            updated = dataclasses.replace(current, updated=now)
            ended = canary.evolve(
                state=deployments.State.ABORTED,
                ended=now,
                reason=reason or f"aborted by {ctx.actor}",
            )
        stored, made = ctx.store.save_deployment(updated, current.revision, ended)
        entry.detail.update(deployment=made.id, candidate=canary.to_version, live=live.version)
        return Deployed(planned, stored, made)


def check_live(current: pipelines.Pipeline | None, expected_live: ExpectedLive) -> None:
    """Raise Conflict when the live version is not the one the caller planned against."""
    if expected_live is UNCHECKED:
        return
    live = current.live_version if current is not None else None
    if live != expected_live:
        name = f"pipeline '{current.ref}'" if current is not None else "pipeline"
        raise errors.Conflict(
            f"{name}: the live version is {_v(live)} now, not {_v(expected_live)} as planned",
            field="planned_against",
            hint="someone deployed meanwhile: plan again and review the new plan",
        )


# canaries ------------------------------------------------------------------------------------


def check_canaries(ctx: Context) -> list[deployments.Deployment]:
    """Abort every canary whose candidate failed more than its abort rule allows; return the
    deployments aborted."""
    aborted = []
    for canary in ctx.store.list_canaries(pages.MAX_LIMIT):
        rule = canary.auto_abort
        if rule is None:
            continue
        why = rule.exceeded(_canary_outcomes(ctx, canary, rule.window))
        if why is None:
            continue
        try:
            done = abort(
                ctx.acting_as(SYSTEM_ACTOR),
                canary.namespace,
                canary.pipeline,
                expected_candidate=canary.to_version,
                reason=f"aborted automatically: {why}",
                lock_wait=0,
            )
        except (errors.Conflict, errors.FailedPrecondition):
            continue  # promoted, aborted or being deployed meanwhile: look again next time
        _log.warning(
            "canary aborted",
            extra={"pipeline": f"{canary.namespace}/{canary.pipeline}", "reason": why},
        )
        aborted.append(done.deployment)
    return aborted


def _canary_outcomes(
    ctx: Context, canary: deployments.Deployment, window: int
) -> list[runs.Status]:
    """Return how the newest canary runs of the candidate ended (successful or failed only)."""
    newest_first = pages.every(
        lambda after, limit: ctx.store.list_runs(
            canary.namespace,
            canary.pipeline,
            after,
            limit,
            (runs.State.COMPLETE,),
            version=canary.to_version,
        ),
        lambda run: run.id,
    )
    outcomes: list[runs.Status] = []
    for run in newest_first:
        if run.id < canary.first_run or len(outcomes) == window:
            break
        if run.route is runs.Route.CANARY and run.status in (
            runs.Status.SUCCESSFUL,
            runs.Status.FAILED,
        ):
            outcomes.append(run.status)
    return outcomes


def canary_watch(ctx: Context, interval: float = 1.0) -> periodic.Periodic:
    """Return the background work that runs ``check_canaries`` every ``interval`` seconds."""

    def check() -> None:
        try:
            check_canaries(ctx)
        except errors.HostlerError as exc:
            _log.warning("canary check failed", extra={"error": exc.message})

    return periodic.Periodic("hostler-canaries", interval, check)


# reading -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Entry:
    """A deployment as its history shows it: with the runs of each version started under it."""

    deployment: deployments.Deployment
    tallies: list[deployments.Tally]


def history(
    ctx: Context, namespace: str, pipeline: str, cursor: str | None, limit: int
) -> pages.Page[Entry]:
    """Return a page of the pipeline's deployments, newest first, each with its run tallies."""
    ctx.store.get_pipeline(namespace, pipeline)
    page = pages.page(
        lambda after, n: ctx.store.list_deployments(namespace, pipeline, after, n),
        cursor,
        limit,
        int,
        lambda d: d.id,
    )
    entries = []
    for deployment in page.items:
        # its runs: those started from its first run until the next deployment began
        try:
            newer = ctx.store.get_deployment(namespace, pipeline, deployment.id + 1)
            last: int | None = newer.first_run - 1
        except errors.NotFound:
            last = None
        tallies = ctx.store.tally_runs(namespace, pipeline, deployment.first_run, last)
        entries.append(Entry(deployment, tallies))
    return pages.Page(entries, page.next_cursor)


# helpers -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(ctx: Context, namespace: str, pipeline: str, what: str, wait: float) -> Iterator[None]:
    """Hold the pipeline's deploy lock inside the block; wait up to ``wait`` seconds for it."""
    name = f"deploy:{namespace}/{pipeline}"
    holder = (
        f"{what} by {ctx.actor}, started {ctx.clock():%Y-%m-%d %H:%M:%S} UTC "
        f"[{uuid.uuid4().hex[:8]}]"
    )
    deadline = time.monotonic() + wait
    while True:
        now = ctx.clock()
        expires = now + datetime.timedelta(seconds=LOCK_TTL_SECONDS)
        held_by = ctx.store.acquire_lock(name, holder, now, expires)
        if held_by is None:
            break
        if time.monotonic() >= deadline:
            raise errors.Conflict(
                f"pipeline '{namespace}/{pipeline}': another deployment is in progress ({held_by})",
                field="pipeline",
                hint="wait for it to finish, then plan again",
            )
        time.sleep(_LOCK_POLL)
    try:
        yield
    finally:
        try:
            ctx.store.release_lock(name, holder)
        except errors.HostlerError as exc:  # it expires by itself
            _log.warning("deploy lock not released", extra={"lock": name, "error": exc.message})


def check_no_canary(ctx: Context, current: pipelines.Pipeline) -> None:
    """Raise FailedPrecondition when a canary is in progress: it must end before a deploy."""
    if current.canary is None:
        return
    canary = ctx.store.get_deployment(current.namespace, current.id, current.canary)
    raise errors.FailedPrecondition(
        f"pipeline '{current.ref}': a canary of v{canary.to_version} is in progress "
        f"(deployment {canary.id}, {canary.percent}% of new runs)",
        field="pipeline",
        hint=f"promote or abort it first: 'hostler pipeline deploy {current.id} --promote' "
        "or '--abort'",
    )


def _canary(
    ctx: Context, namespace: str, pipeline: str, action: str
) -> tuple[pipelines.Pipeline, deployments.Deployment]:
    current = ctx.store.get_pipeline(namespace, pipeline)
    if current.canary is None:
        raise errors.FailedPrecondition(
            f"pipeline '{current.ref}': has no canary to {action}",
            field="pipeline",
            hint=f"start one with 'hostler pipeline deploy {pipeline} VERSION --canary PERCENT'",
        )
    return current, ctx.store.get_deployment(namespace, pipeline, current.canary)


def _versions(
    ctx: Context, current: pipelines.Pipeline, canary: deployments.Deployment
) -> tuple[pipelines.Version, pipelines.Version]:
    live = _live(ctx, current)
    if live is None:  # a canary starts only next to a live version, which stays
        raise errors.Internal(f"pipeline '{current.ref}': a canary without a live version")
    return live, ctx.store.get_version(current.namespace, current.id, canary.to_version)


def _routing(ctx: Context, canary: deployments.Deployment) -> plans.Routing:
    tallies = ctx.store.tally_runs(canary.namespace, canary.pipeline, canary.first_run, None)
    return plans.Routing(canary.percent or 0, canary.auto_abort, tallies)


def _live(ctx: Context, current: pipelines.Pipeline) -> pipelines.Version | None:
    if current.live_version is None:
        return None
    return ctx.store.get_version(current.namespace, current.id, current.live_version)


def _in_flight(ctx: Context, namespace: str, pipeline: str) -> int:
    return sum(
        ctx.store.count_runs(namespace, pipeline, state)
        for state in (runs.State.PENDING, runs.State.RUNNING)
    )


def _kind(action: plans.Action) -> deployments.Kind:
    return {
        plans.Action.ROLLBACK: deployments.Kind.ROLLBACK,
        plans.Action.REDEPLOY: deployments.Kind.REDEPLOY,
        plans.Action.CANARY: deployments.Kind.CANARY,
    }.get(action, deployments.Kind.DEPLOY)


def _v(version: int | None) -> str:
    return "none" if version is None else f"v{version}"
