"""Identifier rules shared by namespaces, pipelines, tasks and variables."""

from __future__ import annotations

import re

from hostler.core import errors

MAX_LENGTH = 63
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_-]*$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check(value: str, *, what: str, field: str) -> str:
    """Return ``value`` when it is a valid identifier, or raise InvalidArgument naming ``field``.

    An identifier starts with a lowercase letter, continues with lowercase letters, digits, ``-``
    or ``_``, and is at most 63 characters long.
    """
    if not isinstance(value, str) or not value:
        raise errors.InvalidArgument(
            f"{what}: must not be empty", field=field, hint="give a name such as 'build'"
        )
    if len(value) > MAX_LENGTH or not _IDENTIFIER.fullmatch(value):
        raise errors.InvalidArgument(
            f"{what} '{value}': not a valid identifier",
            field=field,
            hint=(
                f"use at most {MAX_LENGTH} lowercase letters, digits, '-' or '_', "
                "starting with a letter"
            ),
        )
    return value


def is_valid(value: str) -> bool:
    """Tell whether ``value`` is a valid identifier."""
    return (
        isinstance(value, str) and len(value) <= MAX_LENGTH and bool(_IDENTIFIER.fullmatch(value))
    )


def check_variable(name: str, *, field: str) -> str:
    """Return ``name`` when it is a valid environment variable name, else raise InvalidArgument."""
    if not _VARIABLE.fullmatch(name or ""):
        raise errors.InvalidArgument(
            f"variable '{name}': not a valid name",
            field=field,
            hint="use letters, digits and '_', not starting with a digit",
        )
    return name
