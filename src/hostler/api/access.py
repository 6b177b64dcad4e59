"""The access check of every request: who sends it (their token), and may they do it.

``authorize`` runs before each route. In development mode every request has every right, as the
server says loudly at start-up, and acts as ``anonymous`` unless it carries a valid token (then as
the token's holder, for the records); otherwise a request carries a bearer
token (``Authorization: Bearer hst_…``) and needs what ``permissions.ROUTES`` says its route
needs.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import fastapi
from fastapi import security

from hostler.api import deps, permissions
from hostler.core import access, errors
from hostler.core import tokens as tokens_core
from hostler.services import tokens
from hostler.services.context import Context

_bearer = security.HTTPBearer(auto_error=False, description="A Hostler token: hst_…")

Credentials = Annotated[security.HTTPAuthorizationCredentials | None, fastapi.Depends(_bearer)]


def authorize(request: fastapi.Request, credentials: Credentials) -> None:
    """Find who sends ``request`` and check that they may call its route; keep them in
    ``request.state.principal``. Unauthenticated (401) or PermissionDenied (403) if not."""
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    needs = permissions.ROUTES.get(name or "")
    if needs is None:
        raise errors.Internal(f"route '{name}': says nothing of what it needs")
    if request.app.state.settings.dev:
        # A request that carries a valid token still acts as its holder (an extension's runs
        # then say which extension started them); any other acts as anonymous, allowed anything.
        request.state.principal = _dev_principal(request, credentials)
        return
    if needs is permissions.PUBLIC:
        return
    if credentials is None:
        raise errors.Unauthenticated(
            "request: carries no token",
            hint="send 'Authorization: Bearer <token>'; with the CLI, 'hostler context add' "
            "or HOSTLER_TOKEN",
        )
    ctx: Context = request.app.state.context
    principal = tokens.authenticate(ctx, credentials.credentials)
    request.state.principal = principal
    if principal.run is not None:
        _check_run_token(principal.run, name or "", request)
    if isinstance(needs, permissions.Needs):
        _check(principal, needs, request)


def _dev_principal(
    request: fastapi.Request, credentials: security.HTTPAuthorizationCredentials | None
) -> access.Principal:
    anonymous = access.everything(deps.ANONYMOUS)
    if credentials is None:
        return anonymous
    try:
        found = tokens.authenticate(request.app.state.context, credentials.credentials)
    except errors.Unauthenticated:
        return anonymous
    return dataclasses.replace(anonymous, name=found.name, token=found.token, run=found.run)


def _check_run_token(run: tokens_core.RunRef, name: str, request: fastapi.Request) -> None:
    """Refuse what a run token may not do: any route outside ``permissions.RUN_TOKEN``, and
    another run's objects or another pipeline where the route says so."""
    reach = permissions.RUN_TOKEN.get(name)
    params = request.path_params
    refused = reach is None or params.get("namespace", run.namespace) != run.namespace
    if reach in (permissions.Reach.OWN_RUN, permissions.Reach.OWN_PIPELINE):
        refused = refused or params.get("pipeline") != run.pipeline
    if reach is permissions.Reach.OWN_RUN:
        refused = refused or params.get("run") != str(run.run)
    if refused:
        raise errors.PermissionDenied(
            f"run token of {run}: may not call {name}",
            hint="a run token reaches its own run's objects, reads its pipeline and starts "
            "runs in its namespace; use a personal token for the rest",
        )


def _check(principal: access.Principal, needs: permissions.Needs, request: fastapi.Request) -> None:
    if needs.target is permissions.Target.ANY:
        if not principal.allows_somewhere(needs.kind, needs.action):
            principal.check(needs.kind, needs.action, access.INSTALLATION)
        return
    target = access.INSTALLATION
    if needs.target is permissions.Target.PATH:
        target = request.path_params["namespace"]
    elif needs.target is permissions.Target.QUERY:
        target = request.query_params.get("namespace") or access.INSTALLATION
    principal.check(needs.kind, needs.action, target)


def principal(request: fastapi.Request) -> access.Principal:
    """Return who sends ``request``, as ``authorize`` found them."""
    found: access.Principal | None = getattr(request.state, "principal", None)
    if found is None:
        raise errors.Unauthenticated("request: carries no token", hint="send a token")
    return found


PrincipalDep = Annotated[access.Principal, fastapi.Depends(principal)]
