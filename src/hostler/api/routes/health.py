"""The health route: the server answers and its database is reachable."""

from __future__ import annotations

import fastapi

from hostler.api import deps, errors, schemas
from hostler.services import namespaces

router = fastapi.APIRouter(tags=["health"])


@router.get("/health", responses=errors.responses(public=True))
def health(ctx: deps.ContextDep, request: fastapi.Request) -> schemas.Health:
    """Say that the server is up (503 when the database cannot be reached)."""
    namespaces.list_(ctx, None, 1)  # one cheap read: Unavailable when the database is down
    return schemas.Health(status="ok", version=request.app.version)
