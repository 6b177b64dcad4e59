"""Secret values where they are used: references found in the store, decrypted, substituted.

Task env (when a task starts) and trigger settings (when an extension is subscribed) refer to
secrets the same way; both resolve them here, through the store and cipher ports. A reference that
cannot be resolved gives a reason naming it, never a partial result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from hostler.core import errors, ports, reasons, secrets


@dataclasses.dataclass(frozen=True)
class Resolved:
    """Values with their secrets in, and the masker of what they reveal."""

    values: dict[str, str]
    masker: secrets.Masker


def find(
    store: ports.Store, namespace: str, pipeline: str, ref: secrets.Ref
) -> secrets.Secret | reasons.Reason:
    """Return the secret ``ref`` names for a pipeline, or the reason it cannot be used there."""
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


def resolve(
    store: ports.Store,
    cipher: ports.Cipher | None,
    namespace: str,
    pipeline: str,
    values: Mapping[str, str],
) -> Resolved | reasons.Reason:
    """Return ``values`` with their secrets resolved, or the reason they cannot be (naming every
    secret that is missing)."""
    refs = secrets.references(values)
    if not refs:
        return Resolved(dict(values), secrets.NO_MASK)
    found_all = [find(store, namespace, pipeline, ref) for ref in refs]
    missing = [found.description for found in found_all if isinstance(found, reasons.Reason)]
    if missing:
        return reasons.Reason(reasons.Kind.SECRET_MISSING, "; ".join(missing))
    plain: dict[secrets.Ref, str] = {}
    for ref, found in zip(refs, found_all, strict=True):
        assert isinstance(found, secrets.Secret)
        if cipher is None:
            return reasons.Reason(
                reasons.Kind.SECRET_ERROR,
                f"{ref}: secrets cannot be read, the server has no secrets.key",
            )
        try:
            plain[ref] = cipher.decrypt(found.ciphertext, found.key, found.context).decode()
        except errors.FailedPrecondition as exc:
            return reasons.Reason(reasons.Kind.SECRET_ERROR, f"{ref}: {exc.message}")
    return Resolved(secrets.substitute(values, plain), secrets.Masker(plain.values()))
