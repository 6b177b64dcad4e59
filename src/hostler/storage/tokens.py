"""Token rows: the ``tokens`` table on a Connection.

A token's roles are kept as a JSON list, and a run token's run as ``NAMESPACE/PIPELINE/RUN`` in
``run_ref``; its digest, name, creation, creator and run are written once, and only its roles,
expiry and disabled flag change, with compare-and-set. Every function here runs inside the
caller's transaction; none commits.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from hostler.core import errors, tokens
from hostler.storage import tables

_T = tables.tokens
_KEY = ("id",)
_MUTABLE = ("roles", "expires", "disabled")
_UPDATE = tables.compare_and_set(_T, _KEY, _MUTABLE)


def to_token(row: sa.Row[Any]) -> tokens.Token:
    """Return the token stored in ``row``."""
    return tokens.Token(
        id=row.id,
        name=row.name,
        roles=tuple(json.loads(row.roles)),
        digest=row.digest,
        created=row.created,
        created_by=row.created_by,
        expires=row.expires,
        disabled=row.disabled,
        run=to_run_ref(row.run_ref),
        revision=row.revision,
    )


def run_ref_of(run: tokens.RunRef | None) -> str | None:
    """Return the ``run_ref`` column of a token of ``run``: ``NAMESPACE/PIPELINE/RUN``, or None.
    Namespaces and pipelines are identifiers, so the ``/`` between them cannot be theirs."""
    return None if run is None else f"{run.namespace}/{run.pipeline}/{run.run}"


def to_run_ref(value: str | None) -> tokens.RunRef | None:
    """Return the run a ``run_ref`` column holds, or None."""
    if value is None:
        return None
    namespace, pipeline, run = value.split("/")
    return tokens.RunRef(namespace, pipeline, int(run))


def _mutable(token: tokens.Token) -> dict[str, Any]:
    """Return the values of the columns an update writes."""
    return {
        "roles": json.dumps(list(token.roles), separators=(",", ":")),
        "expires": token.expires,
        "disabled": token.disabled,
    }


def not_found(token: str) -> errors.NotFound:
    """Return the error for a token that does not exist."""
    return errors.NotFound(
        f"token '{token}': not found",
        field="token",
        hint="list the tokens to see which exist",
    )


def name_taken(name: str) -> errors.AlreadyExists:
    """Return the error for a token whose name another token has."""
    return errors.AlreadyExists(
        f"token '{name}': already exists",
        field="name",
        hint="choose another name, or delete the old token first",
    )


def id_taken(token: str) -> errors.AlreadyExists:
    """Return the error for a new token whose random id another token has (rare: 48 bits)."""
    return errors.AlreadyExists(
        f"token '{token}': already exists",
        field="token",
        hint="make the token again: it gets a new random id",
    )


def create(connection: sa.Connection, token: tokens.Token) -> tokens.Token:
    """Insert ``token`` at revision 1; raise AlreadyExists if its name or id is taken."""
    if _exists(connection, _T.c.name == token.name):
        raise name_taken(token.name)
    if _exists(connection, _T.c.id == token.id):
        raise id_taken(token.id)
    try:
        # A savepoint, so that a lost race is told apart below without aborting the transaction.
        with connection.begin_nested():
            row = connection.execute(
                _T.insert()
                .values(
                    id=token.id,
                    name=token.name,
                    digest=token.digest,
                    created=token.created,
                    created_by=token.created_by,
                    run_ref=run_ref_of(token.run),
                    revision=1,
                    **_mutable(token),
                )
                .returning(*_T.c)
            ).one()
    except sa.exc.IntegrityError as exc:
        # Another writer inserted the same name or id between our checks and our insert.
        if _exists(connection, _T.c.name == token.name):
            raise name_taken(token.name) from exc
        raise id_taken(token.id) from exc
    return to_token(row)


def _exists(connection: sa.Connection, condition: sa.ColumnElement[bool]) -> bool:
    return connection.execute(sa.select(_T.c.id).where(condition)).first() is not None


def get(connection: sa.Connection, token: str) -> tokens.Token:
    """Return the token with id ``token``; raise NotFound if there is none."""
    row = connection.execute(sa.select(_T).where(_T.c.id == token)).first()
    if row is None:
        raise not_found(token)
    return to_token(row)


def list_(connection: sa.Connection, after: str | None, limit: int) -> list[tokens.Token]:
    """Return at most ``limit`` tokens ordered by name, those after the name ``after`` only."""
    query = sa.select(_T).order_by(_T.c.name).limit(limit)
    if after is not None:
        query = query.where(_T.c.name > after)
    return [to_token(row) for row in connection.execute(query)]


def list_run(connection: sa.Connection, after: str | None, limit: int) -> list[tokens.Token]:
    """Return at most ``limit`` run tokens ordered by name, those after the name ``after`` only."""
    query = sa.select(_T).where(_T.c.run_ref.is_not(None)).order_by(_T.c.name).limit(limit)
    if after is not None:
        query = query.where(_T.c.name > after)
    return [to_token(row) for row in connection.execute(query)]


def delete_run(connection: sa.Connection, namespace: str, pipeline: str, run: int) -> int:
    """Delete the tokens of one run; return how many (none is no error)."""
    run_ref = run_ref_of(tokens.RunRef(namespace, pipeline, run))
    return connection.execute(_T.delete().where(_T.c.run_ref == run_ref)).rowcount


def update(connection: sa.Connection, token: tokens.Token, expected_revision: int) -> tokens.Token:
    """Write the token's roles, expiry and disabled flag with compare-and-set; the rest stays.

    Raises NotFound for a token that does not exist, Conflict when its revision is not
    ``expected_revision``.
    """
    values = tables.params("v_", _mutable(token))
    row = connection.execute(
        _UPDATE, {"k_id": token.id, **values, "expected": expected_revision}
    ).first()
    if row is not None:
        return to_token(row)
    current = connection.execute(sa.select(_T.c.revision).where(_T.c.id == token.id)).scalar()
    if current is None:
        raise not_found(token.id)
    raise errors.changed_elsewhere(f"token '{token.id}'", current, expected_revision)


def delete(connection: sa.Connection, token: str) -> None:
    """Delete the token with id ``token``; raise NotFound if there is none."""
    if not connection.execute(_T.delete().where(_T.c.id == token)).rowcount:
        raise not_found(token)
