"""Use cases for API tokens: make, list, disable, enable, delete, and authenticate a request.

A token's whole text is returned once, by ``create`` (and ``bootstrap``); only its digest is
stored. Every change is recorded in the audit history.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Sequence

from hostler.core import access, errors, identifiers, runs, tokens
from hostler.services import audit, conflicts, pages, roles
from hostler.services.context import Context

RESERVED = frozenset({"hostler", "anonymous"})
"""Names no token may take: they stand for Hostler itself and for requests in development mode."""

RESERVED_PREFIXES = (tokens.RUN_NAME_PREFIX, tokens.EXTENSION_NAME_PREFIX)
"""Beginnings of the names of the tokens Hostler makes itself: run tokens and extensions'."""

BOOTSTRAP_NAME = "admin"
"""The name of the admin token the server makes when it starts with no token at all."""


@dataclasses.dataclass(frozen=True)
class Created:
    """A new token and its whole text, shown this once."""

    token: tokens.Token
    text: str


def create(
    ctx: Context,
    name: str,
    bindings: Sequence[str],
    *,
    expires: datetime.datetime | None = None,
) -> Created:
    """Make a token called ``name`` with the roles ``bindings``; it expires at ``expires``.

    Each binding is a role as ``access.parse_binding`` reads it; a custom role must exist.
    """
    with audit.recorded(ctx, "token.create", name, {"roles": list(bindings)}) as entry:
        identifiers.check(name, what="token", field="name")
        if name in RESERVED or name.startswith(RESERVED_PREFIXES):
            raise errors.InvalidArgument(
                f"token '{name}': the name is reserved", field="name", hint="choose another name"
            )
        checked = tuple(_check_binding(ctx, binding) for binding in bindings)
        if not checked:
            raise errors.InvalidArgument(
                f"token '{name}': needs at least one role",
                field="roles",
                hint="e.g. 'namespace-owner:team-a', or 'admin'",
            )
        now = ctx.clock()
        if expires is not None and expires <= now:
            raise errors.InvalidArgument(
                f"token '{name}': would expire before it is made",
                field="expires",
                hint="give a time in the future, or none for a token that does not expire",
            )
        token, text = tokens.new(name, checked, created=now, created_by=ctx.actor, expires=expires)
        stored = ctx.store.create_token(token)
        entry.detail.update(token=stored.id)
        return Created(stored, text)


def _check_binding(ctx: Context, binding: str) -> str:
    name, pattern = access.parse_binding(binding)
    if pattern is None and name not in access.BUILTIN:
        roles.get(ctx, name)  # NotFound when there is no such role
    return binding


def bootstrap(ctx: Context) -> Created | None:
    """Make the first admin token if there is no token at all; None if there is one."""
    if ctx.store.list_tokens(None, 1):
        return None
    return create(ctx, BOOTSTRAP_NAME, (access.ADMIN,))


def get(ctx: Context, token: str) -> tokens.Token:
    """Return the token with id ``token``."""
    return ctx.store.get_token(token)


def list_(ctx: Context, cursor: str | None, limit: int) -> pages.Page[tokens.Token]:
    """Return a page of tokens, by name (metadata only)."""
    return pages.page(ctx.store.list_tokens, cursor, limit, str, lambda t: t.name)


def set_disabled(ctx: Context, token: str, disabled: bool) -> tuple[tokens.Token, bool]:
    """Disable (or enable) a token; return it and whether that changed anything."""
    kind = "token.disable" if disabled else "token.enable"
    with audit.recorded(ctx, kind, token) as entry:

        def once() -> tuple[tokens.Token, bool]:
            current = ctx.store.get_token(token)
            if current.disabled == disabled:
                return current, False
            return ctx.store.update_token(current.evolve(disabled=disabled), current.revision), True

        changed = conflicts.until_written(once, f"token '{token}'", kind.split(".")[1])
        entry.unchanged = not changed[1]
        return changed


def delete(ctx: Context, token: str) -> None:
    """Delete a token: requests carrying it are refused from now on."""
    with audit.recorded(ctx, "token.delete", token):
        ctx.store.delete_token(token)


def authenticate(ctx: Context, text: str) -> access.Principal:
    """Return who presents the token ``text``; Unauthenticated with the reason if nobody.

    A token that is unknown and one whose secret is wrong get the same answer.
    """
    token_id, secret = tokens.parse(text)
    try:
        token = ctx.store.get_token(token_id)
    except errors.NotFound:
        token = None
    if token is None or not tokens.verify(token, secret):
        raise errors.Unauthenticated(
            "token: not valid",
            hint="check that the whole token was given; it may have been deleted",
        )
    if token.disabled:
        raise errors.Unauthenticated(
            f"token '{token.name}': disabled", hint="ask an admin to enable it, or for a new one"
        )
    if token.expired(ctx.clock()):
        assert token.expires is not None
        raise errors.Unauthenticated(
            f"token '{token.name}': expired at {token.expires:%Y-%m-%d %H:%M:%S} UTC",
            hint="ask an admin for a new token",
        )
    if token.run is not None:
        return _run_principal(ctx, token, token.run)
    # Custom roles are read only for a token that has one: most requests carry built-in roles.
    needs_custom = any(access.parse_binding(b)[0] not in access.BUILTIN for b in token.roles)
    grants = access.grants_of(token.roles, roles.custom(ctx) if needs_custom else [])
    return access.Principal(token.name, grants, token=token.id)


def run_ended(ctx: Context, run: tokens.RunRef) -> bool:
    """Tell whether the run of a run token has ended (or is gone): its token is worth nothing."""
    try:
        state = ctx.store.get_run(run.namespace, run.pipeline, run.run).state
    except errors.NotFound:
        return True
    return state is runs.State.COMPLETE


def _run_principal(ctx: Context, token: tokens.Token, run: tokens.RunRef) -> access.Principal:
    """Return who presents a run token, as long as its run has not ended."""
    if run_ended(ctx, run):
        raise errors.Unauthenticated(
            f"token '{token.name}': its run {run} has ended",
            hint="a run token is valid only while its run runs",
        )
    return access.Principal(f"run {run}", access.run_grants(run), token=token.id, run=run)


EXTENSION_ROLE = f"{access.RUNNER}:*"
"""What an extension's token may do: read every namespace's pipelines and runs, start runs."""


def trigger_of(principal: access.Principal) -> str:
    """Return what a run started by ``principal`` records as its trigger: ``extension:NAME`` for
    an extension, ``run:NS/PIPELINE#RUN`` for a run token, else ``manual``."""
    if principal.run is not None:
        return f"run:{principal.run}"
    if principal.token is not None and principal.name.startswith(tokens.EXTENSION_NAME_PREFIX):
        return f"extension:{principal.name.removeprefix(tokens.EXTENSION_NAME_PREFIX)}"
    return "manual"


def for_extension(ctx: Context, name: str) -> str:
    """Return the whole text of a new token for extension ``name``, replacing the one it had.

    Made each time the extension starts (its text is known only then), so it is not recorded in
    the audit history; the supervisor is its only holder.
    """
    token_name = revoke_extension(ctx, name)
    token, text = tokens.new(
        token_name, (EXTENSION_ROLE,), created=ctx.clock(), created_by="hostler"
    )
    ctx.store.create_token(token)
    return text


def revoke_extension(ctx: Context, name: str) -> str:
    """Delete the token of extension ``name``, if it has one; return that token's name."""
    token_name = f"{tokens.EXTENSION_NAME_PREFIX}{name}"
    for token in pages.every(ctx.store.list_tokens, lambda t: t.name):
        if token.name == token_name:
            with contextlib.suppress(errors.NotFound):
                ctx.store.delete_token(token.id)
    return token_name
