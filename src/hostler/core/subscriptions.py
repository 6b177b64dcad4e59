"""Subscriptions: a pipeline's triggers and notifications, as their extensions are told of them.

Every trigger or notification of a pipeline's live version is one subscription, with an id that
stays the same from version to version (``NAMESPACE/PIPELINE/TRIGGER``), so that a deploy which
leaves one as it was changes nothing for its extension, and one that changes its settings
replaces it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from hostler.core import pipelines


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


def upstreams(namespace: str, config: pipelines.Config) -> list[tuple[str, str]]:
    """Return the namespaces of the pipelines ``config``'s triggers follow (a ``pipeline``
    trigger's setting ``pipeline``: ``NAMESPACE/PIPELINE``, or ``PIPELINE`` in ``namespace``),
    each with the field that names it."""
    found = []
    for index, trigger in enumerate(config.triggers):
        followed = trigger.settings.get("pipeline")
        if trigger.extension == FOLLOWER and isinstance(followed, str):
            upstream = followed.partition("/")[0] if "/" in followed else namespace
            found.append((f"triggers[{index}].settings.pipeline", upstream))
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
