"""Routes for extensions: how each stands, and its output."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import deps, errors, schemas
from hostler.services import extensions

router = fastapi.APIRouter(tags=["extensions"])

Name = Annotated[str, fastapi.Path(description="The extension's name, e.g. cron.")]


@router.get("/extensions", responses=errors.responses())
def list_extensions(ctx: deps.ContextDep) -> schemas.ExtensionList:
    """List the installed extensions by name, with how each stands."""
    return schemas.ExtensionList(
        items=[schemas.Extension.from_entity(s) for s in extensions.list_(ctx)]
    )


@router.get("/extensions/{name}/logs", responses=errors.responses(404))
def get_extension_log(
    ctx: deps.ContextDep,
    name: Name,
    lines: Annotated[int, fastapi.Query(description="How many of the last lines to return.")] = 100,
) -> schemas.ExtensionLog:
    """Return the last lines of the extension's output (JSON lines, of every process it ran)."""
    return schemas.ExtensionLog(name=name, lines=extensions.log(ctx, name, lines))
