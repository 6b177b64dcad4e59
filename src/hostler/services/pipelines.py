"""Use cases for pipelines and their versions: plan, register a version and make it live, list,
get.

Registering is content-addressed: a configuration with the digest of an existing version creates
nothing. Making a version live goes through ``deploy``, the seam where planning, confirmation and
the deployment history plug in.
"""

from __future__ import annotations

import dataclasses
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


def deploy(
    ctx: Context, namespace: str, pipeline: str, version: int
) -> tuple[pipelines.Pipeline, bool]:
    """Make ``version`` the pipeline's live version; return it and whether anything changed."""
    target = ctx.store.get_version(namespace, pipeline, version)
    current = ctx.store.get_pipeline(namespace, pipeline)
    if current.live_version == target.version:
        return current, False
    updated = dataclasses.replace(
        current,
        live_version=target.version,
        description=target.config.description,
        updated=ctx.clock(),
    )
    return ctx.store.update_pipeline(updated, current.revision), True


def up(ctx: Context, namespace: str, data: Mapping[str, Any]) -> Registered:
    """Register ``data`` as a version of its pipeline and make it live."""
    version, created = register(ctx, namespace, data)
    pipeline, deployed = deploy(ctx, namespace, version.pipeline, version.version)
    return Registered(pipeline, version, created, deployed)


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
