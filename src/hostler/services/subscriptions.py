"""The subscriptions Hostler wants its extensions to hold: the triggers of every live version."""

from __future__ import annotations

import functools

from hostler.core import subscriptions
from hostler.services import pages
from hostler.services.context import Context


def wanted(ctx: Context) -> list[subscriptions.Subscription]:
    """Return the subscriptions of the triggers of every pipeline's live version.

    A canary's candidate subscribes nothing until it is promoted: its triggers would start runs
    that the canary's routing then shares out anyway.
    """
    found: list[subscriptions.Subscription] = []
    for namespace in pages.every(ctx.store.list_namespaces, lambda n: n.name):
        listing = functools.partial(ctx.store.list_pipelines, namespace.name)
        for pipeline in pages.every(listing, lambda p: p.id):
            if pipeline.live_version is None:
                continue
            version = ctx.store.get_version(namespace.name, pipeline.id, pipeline.live_version)
            found += subscriptions.of_version(version)
    return found
