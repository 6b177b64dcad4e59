"""Routes for pipelines and their versions: plan, register and deploy ("up"), list, get."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import deps, errors, limits, schemas
from hostler.services import pipelines

router = fastapi.APIRouter(tags=["pipelines"])

_BODY = limits.JSONBody(schemas.PipelineRequest, "max_pipeline_bytes")
Body = Annotated[schemas.PipelineRequest, fastapi.Depends(_BODY)]
_UP_BODY = limits.JSONBody(schemas.UpRequest, "max_pipeline_bytes")
Version = Annotated[int, fastapi.Path(description="The version number, from 1.")]


@router.get("/namespaces/{namespace}/pipelines", responses=errors.responses(404))
def list_pipelines(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.Pipeline]:
    """List the namespace's pipelines by id."""
    page = pipelines.list_(ctx, namespace, cursor, limit)
    return schemas.Page[schemas.Pipeline].of(page, schemas.Pipeline.from_entity)


@router.post(
    "/namespaces/{namespace}/pipelines",
    status_code=201,
    responses={
        200: {
            "model": schemas.PipelineResult,
            "description": "No new version: an existing one became live, or nothing changed.",
        },
        **errors.responses(404, 409, 413),
    },
    response_description="A new version was created and made live.",
    openapi_extra=_UP_BODY.openapi,
)
def up_pipeline(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    body: Annotated[schemas.UpRequest, fastapi.Depends(_UP_BODY)],
    response: fastapi.Response,
) -> schemas.PipelineResult:
    """Register the configuration as a version of its pipeline and make that version live
    (409 when ``planned_against`` is given and the live version changed since)."""
    done = pipelines.up(ctx, namespace, body.config, expected_live=body.expected_live)
    if not done.created:
        response.status_code = 200
    result = "created" if done.created else "deployed" if done.deployed else "unchanged"
    return schemas.PipelineResult(
        pipeline=schemas.Pipeline.from_entity(done.pipeline),
        version=schemas.Version.from_entity(done.version),
        result=result,
    )


@router.get("/namespaces/{namespace}/pipelines/{pipeline}", responses=errors.responses(404))
def get_pipeline(
    ctx: deps.ContextDep, namespace: deps.Namespace, pipeline: deps.Pipeline
) -> schemas.Pipeline:
    """Return one pipeline."""
    return schemas.Pipeline.from_entity(pipelines.get(ctx, namespace, pipeline))


@router.get(
    "/namespaces/{namespace}/pipelines/{pipeline}/versions", responses=errors.responses(404)
)
def list_versions(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.Version]:
    """List the pipeline's versions, newest first."""
    page = pipelines.list_versions(ctx, namespace, pipeline, cursor, limit)
    return schemas.Page[schemas.Version].of(page, schemas.Version.from_entity)


@router.post(
    "/namespaces/{namespace}/pipelines/{pipeline}/versions",
    status_code=201,
    responses={
        200: {"model": schemas.VersionResult, "description": "An identical version exists."},
        **errors.responses(404, 409, 413),
    },
    response_description="A new version was created (it is not live yet).",
    openapi_extra=_BODY.openapi,
)
def create_version(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    body: Body,
    response: fastapi.Response,
) -> schemas.VersionResult:
    """Register the configuration as a version of the pipeline without making it live.

    The configuration's ``id`` must be the pipeline in the path.
    """
    version, created = pipelines.register(ctx, namespace, body.config, pipeline=pipeline)
    if not created:
        response.status_code = 200
    return schemas.VersionResult(
        version=schemas.Version.from_entity(version),
        result="created" if created else "unchanged",
    )


@router.get(
    "/namespaces/{namespace}/pipelines/{pipeline}/versions/{version}",
    responses=errors.responses(404),
)
def get_version(
    ctx: deps.ContextDep, namespace: deps.Namespace, pipeline: deps.Pipeline, version: Version
) -> schemas.Version:
    """Return one version of the pipeline."""
    return schemas.Version.from_entity(pipelines.get_version(ctx, namespace, pipeline, version))


@router.get("/namespaces/{namespace}/pipelines/{pipeline}/diff", responses=errors.responses(404))
def diff_versions(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    old: Annotated[int, fastapi.Query(alias="from", ge=1, description="The version before.")],
    new: Annotated[int, fastapi.Query(alias="to", ge=1, description="The version after.")],
) -> schemas.DeployPlan:
    """Compare two versions as a deploy of ``to`` in place of ``from`` would: tasks added, removed
    and changed field by field, settings changed."""
    return schemas.DeployPlan.of(pipelines.diff(ctx, namespace, pipeline, old, new))


@router.post(
    "/namespaces/{namespace}/pipelines/{pipeline}/plan",
    responses=errors.responses(404, 413),
    response_description="What making the configuration live would change; nothing is written.",
    openapi_extra=_BODY.openapi,
)
def plan_pipeline(
    ctx: deps.ContextDep, namespace: deps.Namespace, pipeline: deps.Pipeline, body: Body
) -> schemas.Plan:
    """Plan making the configuration live: tasks added, removed and changed, field by field;
    settings changed; runs in flight. The pipeline need not exist yet (a first deploy)."""
    return schemas.Plan.from_entity(pipelines.plan(ctx, namespace, body.config, pipeline))
