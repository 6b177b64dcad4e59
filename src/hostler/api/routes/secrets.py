"""Routes for secrets: a pipeline's, and global ones; values go in, and come out only to admins."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import access, deps, errors, limits, schemas
from hostler.core import access as core_access
from hostler.services import secrets

router = fastapi.APIRouter(tags=["secrets"])

_PIPELINE = "/namespaces/{namespace}/pipelines/{pipeline}/secrets"
_BODY = limits.JSONBody(schemas.SecretRequest)
Body = Annotated[schemas.SecretRequest, fastapi.Depends(_BODY)]
Name = Annotated[str, fastapi.Path(description="The secret's name, e.g. DB_PASSWORD.")]
Reveal = Annotated[
    bool,
    fastapi.Query(description="Return the value too; only for an admin (action admin on secrets)."),
]


def _answer(
    ctx: deps.ContextDep,
    caller: access.PrincipalDep,
    namespace: str | None,
    pipeline: str | None,
    name: str,
    reveal: bool,
) -> schemas.Secret:
    found = secrets.get(ctx, namespace, pipeline, name)
    if not reveal:
        return schemas.Secret.from_entity(found)
    caller.check(
        core_access.Kind.SECRETS, core_access.Action.ADMIN, namespace or core_access.INSTALLATION
    )
    return schemas.Secret.from_entity(found, secrets.reveal(ctx, namespace, pipeline, name))


@router.get(_PIPELINE, responses=errors.responses(404))
def list_secrets(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.Secret]:
    """List the pipeline's secrets by name: never their values."""
    page = secrets.list_(ctx, namespace, pipeline, cursor, limit)
    return schemas.Page[schemas.Secret].of(page, schemas.Secret.from_entity)


@router.put(
    f"{_PIPELINE}/{{name}}", responses=errors.responses(404, 409, 413), openapi_extra=_BODY.openapi
)
def put_secret(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    name: Name,
    body: Body,
) -> schemas.Secret:
    """Set a secret of the pipeline; its tasks read it as secret{{NAME}} in their env. 409 when
    the server has no key to encrypt it with."""
    made = secrets.put(ctx, namespace, pipeline, name, body.value, body.namespaces)
    return schemas.Secret.from_entity(made)


@router.get(f"{_PIPELINE}/{{name}}", responses=errors.responses(404, 409))
def get_secret(
    ctx: deps.ContextDep,
    caller: access.PrincipalDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    name: Name,
    reveal: Reveal = False,
) -> schemas.Secret:
    """Return a secret of the pipeline; its value only with ``reveal=true``, to an admin."""
    return _answer(ctx, caller, namespace, pipeline, name, reveal)


@router.delete(f"{_PIPELINE}/{{name}}", status_code=204, responses=errors.responses(404))
def delete_secret(
    ctx: deps.ContextDep, namespace: deps.Namespace, pipeline: deps.Pipeline, name: Name
) -> None:
    """Delete a secret of the pipeline."""
    secrets.delete(ctx, namespace, pipeline, name)


@router.get("/secrets", responses=errors.responses())
def list_global_secrets(
    ctx: deps.ContextDep, cursor: deps.Cursor = None, limit: deps.Limit = deps.DEFAULT_LIMIT
) -> schemas.Page[schemas.Secret]:
    """List the global secrets by name: never their values."""
    page = secrets.list_(ctx, None, None, cursor, limit)
    return schemas.Page[schemas.Secret].of(page, schemas.Secret.from_entity)


@router.post("/secrets/rotate-key", responses=errors.responses(409))
def rotate_secret_key(ctx: deps.ContextDep) -> schemas.RotateResult:
    """Encrypt again, under the current secrets.key, every secret still under a previous key,
    and every configuration value of an extension installed from an image."""
    done = secrets.rotate(ctx)
    assert ctx.cipher is not None  # rotate refuses without one
    return schemas.RotateResult(secrets=done, key=ctx.cipher.key)


@router.put(
    "/secrets/{name}", responses=errors.responses(404, 409, 413), openapi_extra=_BODY.openapi
)
def put_global_secret(ctx: deps.ContextDep, name: Name, body: Body) -> schemas.Secret:
    """Set a global secret; the pipelines of the namespaces it names read it as
    global_secret{{NAME}}."""
    return schemas.Secret.from_entity(
        secrets.put(ctx, None, None, name, body.value, body.namespaces)
    )


@router.get("/secrets/{name}", responses=errors.responses(404, 409))
def get_global_secret(
    ctx: deps.ContextDep, caller: access.PrincipalDep, name: Name, reveal: Reveal = False
) -> schemas.Secret:
    """Return a global secret; its value only with ``reveal=true``, to an admin."""
    return _answer(ctx, caller, None, None, name, reveal)


@router.delete("/secrets/{name}", status_code=204, responses=errors.responses(404))
def delete_global_secret(ctx: deps.ContextDep, name: Name) -> None:
    """Delete a global secret."""
    secrets.delete(ctx, None, None, name)
