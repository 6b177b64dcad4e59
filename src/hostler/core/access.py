"""Access: who may do what. Roles grant actions on kinds of resource whose target matches a pattern.

A **target** is the namespace of a namespaced resource (pipelines, runs, logs, secrets, objects,
events, and a namespace itself), and ``*`` for a resource of the whole installation (tokens,
roles, extensions, history, creating namespaces). A **pattern** is anchored: it must match the whole
target. ``*`` in a pattern stands for any run of characters, and is the only special character:
``team-*`` matches ``team-a`` but never ``my-team-a`` nor ``team``; only ``*`` itself matches the
installation-wide target ``*``.

Built-in roles are ``admin`` (everything), and three roles bound to a namespace pattern when
given to a token: ``namespace-owner:PATTERN`` (every action on the namespaced kinds of the
matching namespaces), ``namespace-reader:PATTERN`` (read them) and ``namespace-runner:PATTERN``
(read them and start runs). A role made by an admin lists its grants
itself.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from collections.abc import Iterable, Sequence

from hostler.core import errors, identifiers, tokens


class Action(enum.StrEnum):
    """What a request does to a resource."""

    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    RUN = "run"
    ADMIN = "admin"


class Kind(enum.StrEnum):
    """The kinds of resource access is granted on."""

    NAMESPACES = "namespaces"
    PIPELINES = "pipelines"
    RUNS = "runs"
    LOGS = "logs"
    SECRETS = "secrets"
    OBJECTS = "objects"
    TOKENS = "tokens"
    EXTENSIONS = "extensions"
    EVENTS = "events"
    HISTORY = "history"


NAMESPACED = frozenset(
    {
        Kind.NAMESPACES,
        Kind.PIPELINES,
        Kind.RUNS,
        Kind.LOGS,
        Kind.SECRETS,
        Kind.OBJECTS,
        Kind.EVENTS,
    }
)
"""Kinds whose target is a namespace; the others' target is always ``INSTALLATION``."""

INSTALLATION = "*"
"""The target of what belongs to the whole installation rather than to one namespace."""

_PATTERN = re.compile(r"^(\*|[a-z0-9_*-]{1,63})$")


def check_pattern(pattern: str, *, field: str = "pattern") -> str:
    """Return ``pattern`` if it is a valid target pattern, else raise InvalidArgument."""
    if not isinstance(pattern, str) or not _PATTERN.match(pattern):
        raise errors.InvalidArgument(
            f"pattern '{pattern}': not a valid target pattern",
            field=field,
            hint="use lowercase letters, digits, '-', '_' and '*' (any characters), e.g. 'team-*'",
        )
    return pattern


def matches(pattern: str, target: str) -> bool:
    """Tell whether the anchored ``pattern`` matches the whole ``target``."""
    return _compiled(pattern).fullmatch(target) is not None


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    # Patterns are checked on every request: each is compiled once.
    parts = re.split(r"(\*)", pattern)
    return re.compile("".join(".*" if p == "*" else re.escape(p) for p in parts), re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Grant:
    """``actions`` on ``kinds`` of resource whose target matches ``pattern``. Immutable."""

    kinds: frozenset[Kind]
    actions: frozenset[Action]
    pattern: str = INSTALLATION

    def __post_init__(self) -> None:
        check_pattern(self.pattern)
        if not self.kinds or not self.actions:
            raise errors.InvalidArgument(
                "grant: needs at least one kind and one action",
                field="grants",
                hint="e.g. kinds ['pipelines', 'runs'], actions ['read', 'run']",
            )

    def allows(self, kind: Kind, action: Action, target: str) -> bool:
        """Tell whether this grant allows ``action`` on ``kind`` at ``target``."""
        return kind in self.kinds and action in self.actions and matches(self.pattern, target)

    def describe(self) -> str:
        """Return the grant for people: ``read,run on pipelines,runs in team-*``."""
        actions = ",".join(a.value for a in Action if a in self.actions)
        kinds = ",".join(k.value for k in Kind if k in self.kinds)
        return f"{actions} on {kinds} in {self.pattern}"


@dataclasses.dataclass(frozen=True)
class Role:
    """A named set of grants. Immutable; built-in roles have ``builtin`` set."""

    name: str
    description: str
    grants: tuple[Grant, ...]
    builtin: bool = False


ADMIN = "admin"
OWNER = "namespace-owner"
READER = "namespace-reader"
RUNNER = "namespace-runner"
_ALL_ACTIONS = frozenset(Action)

BUILTIN: dict[str, Role] = {
    ADMIN: Role(
        ADMIN,
        "Everything, everywhere.",
        (Grant(frozenset(Kind), _ALL_ACTIONS, "*"),),
        builtin=True,
    ),
    OWNER: Role(
        OWNER,
        "Every action on the namespaced kinds of the namespaces its pattern matches "
        "(given as namespace-owner:PATTERN).",
        (),
        builtin=True,
    ),
    READER: Role(
        READER,
        "Read the namespaced kinds of the namespaces its pattern matches "
        "(given as namespace-reader:PATTERN).",
        (),
        builtin=True,
    ),
    RUNNER: Role(
        RUNNER,
        "Read the namespaced kinds and start runs in the namespaces its pattern matches "
        "(given as namespace-runner:PATTERN); what extensions get.",
        (),
        builtin=True,
    ),
}
"""The built-in roles; the namespace roles get their grants from the pattern they are bound to."""

_BOUND = {
    OWNER: frozenset({Action.READ, Action.WRITE, Action.DELETE, Action.RUN}),
    READER: frozenset({Action.READ}),
    RUNNER: frozenset({Action.READ, Action.RUN}),
}


def parse_binding(text: str, *, field: str = "roles") -> tuple[str, str | None]:
    """Split a role as given to a token, ``NAME`` or ``NAME:PATTERN``, and check its form.

    The namespace roles need a pattern; other roles take none. InvalidArgument otherwise.
    """
    name, sep, pattern = text.partition(":")
    if name in _BOUND:
        if not sep:
            raise errors.InvalidArgument(
                f"role '{name}': needs the namespaces it applies to",
                field=field,
                hint=f"give it as '{name}:PATTERN', e.g. '{name}:team-*'",
            )
        return name, check_pattern(pattern, field=field)
    identifiers.check(name, what="role", field=field)
    if sep:
        raise errors.InvalidArgument(
            f"role '{name}': takes no pattern; its grants say where it applies",
            field=field,
            hint=f"give it as '{name}'",
        )
    return name, None


def bound_grants(name: str, pattern: str) -> tuple[Grant, ...]:
    """Return the grants of namespace role ``name`` bound to ``pattern``."""
    return (Grant(NAMESPACED, _BOUND[name], pattern),)


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who sends a request: a name for the records, and what they may do. Immutable."""

    name: str
    grants: tuple[Grant, ...]
    token: str | None = None
    """The id of the token that authenticated the request; None in development mode."""
    run: tokens.RunRef | None = None
    """For a run token: the run it belongs to, which narrows its grants further (the API's
    ``permissions.RUN_TOKEN`` says which routes it reaches and how far)."""

    def allows(self, kind: Kind, action: Action, target: str) -> bool:
        """Tell whether some grant allows ``action`` on ``kind`` at ``target``."""
        return any(grant.allows(kind, action, target) for grant in self.grants)

    def allows_somewhere(self, kind: Kind, action: Action) -> bool:
        """Tell whether some grant allows ``action`` on ``kind`` at some target."""
        return any(kind in grant.kinds and action in grant.actions for grant in self.grants)

    def check(self, kind: Kind, action: Action, target: str) -> None:
        """Raise PermissionDenied unless ``allows``."""
        if not self.allows(kind, action, target):
            where = "the installation" if target == INSTALLATION else f"namespace '{target}'"
            raise errors.PermissionDenied(
                f"{self.name}: may not {action.value} {kind.value} in {where}",
                hint="ask an admin for a token with a role that grants it",
            )


def everything(name: str) -> Principal:
    """Return a principal allowed everything (development mode, the engine itself)."""
    return Principal(name, BUILTIN[ADMIN].grants)


def run_grants(run: tokens.RunRef) -> tuple[Grant, ...]:
    """Return the grants of a run token, within its run's namespace: read, write and delete
    objects, read pipelines, read and start runs. The API narrows them to the run's own objects
    and pipeline."""
    return (
        Grant(
            frozenset({Kind.OBJECTS}),
            frozenset({Action.READ, Action.WRITE, Action.DELETE}),
            _literal(run.namespace),
        ),
        Grant(frozenset({Kind.PIPELINES}), frozenset({Action.READ}), _literal(run.namespace)),
        Grant(
            frozenset({Kind.RUNS}), frozenset({Action.READ, Action.RUN}), _literal(run.namespace)
        ),
    )


def _literal(namespace: str) -> str:
    # Namespace names are identifiers: they hold no '*', so the pattern matches only themselves.
    return check_pattern(namespace)


def grants_of(bindings: Iterable[str], roles: Sequence[Role]) -> tuple[Grant, ...]:
    """Return the grants of the roles in ``bindings`` (as given to a token), looking custom roles
    up in ``roles``; a role that no longer exists grants nothing."""
    custom = {role.name: role for role in roles}
    grants: list[Grant] = []
    for binding in bindings:
        name, pattern = parse_binding(binding)
        if pattern is not None:
            grants += bound_grants(name, pattern)
        elif name in BUILTIN:
            grants += BUILTIN[name].grants
        elif name in custom:
            grants += custom[name].grants
    return tuple(grants)
