"""Routes for access: tokens, roles, and who the caller is."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import access, deps, errors, limits, schemas
from hostler.core import tokens as core_tokens
from hostler.services import roles, tokens

router = fastapi.APIRouter(tags=["access"])

_TOKEN = limits.JSONBody(schemas.TokenRequest)
_ROLE = limits.JSONBody(schemas.RoleRequest)
TokenId = Annotated[str, fastapi.Path(description="The token's id (the part after hst_).")]
RoleName = Annotated[str, fastapi.Path(description="The role's name.")]


@router.get("/whoami", responses=errors.responses())
def whoami(caller: access.PrincipalDep) -> schemas.Whoami:
    """Say who the server takes the caller for, and what they may do."""
    return schemas.Whoami.from_entity(caller)


@router.get("/tokens", responses=errors.responses())
def list_tokens(
    ctx: deps.ContextDep, cursor: deps.Cursor = None, limit: deps.Limit = deps.DEFAULT_LIMIT
) -> schemas.Page[schemas.Token]:
    """List the tokens by name: metadata only, never a secret."""
    return schemas.Page[schemas.Token].of(
        tokens.list_(ctx, cursor, limit), schemas.Token.from_entity
    )


@router.post(
    "/tokens",
    status_code=201,
    responses=errors.responses(404, 409, 413),
    openapi_extra=_TOKEN.openapi,
)
def create_token(
    ctx: deps.ContextDep, body: Annotated[schemas.TokenRequest, fastapi.Depends(_TOKEN)]
) -> schemas.TokenCreated:
    """Make a token. Its whole text is in the answer, this once; only a digest is kept."""
    made = tokens.create(ctx, body.name, body.roles, expires=body.expires)
    return schemas.TokenCreated(token=schemas.Token.from_entity(made.token), secret=made.text)


@router.get("/tokens/{token}", responses=errors.responses(404))
def get_token(ctx: deps.ContextDep, token: TokenId) -> schemas.Token:
    """Return a token's metadata."""
    return schemas.Token.from_entity(tokens.get(ctx, token))


@router.post("/tokens/{token}/disable", responses=errors.responses(404, 409))
def disable_token(ctx: deps.ContextDep, token: TokenId) -> schemas.TokenResult:
    """Disable a token: requests carrying it are refused until it is enabled again."""
    return _result(*tokens.set_disabled(ctx, token, True))


@router.post("/tokens/{token}/enable", responses=errors.responses(404, 409))
def enable_token(ctx: deps.ContextDep, token: TokenId) -> schemas.TokenResult:
    """Enable a disabled token again."""
    return _result(*tokens.set_disabled(ctx, token, False))


def _result(token: core_tokens.Token, changed: bool) -> schemas.TokenResult:
    return schemas.TokenResult(
        token=schemas.Token.from_entity(token), result="changed" if changed else "unchanged"
    )


@router.delete("/tokens/{token}", status_code=204, responses=errors.responses(404))
def delete_token(ctx: deps.ContextDep, token: TokenId) -> None:
    """Delete a token for good."""
    tokens.delete(ctx, token)


@router.get("/roles", responses=errors.responses())
def list_roles(ctx: deps.ContextDep) -> list[schemas.Role]:
    """List the built-in roles, then those admins made, by name."""
    return [schemas.Role.from_entity(role) for role in roles.list_(ctx)]


@router.post(
    "/roles",
    status_code=201,
    responses=errors.responses(409, 413),
    openapi_extra=_ROLE.openapi,
)
def create_role(
    ctx: deps.ContextDep, body: Annotated[schemas.RoleRequest, fastapi.Depends(_ROLE)]
) -> schemas.Role:
    """Make a role from grants; tokens get it by its name."""
    grants = [grant.to_entity() for grant in body.grants]
    return schemas.Role.from_entity(roles.create(ctx, body.name, body.description, grants))


@router.get("/roles/{role}", responses=errors.responses(404))
def get_role(ctx: deps.ContextDep, role: RoleName) -> schemas.Role:
    """Return a role."""
    return schemas.Role.from_entity(roles.get(ctx, role))


@router.delete("/roles/{role}", status_code=204, responses=errors.responses(404, 409))
def delete_role(ctx: deps.ContextDep, role: RoleName) -> None:
    """Delete a role an admin made; tokens that have it lose what it granted."""
    roles.delete(ctx, role)
