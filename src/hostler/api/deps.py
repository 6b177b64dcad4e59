"""Dependencies shared by the routes: the use-case context, the settings, paging parameters.

``create()`` stores the Context and Settings on ``app.state``; routes ask for them by type.
"""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler import config
from hostler.services import pages
from hostler.services.context import Context


async def context(request: fastapi.Request) -> Context:
    """Return the use-case context of the app serving ``request``, acting for its caller (the
    token's name, ``anonymous`` in development mode, see ``api.access``)."""
    ctx: Context = request.app.state.context
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return ctx.acting_as(ANONYMOUS)
    return ctx.acting_as(principal.name, principal)


async def settings(request: fastapi.Request) -> config.Settings:
    """Return the settings of the app serving ``request``."""
    value: config.Settings = request.app.state.settings
    return value


ANONYMOUS = "anonymous"
"""The actor of a request sent without a token, where none is needed."""

ContextDep = Annotated[Context, fastapi.Depends(context)]
SettingsDep = Annotated[config.Settings, fastapi.Depends(settings)]

Cursor = Annotated[
    str | None,
    fastapi.Query(description="The next_cursor of the previous page; none for the first page."),
]
Limit = Annotated[
    int,
    fastapi.Query(ge=1, le=pages.MAX_LIMIT, description="Items per page."),
]
DEFAULT_LIMIT = pages.DEFAULT_LIMIT

Namespace = Annotated[str, fastapi.Path(description="The namespace's name.")]
Pipeline = Annotated[str, fastapi.Path(description="The pipeline's id.")]
Run = Annotated[int, fastapi.Path(description="The run's number within its pipeline.")]
