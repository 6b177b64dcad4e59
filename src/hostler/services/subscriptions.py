"""The subscriptions Hostler wants its extensions to hold: the triggers of every live version."""

from __future__ import annotations

import dataclasses
import functools
import logging

from hostler.core import reasons, secretvalues, subscriptions
from hostler.services import pages
from hostler.services.context import Context

_log = logging.getLogger(__name__)


def wanted(ctx: Context) -> list[subscriptions.Subscription]:
    """Return the subscriptions of the triggers of every pipeline's live version.

    A canary's candidate subscribes nothing until it is promoted: its triggers would start runs
    that the canary's routing then shares out anyway. Secrets in settings are resolved here, so
    an extension gets the values (a webhook's signing key, say).
    """
    found: list[subscriptions.Subscription] = []
    for namespace in pages.every(ctx.store.list_namespaces, lambda n: n.name):
        listing = functools.partial(ctx.store.list_pipelines, namespace.name)
        for pipeline in pages.every(listing, lambda p: p.id):
            if pipeline.live_version is None:
                continue
            version = ctx.store.get_version(namespace.name, pipeline.id, pipeline.live_version)
            for sub in subscriptions.of_version(version):
                with_secrets = _with_secrets(ctx, sub)
                if with_secrets is not None:
                    found.append(with_secrets)
    return found


def _with_secrets(
    ctx: Context, sub: subscriptions.Subscription
) -> subscriptions.Subscription | None:
    """Return ``sub`` with the secrets its settings refer to resolved (``secret{{NAME}}`` in a
    setting's text, as in a task's env); None while one cannot be (the plan lists it as missing).
    """
    found = list(subscriptions.texts(sub.settings).items())
    texts = {str(index): value for index, (_, value) in enumerate(found)}
    resolved = secretvalues.resolve(ctx.store, ctx.cipher, sub.namespace, sub.pipeline, texts)
    if isinstance(resolved, reasons.Reason):
        _log.debug("subscription waits for secrets", extra={"subscription": sub.id})
        return None
    if resolved.values == texts:
        return sub
    values = {path: resolved.values[str(index)] for index, (path, _) in enumerate(found)}
    return dataclasses.replace(sub, settings=subscriptions.replaced(sub.settings, values))
