"""Routes for namespaces: list, create, get."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import access, deps, errors, limits, schemas
from hostler.core import access as core_access
from hostler.services import namespaces

router = fastapi.APIRouter(tags=["namespaces"])

_BODY = limits.JSONBody(schemas.NamespaceRequest)


@router.get("/namespaces", responses=errors.responses())
def list_namespaces(
    ctx: deps.ContextDep,
    caller: access.PrincipalDep,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.Namespace]:
    """List the namespaces the caller may read, by name."""

    def visible(name: str) -> bool:
        return caller.allows(core_access.Kind.NAMESPACES, core_access.Action.READ, name)

    page = namespaces.list_(ctx, cursor, limit, visible)
    return schemas.Page[schemas.Namespace].of(page, schemas.Namespace.from_entity)


@router.post(
    "/namespaces",
    status_code=201,
    responses={
        200: {"model": schemas.NamespaceResult, "description": "An identical namespace exists."},
        **errors.responses(409, 413),
    },
    response_description="The namespace was created.",
    openapi_extra=_BODY.openapi,
)
def create_namespace(
    ctx: deps.ContextDep,
    body: Annotated[schemas.NamespaceRequest, fastapi.Depends(_BODY)],
    response: fastapi.Response,
) -> schemas.NamespaceResult:
    """Create a namespace; an identical existing one is "unchanged", a different one a 409."""
    done = namespaces.create(ctx, body.name, body.description)
    if not done.created:
        response.status_code = 200
    return schemas.NamespaceResult(
        namespace=schemas.Namespace.from_entity(done.namespace),
        result="created" if done.created else "unchanged",
    )


@router.get("/namespaces/{namespace}", responses=errors.responses(404))
def get_namespace(ctx: deps.ContextDep, namespace: deps.Namespace) -> schemas.Namespace:
    """Return one namespace."""
    return schemas.Namespace.from_entity(namespaces.get(ctx, namespace))
