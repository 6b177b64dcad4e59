"""Use cases for pipelines and their versions: plan, register a version and make it live, list,
get.

Registering is content-addressed: a configuration with the digest of an existing version creates
nothing. Making a version live goes through ``deploy``, the seam where planning, confirmation and
the deployment history plug in.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from hostler.core import errors, pipelines, plans, runs
from hostler.services import pages
from hostler.services.context import Context


@dataclasses.dataclass(frozen=True)
class Registered:
    """What ``up`` did: the version, whether it is new, and whether it became live just now."""

    pipeline: pipelines.Pipeline
    version: pipelines.Version
    created: bool
    deployed: bool

    @property
    def unchanged(self) -> bool:
        """True when the call changed nothing at all."""
        return not (self.created or self.deployed)


def register(
    ctx: Context, namespace: str, data: Mapping[str, Any], pipeline: str | None = None
) -> tuple[pipelines.Version, bool]:
    """Validate ``data`` and store it as a new version unless an identical one exists.

    When ``pipeline`` is given, the configuration must be of that pipeline. Returns the version and
    whether it was created.
    """
    config = _parse(ctx, namespace, data, pipeline)
    digest = pipelines.digest(config)
    existing = ctx.store.find_version(namespace, config.id, digest)
    if existing is not None:
        return existing, False
    return ctx.store.create_version(namespace, config, digest, ctx.clock()), True


def _parse(
    ctx: Context, namespace: str, data: Mapping[str, Any], pipeline: str | None
) -> pipelines.Config:
    ctx.store.get_namespace(namespace)
    config = pipelines.parse(data)
    if pipeline is not None and config.id != pipeline:
        raise errors.InvalidArgument(
            f"pipeline '{config.id}': does not match '{pipeline}' in the path",
            field="id",
            hint=f"set the configuration's id to '{pipeline}', or post to its own pipeline",
        )
    return config


@dataclasses.dataclass(frozen=True)
class Planned:
    """The plan of making a configuration live, and the version it would deploy."""

    plan: plans.Plan
    digest: str
    registered: bool
    """True when the configuration is a version already; False when deploying would add it."""


def plan(
    ctx: Context, namespace: str, data: Mapping[str, Any], pipeline: str | None = None
) -> Planned:
    """Say what making ``data`` live would change against the live version; write nothing."""
    config = _parse(ctx, namespace, data, pipeline)
    digest = pipelines.digest(config)
    target = ctx.store.find_version(namespace, config.id, digest)
    live, in_flight, next_number = None, 0, 1
    try:
        current = ctx.store.get_pipeline(namespace, config.id)
    except errors.NotFound:
        current = None  # a new pipeline: its first version
    if current is not None:
        if current.live_version is not None:
            live = ctx.store.get_version(namespace, config.id, current.live_version)
        in_flight = sum(
            ctx.store.count_runs(namespace, config.id, state)
            for state in (runs.State.PENDING, runs.State.RUNNING)
        )
        newest = ctx.store.list_versions(namespace, config.id, None, 1)
        next_number = newest[0].version + 1 if newest else 1
    registered = target is not None
    if target is None:
        target = pipelines.Version(namespace, config.id, next_number, digest, config, ctx.clock())
    return Planned(plans.make(config.id, live, target, active_runs=in_flight), digest, registered)


class Unchecked(enum.Enum):
    """The type of ``UNCHECKED``."""

    UNCHECKED = "unchecked"


UNCHECKED = Unchecked.UNCHECKED
"""Deploy whatever the live version is: the caller did not plan against one."""

ExpectedLive = int | Unchecked | None
"""The live version a deploy was planned against (None: none was live), or ``UNCHECKED``."""


def deploy(
    ctx: Context,
    namespace: str,
    pipeline: str,
    version: int,
    expected_live: ExpectedLive = UNCHECKED,
) -> tuple[pipelines.Pipeline, bool]:
    """Make ``version`` the pipeline's live version; return it and whether anything changed.

    With ``expected_live`` (the live version a plan was made against, None for none), a live
    version that changed since is a Conflict; the write itself is compare-and-set, so of two
    deploys planned against the same live version exactly one succeeds.
    """
    target = ctx.store.get_version(namespace, pipeline, version)
    current = ctx.store.get_pipeline(namespace, pipeline)
    _check_live(current, expected_live)
    if current.live_version == target.version:
        return current, False
    updated = dataclasses.replace(
        current,
        live_version=target.version,
        description=target.config.description,
        updated=ctx.clock(),
    )
    return ctx.store.update_pipeline(updated, current.revision), True


def up(
    ctx: Context,
    namespace: str,
    data: Mapping[str, Any],
    expected_live: ExpectedLive = UNCHECKED,
) -> Registered:
    """Register ``data`` as a version of its pipeline and make it live.

    With ``expected_live``, the live version is checked before anything is registered too.
    """
    if expected_live is not UNCHECKED:
        config = _parse(ctx, namespace, data, None)
        try:
            _check_live(ctx.store.get_pipeline(namespace, config.id), expected_live)
        except errors.NotFound:
            _check_live(None, expected_live)
    version, created = register(ctx, namespace, data)
    pipeline, deployed = deploy(ctx, namespace, version.pipeline, version.version, expected_live)
    return Registered(pipeline, version, created, deployed)


def _check_live(current: pipelines.Pipeline | None, expected_live: ExpectedLive) -> None:
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


def _v(version: int | None) -> str:
    return "none" if version is None else f"v{version}"


def get(ctx: Context, namespace: str, pipeline: str) -> pipelines.Pipeline:
    """Return one pipeline."""
    return ctx.store.get_pipeline(namespace, pipeline)


def live_version(ctx: Context, namespace: str, pipeline: str) -> pipelines.Version:
    """Return the pipeline's live version; FailedPrecondition if none is live."""
    current = ctx.store.get_pipeline(namespace, pipeline)
    if current.live_version is None:
        raise errors.FailedPrecondition(
            f"pipeline '{current.ref}': has no live version",
            field="pipeline",
            hint="deploy a version first with 'hostler pipeline up FILE'",
        )
    return ctx.store.get_version(namespace, pipeline, current.live_version)


def list_(
    ctx: Context, namespace: str, cursor: str | None, limit: int
) -> pages.Page[pipelines.Pipeline]:
    """Return a page of the namespace's pipelines, by id."""
    ctx.store.get_namespace(namespace)
    return pages.page(
        lambda after, n: ctx.store.list_pipelines(namespace, after, n),
        cursor,
        limit,
        str,
        lambda p: p.id,
    )


def get_version(ctx: Context, namespace: str, pipeline: str, version: int) -> pipelines.Version:
    """Return one version of a pipeline."""
    return ctx.store.get_version(namespace, pipeline, version)


def list_versions(
    ctx: Context, namespace: str, pipeline: str, cursor: str | None, limit: int
) -> pages.Page[pipelines.Version]:
    """Return a page of the pipeline's versions, newest first."""
    ctx.store.get_pipeline(namespace, pipeline)
    return pages.page(
        lambda after, n: ctx.store.list_versions(namespace, pipeline, after, n),
        cursor,
        limit,
        int,
        lambda v: v.version,
    )
