"""Routes for extensions: how each stands, and its output."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import fastapi
from fastapi import responses

from hostler.api import deps, errors, limits, schemas
from hostler.core import extensions as core_extensions
from hostler.core import subscriptions
from hostler.services import extensions

router = fastapi.APIRouter(tags=["extensions"])

Name = Annotated[str, fastapi.Path(description="The extension's name, e.g. cron.")]


@router.get("/extensions", responses=errors.responses())
def list_extensions(ctx: deps.ContextDep) -> schemas.ExtensionList:
    """List the installed extensions by name, with how each stands."""
    return schemas.ExtensionList(
        items=[schemas.Extension.from_entity(s) for s in extensions.list_(ctx)]
    )


_EVENT: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The webhook's payload, as its sender sent it (any media type).",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/extensions/{name}/events/{namespace}/{pipeline}/{trigger}",
    responses=errors.responses(404, 413, public=True),
    response_description="The extension's answer for the sender, as it gave it.",
    openapi_extra=_EVENT,
)
async def deliver_event(
    request: fastapi.Request,
    ctx: deps.ContextDep,
    settings: deps.SettingsDep,
    name: Name,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    trigger: Annotated[str, fastapi.Path(description="The trigger's id in the pipeline.")],
) -> Any:
    """Hand a webhook to extension ``name`` for the trigger ``trigger`` of ``namespace/pipeline``.

    Needs no Hostler token: the extension checks the sender (a webhook's signature, say) and its
    answer is returned as it is. Payloads over server.max_event_bytes are refused with 413.
    """
    body = await limits.read(request, settings.server.max_event_bytes, "max_event_bytes")
    delivery = core_extensions.Delivery(
        subscription=subscriptions.subscription_id(namespace, pipeline, trigger),
        method=request.method,
        path=f"/{namespace}/{pipeline}/{trigger}",
        query=dict(request.query_params),
        headers={key.lower(): value for key, value in request.headers.items()},
        body=body,
    )
    reply = await anyio.to_thread.run_sync(extensions.forward, ctx, name, delivery)
    problem = reply.status >= 400 and isinstance(reply.body, dict) and "code" in reply.body
    media = "application/problem+json" if problem else "application/json"
    return responses.JSONResponse(reply.body, status_code=reply.status, media_type=media)


@router.get("/extensions/{name}/logs", responses=errors.responses(404))
def get_extension_log(
    ctx: deps.ContextDep,
    name: Name,
    lines: Annotated[int, fastapi.Query(description="How many of the last lines to return.")] = 100,
) -> schemas.ExtensionLog:
    """Return the last lines of the extension's output (JSON lines, of every process it ran)."""
    return schemas.ExtensionLog(name=name, lines=extensions.log(ctx, name, lines))
