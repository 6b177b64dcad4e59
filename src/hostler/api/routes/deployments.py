"""Routes for deployments: deploy a version (or plan it), canaries, the deployment history."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import deps, errors, limits, schemas
from hostler.services import deployments

router = fastapi.APIRouter(tags=["deployments"])

_DEPLOY = limits.JSONBody(schemas.DeployRequest)
_CANARY = limits.JSONBody(schemas.CanaryRequest)
CanaryBody = Annotated[schemas.CanaryRequest, fastapi.Depends(_CANARY)]

_PREFIX = "/namespaces/{namespace}/pipelines/{pipeline}"


@router.post(
    f"{_PREFIX}/deployments",
    status_code=201,
    responses={
        200: {"model": schemas.DeployResult, "description": "A dry run: the plan only."},
        **errors.responses(404, 409, 413),
    },
    response_description="The version is live, or its canary has begun.",
    openapi_extra=_DEPLOY.openapi,
)
def deploy(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    body: Annotated[schemas.DeployRequest, fastapi.Depends(_DEPLOY)],
    response: fastapi.Response,
) -> schemas.DeployResult:
    """Deploy a version: make it live (an older one is a rollback), or with ``canary`` send that
    share of new runs to it. The plan comes back with what was done; ``dry_run`` only plans.

    409 when a canary is in progress, when the version is live already (unless
    ``force_same_version``), when the live version is not ``planned_against``, or when another
    deployment of the pipeline holds its lock for more than a few seconds.
    """
    if body.dry_run:
        response.status_code = 200
        plan = deployments.plan(
            ctx,
            namespace,
            pipeline,
            body.version,
            force_same_version=body.force_same_version,
            canary=body.canary_request,
        )
        return schemas.DeployResult.of(plan, None)
    done = deployments.deploy(
        ctx,
        namespace,
        pipeline,
        body.version,
        expected_live=body.expected_live,
        force_same_version=body.force_same_version,
        canary=body.canary_request,
    )
    return schemas.DeployResult.of(done.plan, done)


@router.post(
    f"{_PREFIX}/canary/promote",
    responses=errors.responses(404, 409, 413),
    openapi_extra=_CANARY.openapi,
)
def promote_canary(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    body: CanaryBody,
) -> schemas.DeployResult:
    """Make the canary's candidate the live version (``dry_run``: only plan it).

    409 when there is no canary, or when it is not of ``candidate``.
    """
    if body.dry_run:
        return schemas.DeployResult.of(deployments.plan_promote(ctx, namespace, pipeline), None)
    done = deployments.promote(ctx, namespace, pipeline, expected_candidate=body.candidate)
    return schemas.DeployResult.of(done.plan, done)


@router.post(
    f"{_PREFIX}/canary/abort",
    responses=errors.responses(404, 409, 413),
    openapi_extra=_CANARY.openapi,
)
def abort_canary(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    body: CanaryBody,
) -> schemas.DeployResult:
    """Drop the canary: every new run goes to the live version again (``dry_run``: only plan it).

    Runs of the candidate in flight finish on it. 409 when there is no canary, or when it is not
    of ``candidate``.
    """
    if body.dry_run:
        return schemas.DeployResult.of(deployments.plan_abort(ctx, namespace, pipeline), None)
    done = deployments.abort(ctx, namespace, pipeline, expected_candidate=body.candidate)
    return schemas.DeployResult.of(done.plan, done)


@router.get(f"{_PREFIX}/deployments", responses=errors.responses(404))
def list_deployments(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.DeploymentEntry]:
    """List the pipeline's deployments, newest first, each with the runs of each version
    started under it and their success rate."""
    page = deployments.history(ctx, namespace, pipeline, cursor, limit)
    return schemas.Page[schemas.DeploymentEntry].of(page, schemas.DeploymentEntry.from_entry)
