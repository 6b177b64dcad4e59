"""The error tree: one root, a handful of categories, specific errors beneath them.

Every error carries a stable machine-readable ``code``, the offending ``field`` when one input is at
fault, and a ``hint`` that tells the caller what to do. The API maps categories to HTTP statuses in
one table (``hostler.api.errors``); nothing below the API knows about HTTP.
"""

from __future__ import annotations


class HostlerError(Exception):
    """Something went wrong in Hostler; the message says what, subject first."""

    code = "internal"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint
        if code is not None:
            self.code = code


class NotFound(HostlerError):
    """The named thing does not exist."""

    code = "not_found"


class AlreadyExists(HostlerError):
    """A thing with that name exists already."""

    code = "already_exists"


class InvalidArgument(HostlerError):
    """An input breaks a rule; ``field`` names it."""

    code = "invalid_argument"


class FailedPrecondition(HostlerError):
    """The system is not in a state where the request can be carried out."""

    code = "failed_precondition"


class Conflict(HostlerError):
    """Someone else changed the thing first; read it again and retry."""

    code = "conflict"


class PermissionDenied(HostlerError):
    """The caller may not do this."""

    code = "permission_denied"


class Unauthenticated(HostlerError):
    """The caller did not say who it is, or said it wrongly."""

    code = "unauthenticated"


class Unavailable(HostlerError):
    """A dependency (the container engine, the database) cannot be reached right now."""

    code = "unavailable"


class TooLarge(InvalidArgument):
    """An input is larger than its limit."""

    code = "too_large"


class Internal(HostlerError):
    """A bug or an unexpected state inside Hostler."""

    code = "internal"


def changed_elsewhere(subject: str, revision: int, expected: int) -> Conflict:
    """Return the error of a compare-and-set that lost: ``subject`` is at ``revision`` now, not
    at the ``expected`` one the writer read."""
    return Conflict(
        f"{subject}: changed by someone else (revision {revision}, expected {expected})",
        hint="read it again and retry",
    )


HTTP: dict[type[HostlerError], tuple[int, str]] = {
    NotFound: (404, "Not found"),
    AlreadyExists: (409, "Already exists"),
    TooLarge: (413, "Too large"),
    InvalidArgument: (422, "Invalid argument"),
    FailedPrecondition: (409, "Failed precondition"),
    Conflict: (409, "Conflict"),
    PermissionDenied: (403, "Permission denied"),
    Unauthenticated: (401, "Unauthenticated"),
    Unavailable: (503, "Unavailable"),
    Internal: (500, "Internal error"),
    HostlerError: (500, "Internal error"),
}
"""Error category → (HTTP status, title), as the API and extensions both answer: the most
specific class in an error's MRO wins."""
