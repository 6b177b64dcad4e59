"""Subscriptions: a pipeline's triggers, as the extensions that fire them are told of them.

Every trigger of a pipeline's live version is one subscription, with an id that stays the same
from version to version (``NAMESPACE/PIPELINE/TRIGGER``), so that a deploy which leaves a trigger
as it was changes nothing for its extension, and one that changes its settings replaces it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
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


def subscription_id(namespace: str, pipeline: str, trigger: str) -> str:
    """Return the id of the subscription a pipeline's trigger makes: ``NS/PIPELINE/TRIGGER``."""
    return f"{namespace}/{pipeline}/{trigger}"


def of_version(version: pipelines.Version) -> list[Subscription]:
    """Return the subscriptions of the triggers of ``version``."""
    return [
        Subscription(
            subscription_id(version.namespace, version.pipeline, trigger.key),
            trigger.extension,
            version.namespace,
            version.pipeline,
            dict(trigger.settings),
        )
        for trigger in version.config.triggers
    ]
