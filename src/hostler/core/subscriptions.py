"""Subscriptions: a pipeline's triggers and notifications, as their extensions are told of them.

Every trigger or notification of a pipeline's live version is one subscription, with an id that
stays the same from version to version (``NAMESPACE/PIPELINE/TRIGGER``), so that a deploy which
leaves one as it was changes nothing for its extension, and one that changes its settings
replaces it.

A subscription can also be made by hand (``hostler pipeline subscribe``): a ``Manual`` one, kept
beside the pipeline rather than in a version, under a key that no trigger or notification of the
pipeline's file may take too. It is wanted while the pipeline has a live version, as the file's
are, under an id of the same form.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from hostler.core import errors, identifiers, pipelines, schedules


@dataclasses.dataclass(frozen=True)
class Subscription:
    """One pipeline subscribed to one extension with its settings. Immutable."""

    id: str
    extension: str
    namespace: str
    pipeline: str
    settings: Mapping[str, Any]


Path = tuple[str | int, ...]
"""Where a value lies in nested settings: keys of objects and indexes of lists."""


def texts(settings: Any, path: Path = ()) -> dict[Path, str]:
    """Return every string of ``settings``, nested in objects and lists, by its path."""
    items: Iterable[tuple[str | int, Any]]
    if isinstance(settings, str):
        return {path: settings}
    if isinstance(settings, Mapping):
        items = settings.items()
    elif isinstance(settings, list):
        items = enumerate(settings)
    else:
        return {}
    found: dict[Path, str] = {}
    for key, value in items:
        found.update(texts(value, (*path, key)))
    return found


def replaced(settings: Any, values: Mapping[Path, str], path: Path = ()) -> Any:
    """Return ``settings`` with the strings at the paths of ``values`` replaced by them."""
    if isinstance(settings, str):
        return values.get(path, settings)
    if isinstance(settings, Mapping):
        return {key: replaced(value, values, (*path, key)) for key, value in settings.items()}
    if isinstance(settings, list):
        return [replaced(value, values, (*path, index)) for index, value in enumerate(settings)]
    return settings


def dotted(path: Path) -> str:
    """Return ``path`` for people: ``webhook.url``, ``to.0``."""
    return ".".join(str(part) for part in path)


FOLLOWER = "pipeline"
"""The built-in extension whose setting ``pipeline`` names a pipeline to follow."""


def upstream(namespace: str, extension: str, settings: Mapping[str, Any]) -> str | None:
    """Return the namespace of the pipeline a subscription of a pipeline of ``namespace``
    follows (a ``pipeline`` subscription's setting ``pipeline``: ``NAMESPACE/PIPELINE``, or
    ``PIPELINE`` in ``namespace``); None when it follows none."""
    followed = settings.get("pipeline")
    if extension != FOLLOWER or not isinstance(followed, str):
        return None
    return followed.partition("/")[0] if "/" in followed else namespace


def upstreams(namespace: str, config: pipelines.Config) -> list[tuple[str, str]]:
    """Return the namespaces of the pipelines ``config``'s triggers follow (see ``upstream``),
    each with the field that names it."""
    found = []
    for index, trigger in enumerate(config.triggers):
        followed = upstream(namespace, trigger.extension, trigger.settings)
        if followed is not None:
            found.append((f"triggers[{index}].settings.pipeline", followed))
    return found


def subscription_id(namespace: str, pipeline: str, trigger: str) -> str:
    """Return the id of the subscription a pipeline's trigger makes: ``NS/PIPELINE/TRIGGER``."""
    return f"{namespace}/{pipeline}/{trigger}"


def of_version(version: pipelines.Version) -> list[Subscription]:
    """Return the subscriptions of the triggers and notifications of ``version``."""
    return [
        Subscription(
            subscription_id(version.namespace, version.pipeline, trigger.key),
            trigger.extension,
            version.namespace,
            version.pipeline,
            dict(trigger.settings),
        )
        for trigger in version.config.subscriptions
    ]


class Source(enum.StrEnum):
    """Where a pipeline's subscription comes from."""

    FILE = "file"
    """A trigger or notification of the pipeline's live version: changed by deploying."""
    MANUAL = "manual"
    """Made by hand (``hostler pipeline subscribe``): kept until it is unsubscribed."""


@dataclasses.dataclass(frozen=True)
class Manual:
    """A subscription made by hand: pipeline ``namespace/pipeline`` subscribed to ``extension``
    with ``settings`` under ``key``, unique among the pipeline's subscriptions of both sources.

    All fields are required. Immutable: it is created and deleted, never changed. ``settings`` is
    a JSON object, kept as given (secret references unresolved).
    """

    namespace: str
    pipeline: str
    key: str
    extension: str
    settings: Mapping[str, Any]
    created: datetime.datetime
    created_by: str

    @property
    def id(self) -> str:
        """The id its extension knows it by: ``NAMESPACE/PIPELINE/KEY``."""
        return subscription_id(self.namespace, self.pipeline, self.key)

    @property
    def ref(self) -> str:
        """The subscription written for people: ``default/build:nightly``."""
        return f"{self.namespace}/{self.pipeline}:{self.key}"

    def subscription(self) -> Subscription:
        """Return it as its extension is told of it."""
        return Subscription(self.id, self.extension, self.namespace, self.pipeline, self.settings)

    def entry(self) -> Entry:
        """Return it as a pipeline's subscriptions list it."""
        return Entry(
            self.key,
            self.extension,
            self.settings,
            Source.MANUAL,
            created=self.created,
            created_by=self.created_by,
        )


@dataclasses.dataclass(frozen=True)
class Entry:
    """One subscription of a pipeline as it is listed: its key, extension and settings (secret
    references unresolved) and where it comes from. ``version`` is the live version that holds
    one from the file; ``created`` and ``created_by`` say who made one by hand. Immutable."""

    key: str
    extension: str
    settings: Mapping[str, Any]
    source: Source
    version: int | None = None
    created: datetime.datetime | None = None
    created_by: str | None = None
    missing_secrets: tuple[str, ...] = ()
    """The secrets its settings refer to (``secret{{NAME}}``) that cannot be used now: while
    there is one, its extension is not told of it."""


def check_manual(key: str, extension: str, settings: Any) -> None:
    """Raise InvalidArgument naming the field at fault unless ``key`` and ``extension`` are
    identifiers and ``settings`` is an object; for the built-in schedules (interval, cron), unless
    it is a valid schedule too (the field names the setting: ``settings.every``)."""
    identifiers.check(extension, what="extension", field="extension")
    identifiers.check(key, what="subscription", field="id")
    if not isinstance(settings, Mapping) or not all(isinstance(k, str) for k in settings):
        raise errors.InvalidArgument(
            f"subscription '{key}': settings must be an object",
            field="settings",
            hint='give the extension\'s settings by name, e.g. {"every": "30s"}',
        )
    try:
        schedules.of(extension, settings, key)
    except errors.InvalidArgument as exc:
        raise errors.InvalidArgument(
            f"subscription '{key}': {exc.message}",
            field=exc.field or "settings",
            hint=exc.hint or "see docs/extensions.md for the settings of the extension",
        ) from None


def entries_of(version: pipelines.Version) -> list[Entry]:
    """Return the triggers and notifications of ``version`` as listed entries from the file."""
    return [
        Entry(t.key, t.extension, dict(t.settings), Source.FILE, version=version.version)
        for t in version.config.subscriptions
    ]


def not_found(namespace: str, pipeline: str, key: str) -> errors.NotFound:
    """Return the error for a subscription made by hand that does not exist (its pipeline
    being there)."""
    return errors.NotFound(
        f"subscription '{key}' of pipeline '{namespace}/{pipeline}': not found",
        field="key",
        hint="list the pipeline's subscriptions to see which exist",
    )


def already_exists(namespace: str, pipeline: str, key: str) -> errors.AlreadyExists:
    """Return the error for a subscription made by hand whose key is taken by another."""
    return errors.AlreadyExists(
        f"subscription '{key}' of pipeline '{namespace}/{pipeline}': already exists",
        field="id",
        hint="give it another id with --id, or unsubscribe the one there first",
    )
