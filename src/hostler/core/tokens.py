"""API tokens: random bearer secrets, kept only as their SHA-256 digest.

A token is written ``hst_<id>_<secret>``: the id finds the stored token, the secret proves it; it is
compared in constant time with the digest kept. The whole text is shown once, when the token is
made, and never stored.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import re
import secrets
from typing import Any

from hostler.core import errors

PREFIX = "hst"
RUN_NAME_PREFIX = "run-"
"""How the names of run tokens begin (``run-<id>``): the engine makes them, nobody else."""
EXTENSION_NAME_PREFIX = "extension-"
"""How the names of extensions' tokens begin (``extension-cron``): the server makes them."""
_FORMAT = re.compile(r"^hst_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclasses.dataclass(frozen=True)
class RunRef:
    """The run a run token belongs to."""

    namespace: str
    pipeline: str
    run: int

    def __str__(self) -> str:
        return f"{self.namespace}/{self.pipeline}#{self.run}"


@dataclasses.dataclass(frozen=True)
class Token:
    """A stored token: metadata and the digest of its secret. Immutable.

    ``roles`` are bindings as ``access.parse_binding`` reads them (``admin``,
    ``namespace-owner:team-*``, a custom role's name).
    """

    id: str
    name: str
    roles: tuple[str, ...]
    digest: str
    created: datetime.datetime
    created_by: str
    expires: datetime.datetime | None = None
    disabled: bool = False
    run: RunRef | None = None
    """Set for a run token: the run it belongs to, whose end deletes it."""
    revision: int = 1

    def evolve(self, **changes: Any) -> Token:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def expired(self, now: datetime.datetime) -> bool:
        """Tell whether the token has expired at ``now``."""
        return self.expires is not None and now >= self.expires


def new(
    name: str,
    roles: tuple[str, ...],
    *,
    created: datetime.datetime,
    created_by: str,
    expires: datetime.datetime | None = None,
    run: RunRef | None = None,
) -> tuple[Token, str]:
    """Return a new token and its whole text, which is never stored."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = Token(token_id, name, roles, _digest(secret), created, created_by, expires, run=run)
    return token, f"{PREFIX}_{token_id}_{secret}"


def parse(text: str) -> tuple[str, str]:
    """Return the id and the secret of a token's text; Unauthenticated if it is not one."""
    found = _FORMAT.match(text.strip())
    if found is None:
        raise errors.Unauthenticated(
            "token: not a Hostler token",
            hint="pass the whole token as printed when it was made (hst_…)",
        )
    return found.group(1), found.group(2)


def verify(token: Token, secret: str) -> bool:
    """Tell, in constant time, whether ``secret`` is the token's secret."""
    return hmac.compare_digest(_digest(secret), token.digest)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
