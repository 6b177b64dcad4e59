"""Use cases for pipelines and their versions: plan, register a version and make it live, list,
get.

Registering is content-addressed: a configuration with the digest of an existing version creates
nothing, and is recorded in the audit history. Making a version live is a deployment
(``services.deployments``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hostler.core import errors, pipelines, plans, runs, subscriptions
from hostler.services import audit, deployments, pages
from hostler.services import secrets as secret_service
from hostler.services import subscriptions as subscription_service
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
    named = pipeline or data.get("id")
    target = f"{namespace}/{named if isinstance(named, str) else '?'}"
    with audit.recorded(ctx, "version.register", target) as entry:
        config = _parse(ctx, namespace, data, pipeline)
        digest = pipelines.digest(config)
        version = ctx.store.find_version(namespace, config.id, digest)
        entry.unchanged = version is not None
        if version is None:
            version = ctx.store.create_version(namespace, config, digest, ctx.clock())
        entry.detail.update(version=version.version, digest=digest)
        return version, not entry.unchanged


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
    _check_upstreams(ctx, namespace, config)
    subscription_service.check_file_keys(ctx, namespace, config)
    return config


def _check_upstreams(ctx: Context, namespace: str, config: pipelines.Config) -> None:
    """Refuse a trigger that follows a pipeline of a namespace whose runs who asks may not
    read: it would tell them of those runs."""
    subject = f"pipeline '{namespace}/{config.id}'"
    followed = subscriptions.upstreams(namespace, config)
    subscription_service.check_follows(ctx, subject, namespace, followed)


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
        deployments.check_no_canary(ctx, current)
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
    made = plans.make(config.id, live, target, active_runs=in_flight, now=ctx.clock())
    if made.action is not plans.Action.UP_TO_DATE:
        absent = [str(ref) for ref in secret_service.missing(ctx, namespace, config)]
        made = dataclasses.replace(made, missing_secrets=absent)
    return Planned(made, digest, registered)


def up(
    ctx: Context,
    namespace: str,
    data: Mapping[str, Any],
    expected_live: deployments.ExpectedLive = deployments.UNCHECKED,
) -> Registered:
    """Register ``data`` as a version of its pipeline and deploy it unless it is live already.

    A canary in progress, or a live version other than ``expected_live``, is refused before
    anything is registered.
    """
    config = _parse(ctx, namespace, data, None)
    try:
        before: pipelines.Pipeline | None = ctx.store.get_pipeline(namespace, config.id)
    except errors.NotFound:
        before = None  # a new pipeline
    if before is not None:
        deployments.check_no_canary(ctx, before)
    deployments.check_live(before, expected_live)
    version, created = register(ctx, namespace, data)
    current = ctx.store.get_pipeline(namespace, version.pipeline)
    if current.live_version == version.version:
        deployments.check_live(current, expected_live)
        return Registered(current, version, created, False)
    done = deployments.deploy(
        ctx, namespace, version.pipeline, version.version, expected_live=expected_live
    )
    return Registered(done.pipeline, version, created, True)


def diff(ctx: Context, namespace: str, pipeline: str, old: int, new: int) -> plans.Plan:
    """Return what deploying version ``new`` in place of version ``old`` changes."""
    before = ctx.store.get_version(namespace, pipeline, old)
    after = ctx.store.get_version(namespace, pipeline, new)
    return plans.make(pipeline, before, after)


def get(ctx: Context, namespace: str, pipeline: str) -> pipelines.Pipeline:
    """Return one pipeline."""
    return ctx.store.get_pipeline(namespace, pipeline)


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
