"""The secrets of a starting task: its env with every reference replaced, and its output masker.

Secrets are read and decrypted only here, when a task starts (and again when an engine adopts a
running task, to mask the rest of its output). A reference that cannot be resolved fails the task
before its container is made, with a reason naming the secret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from hostler.core import errors, ports, reasons, secrets


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A task's env with its secrets in, and the masker of its output."""

    env: dict[str, str]
    masker: secrets.Masker


def resolve(
    store: ports.Store,
    cipher: ports.Cipher | None,
    namespace: str,
    pipeline: str,
    env: Mapping[str, str],
) -> Resolved | reasons.Reason:
    """Return ``env`` with its secrets resolved, or the reason they cannot be (naming every
    secret that is missing)."""
    refs = secrets.references(env)
    if not refs:
        return Resolved(dict(env), secrets.NO_MASK)
    found_all = [_find(store, namespace, pipeline, ref) for ref in refs]
    missing = [found.description for found in found_all if isinstance(found, reasons.Reason)]
    if missing:
        return reasons.Reason(reasons.Kind.SECRET_MISSING, "; ".join(missing))
    values: dict[secrets.Ref, str] = {}
    for ref, found in zip(refs, found_all, strict=True):
        assert isinstance(found, secrets.Secret)
        if cipher is None:
            return reasons.Reason(
                reasons.Kind.SECRET_ERROR,
                f"{ref}: secrets cannot be read, the server has no secrets.key",
            )
        try:
            values[ref] = cipher.decrypt(found.ciphertext, found.key, found.context).decode()
        except errors.FailedPrecondition as exc:
            return reasons.Reason(reasons.Kind.SECRET_ERROR, f"{ref}: {exc.message}")
    return Resolved(secrets.substitute(env, values), secrets.Masker(values.values()))


def _find(
    store: ports.Store, namespace: str, pipeline: str, ref: secrets.Ref
) -> secrets.Secret | reasons.Reason:
    is_global = ref.scope is secrets.Scope.GLOBAL
    try:
        found = store.get_secret(
            None if is_global else namespace, None if is_global else pipeline, ref.name
        )
    except errors.NotFound:
        where = (
            "global secrets" if is_global else f"the secrets of pipeline '{namespace}/{pipeline}'"
        )
        return reasons.Reason(reasons.Kind.SECRET_MISSING, f"{ref}: not among {where}")
    if not found.usable_in(namespace):
        return reasons.Reason(
            reasons.Kind.SECRET_MISSING, f"{ref}: not shared with namespace '{namespace}'"
        )
    return found


def masker(
    store: ports.Store,
    cipher: ports.Cipher | None,
    namespace: str,
    pipeline: str,
    env: Mapping[str, str],
) -> secrets.Masker:
    """Return the masker of a task's output, for an adopted task; masks nothing it cannot read."""
    resolved = resolve(store, cipher, namespace, pipeline, env)
    return resolved.masker if isinstance(resolved, Resolved) else secrets.NO_MASK
