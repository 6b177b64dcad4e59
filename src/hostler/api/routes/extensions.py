"""Routes for extensions: how each stands, and its output; those installed from images, planned
and installed, updated (one or all), the newer versions on the engine, and removed."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import fastapi
from fastapi import responses

from hostler.api import deps, errors, limits, schemas
from hostler.core import extensions as core_extensions
from hostler.core import subscriptions
from hostler.services import extensions, installs

router = fastapi.APIRouter(tags=["extensions"])

Name = Annotated[str, fastapi.Path(description="The extension's name, e.g. cron.")]
_INSTALL = limits.JSONBody(schemas.InstallRequest)
_UPDATE = limits.JSONBody(schemas.UpdateRequest)
_UPDATE_ALL = limits.JSONBody(schemas.UpdateAllRequest)
_DRY_RUN: dict[int | str, dict[str, Any]] = {
    200: {"model": schemas.ExtensionResult, "description": "A dry run: the plan only."}
}


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


@router.get("/extensions/installed", responses=errors.responses())
def list_installed_extensions(ctx: deps.ContextDep) -> schemas.InstalledExtensionList:
    """List the extensions installed from images, by name (never their configuration's values)."""
    counts = installs.subscription_counts(ctx)
    return schemas.InstalledExtensionList(
        items=[
            schemas.InstalledExtension.from_entity(e, counts.get(e.name, 0))
            for e in installs.list_(ctx)
        ]
    )


@router.post(
    "/extensions/installed",
    status_code=201,
    responses={**_DRY_RUN, **errors.responses(404, 409, 413)},
    response_description="The extension is installed.",
    openapi_extra=_INSTALL.openapi,
)
def install_extension(
    ctx: deps.ContextDep,
    body: Annotated[schemas.InstallRequest, fastapi.Depends(_INSTALL)],
    response: fastapi.Response,
) -> schemas.ExtensionResult:
    """Install an extension from an image present on the engine: the plan comes back with what
    was done; ``dry_run`` only plans.

    422 naming ``image`` when the engine has no extension image there (one without the labels
    dev.hostler.extension.name and dev.hostler.extension.version, or whose name label is not
    ``name``); 404 naming ``version`` when it has none of that version; 409 when ``name`` is
    installed already, from an image or as a Python package, and naming ``planned`` when the
    plan is no longer the one ``planned`` names.
    """
    if body.dry_run:
        response.status_code = 200
        planned = installs.plan_install(ctx, body.name, body.image, body.version, body.config)
        return schemas.ExtensionResult.of(planned, None, {})
    done = installs.install(ctx, body.name, body.image, body.version, body.config, body.planned)
    return schemas.ExtensionResult.of(done, done, installs.subscription_counts(ctx))


@router.get("/extensions/installed/{name}", responses=errors.responses(404))
def get_installed_extension(ctx: deps.ContextDep, name: Name) -> schemas.InstalledExtension:
    """Return an extension installed from an image (never its configuration's values)."""
    found = installs.get(ctx, name)
    return schemas.InstalledExtension.from_entity(
        found, installs.subscription_counts(ctx).get(name, 0)
    )


@router.post(
    "/extensions/installed/{name}/update",
    responses=errors.responses(404, 409, 413),
    openapi_extra=_UPDATE.openapi,
)
def update_extension(
    ctx: deps.ContextDep,
    name: Name,
    body: Annotated[schemas.UpdateRequest, fastapi.Depends(_UPDATE)],
) -> schemas.ExtensionResult:
    """Update an extension installed from an image to ``version`` (absent: the newest within its
    pin) from the images on the engine; ``dry_run`` only plans. Nothing changes when the plan is
    up to date.

    409 naming ``version`` for a downgrade without ``allow_downgrade``, and for the installed
    version asked for again without ``force_same_version``; 404 when the engine has no image of
    the version asked for.
    """
    flags = {
        "allow_downgrade": body.allow_downgrade,
        "force_same_version": body.force_same_version,
    }
    if body.dry_run:
        planned = installs.plan_update(ctx, name, body.version, **flags)
        return schemas.ExtensionResult.of(planned, None, {})
    done = installs.update(ctx, name, body.version, planned=body.planned, **flags)
    return schemas.ExtensionResult.of(done, done, installs.subscription_counts(ctx))


@router.delete("/extensions/installed/{name}", status_code=204, responses=errors.responses(404))
def remove_extension(ctx: deps.ContextDep, name: Name) -> None:
    """Forget an extension installed from an image: its container stops, and the subscriptions
    made by hand to it and its token go. Its image stays on the engine; pipeline files that
    name it keep their triggers and notifications."""
    installs.remove(ctx, name)


@router.post(
    "/extensions/update",
    responses=errors.responses(404, 409, 413),
    openapi_extra=_UPDATE_ALL.openapi,
)
def update_extensions(
    ctx: deps.ContextDep,
    body: Annotated[schemas.UpdateAllRequest, fastapi.Depends(_UPDATE_ALL)],
) -> schemas.ExtensionResult:
    """Update every extension installed from an image to its newest version within its pin;
    ``dry_run`` only plans. One refused change (409) refuses them all."""
    flags = {
        "allow_downgrade": body.allow_downgrade,
        "force_same_version": body.force_same_version,
    }
    if body.dry_run:
        planned = installs.plan_update_all(ctx, **flags)
        return schemas.ExtensionResult.of(planned, None, {})
    done = installs.update_all(ctx, planned=body.planned, **flags)
    return schemas.ExtensionResult.of(done, done, installs.subscription_counts(ctx))


@router.get("/extensions/available", responses=errors.responses())
def list_available_extensions(ctx: deps.ContextDep) -> schemas.AvailableList:
    """List the extensions installed from images, by name, each with the newer versions the
    engine has of it (within its pin, no prereleases)."""
    found = [schemas.AvailableExtension.from_entity(a) for a in installs.available(ctx)]
    return schemas.AvailableList(items=found, up_to_date=not any(a.newer for a in found))
