"""Use cases for a pipeline's subscriptions: those of its file (the triggers and notifications of
its live version) and those made by hand, created, listed and deleted; and the subscriptions
Hostler wants its extensions to hold: both kinds, of every pipeline with a live version.

A key is unique among a pipeline's subscriptions of both kinds: a subscription made by hand may
not take the key of a trigger or notification of the live version (or of a canary's candidate),
and a version may not be registered, planned or deployed with a key a subscription made by hand
holds. A subscription that follows a pipeline of another namespace (extension ``pipeline``) needs
the right to read that namespace's runs, whichever kind it is.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from hostler.core import access, errors, pipelines, reasons, secretvalues, subscriptions
from hostler.services import audit, pages
from hostler.services import secrets as secret_service
from hostler.services.context import Context

_log = logging.getLogger(__name__)

_Pipeline = tuple[str, str]


def create(
    ctx: Context,
    namespace: str,
    pipeline: str,
    key: str | None,
    extension: str,
    settings: Mapping[str, Any],
) -> subscriptions.Manual:
    """Subscribe the pipeline to ``extension`` with ``settings`` by hand, under ``key`` (the
    extension's name when None). Its extension is told once the pipeline has a live version."""
    key = extension if key is None else key
    target = f"{namespace}/{pipeline}/{key}"
    with audit.recorded(ctx, "subscription.create", target, {"extension": extension}):
        subscriptions.check_manual(key, extension, settings)
        current = ctx.store.get_pipeline(namespace, pipeline)
        followed = subscriptions.upstream(namespace, extension, settings)
        if followed is not None:
            subject = f"pipeline '{current.ref}'"
            check_follows(ctx, subject, namespace, [("settings.pipeline", followed)])
        for version in _deployed(ctx, current):
            if any(t.key == key for t in version.config.subscriptions):
                raise errors.AlreadyExists(
                    f"subscription '{key}' of pipeline '{current.ref}': a trigger or "
                    f"notification of version {version.version} has that key",
                    field="id",
                    hint="give this subscription another id (--id), or change the pipeline "
                    "file's trigger and deploy it",
                )
        made = subscriptions.Manual(
            namespace, pipeline, key, extension, dict(settings), ctx.clock(), ctx.actor
        )
        return ctx.store.create_subscription(made)


def list_(ctx: Context, namespace: str, pipeline: str) -> list[subscriptions.Entry]:
    """Return the pipeline's subscriptions: those of its live version's file in their order,
    then those made by hand by key."""
    current = ctx.store.get_pipeline(namespace, pipeline)
    found: list[subscriptions.Entry] = []
    if current.live_version is not None:
        live = ctx.store.get_version(namespace, pipeline, current.live_version)
        found.extend(subscriptions.entries_of(live))
    found.extend(made.entry() for made in _made(ctx, namespace, pipeline))
    return [
        dataclasses.replace(
            entry, missing_secrets=missing_secrets(ctx, namespace, pipeline, entry.settings)
        )
        for entry in found
    ]


def missing_secrets(
    ctx: Context, namespace: str, pipeline: str, settings: Mapping[str, Any]
) -> tuple[str, ...]:
    """Return the secrets ``settings`` refer to that the pipeline cannot use now (missing, or
    not usable in its namespace), as written: ``secret{{NAME}}``."""
    found = subscriptions.texts(settings)
    texts = {subscriptions.dotted(path): text for path, text in found.items()}
    return tuple(str(ref) for ref in secret_service.unusable(ctx, namespace, pipeline, texts))


def delete(ctx: Context, namespace: str, pipeline: str, key: str) -> None:
    """Delete the subscription ``key`` made by hand; one of the pipeline file's is refused (it
    goes when a version without it is deployed)."""
    with audit.recorded(ctx, "subscription.delete", f"{namespace}/{pipeline}/{key}"):
        current = ctx.store.get_pipeline(namespace, pipeline)
        for version in _deployed(ctx, current):
            if any(t.key == key for t in version.config.subscriptions):
                raise errors.FailedPrecondition(
                    f"subscription '{key}' of pipeline '{current.ref}': comes from the "
                    f"pipeline file (version {version.version}), not made by hand",
                    field="key",
                    hint="remove it from the file's triggers or notifications and deploy "
                    "the file ('hostler pipeline up')",
                )
        ctx.store.delete_subscription(namespace, pipeline, key)


def delete_of_extension(ctx: Context, extension: str) -> list[str]:
    """Delete every subscription made by hand to ``extension``; return their ids. Those of
    pipeline files stay: a version is never changed."""
    dropped = []
    for manual in list(pages.every(ctx.store.list_all_subscriptions, _order)):
        if manual.extension != extension:
            continue
        with contextlib.suppress(errors.NotFound):  # deleted meanwhile, or its pipeline
            ctx.store.delete_subscription(manual.namespace, manual.pipeline, manual.key)
        dropped.append(manual.id)
    return dropped


def check_follows(
    ctx: Context, subject: str, namespace: str, followed: Iterable[tuple[str, str]]
) -> None:
    """Refuse a subscription of a pipeline of ``namespace`` (``subject`` names it) that follows
    a pipeline of a namespace whose runs who asks may not read: it would tell them of those
    runs. ``followed`` gives each followed namespace with the field that names it."""
    who = ctx.principal
    if who is None:
        return
    for field, upstream in followed:
        if upstream != namespace and not who.allows(access.Kind.RUNS, access.Action.READ, upstream):
            raise errors.PermissionDenied(
                f"{subject}: {who.name} may not follow pipelines of namespace '{upstream}'",
                field=field,
                hint=f"ask an admin for a role that reads runs in '{upstream}', such as "
                f"namespace-reader:{upstream}",
            )


def check_file_keys(
    ctx: Context, namespace: str, config: pipelines.Config, version: int | None = None
) -> None:
    """Refuse ``config`` (of ``version`` when it is registered) if one of its triggers or
    notifications has the key of a subscription of its pipeline made by hand."""
    try:
        made = {sub.key for sub in _made(ctx, namespace, config.id)}
    except errors.NotFound:
        return  # a new pipeline: nothing made by hand yet
    sections = (("triggers", config.triggers), ("notifications", config.notifications))
    for section, entries in sections:
        for index, trigger in enumerate(entries):
            if trigger.key in made:
                of = f" of version {version}" if version is not None else ""
                raise errors.AlreadyExists(
                    f"trigger '{trigger.key}'{of}: pipeline '{namespace}/{config.id}' has a "
                    "subscription made by hand with that key",
                    field=f"{section}[{index}].id",
                    hint=f"unsubscribe it ('hostler pipeline unsubscribe {config.id} "
                    f"{trigger.key}'), or give the {section[:-1]} another id",
                )


class Versions:
    """The live versions ``wanted`` reads, kept: a version never changes, so a caller that asks
    every second (the supervisor) reads each from the store once. Keyed by the pipeline's
    creation too, as a pipeline made again under a deleted one's name numbers its versions
    from 1 again. Holds at most ``size``, the least recently used going first; one thread at a
    time."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._kept: collections.OrderedDict[tuple[Any, ...], pipelines.Version] = (
            collections.OrderedDict()
        )

    def live(self, ctx: Context, pipeline: pipelines.Pipeline) -> pipelines.Version | None:
        """Return the live version of ``pipeline``; None when it has none."""
        number = pipeline.live_version
        if number is None:
            return None
        key = (pipeline.namespace, pipeline.id, pipeline.created, number)
        found = self._kept.get(key)
        if found is None:
            found = ctx.store.get_version(pipeline.namespace, pipeline.id, number)
            self._kept[key] = found
            if len(self._kept) > self._size:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(key)
        return found


def wanted(ctx: Context, versions: Versions | None = None) -> list[subscriptions.Subscription]:
    """Return the subscriptions of every pipeline that has a live version: the triggers and
    notifications of that version, then those made by hand, by key. ``versions`` keeps the
    versions read, for a caller that asks again and again.

    A canary's candidate subscribes nothing until it is promoted: its triggers would start runs
    that the canary's routing then shares out anyway. Secrets in settings are resolved here, so
    an extension gets the values (a webhook's signing key, say).
    """
    found: list[subscriptions.Subscription] = []
    for sub in _unresolved(ctx, versions or Versions()):
        with_secrets = _with_secrets(ctx, sub)
        if with_secrets is not None:
            found.append(with_secrets)
    return found


def counts(ctx: Context) -> dict[str, int]:
    """Return how many subscriptions of those ``wanted`` each extension has, by name; those
    waiting for a secret count too (no secret is resolved)."""
    found: dict[str, int] = {}
    for sub in _unresolved(ctx, Versions()):
        found[sub.extension] = found.get(sub.extension, 0) + 1
    return found


def _unresolved(ctx: Context, versions: Versions) -> Iterator[subscriptions.Subscription]:
    """Yield the subscriptions ``wanted`` returns, their secrets unresolved."""
    made: dict[_Pipeline, list[subscriptions.Manual]] = {}
    for manual in pages.every(ctx.store.list_all_subscriptions, _order):
        made.setdefault((manual.namespace, manual.pipeline), []).append(manual)
    for namespace in pages.every(ctx.store.list_namespaces, lambda n: n.name):
        listing = functools.partial(ctx.store.list_pipelines, namespace.name)
        for pipeline in pages.every(listing, lambda p: p.id):
            version = versions.live(ctx, pipeline)
            if version is None:
                continue
            from_file = subscriptions.of_version(version)
            ids = {sub.id for sub in from_file}
            by_hand = [m.subscription() for m in made.get((namespace.name, pipeline.id), [])]
            # The use cases keep keys unique across both kinds; should two writers race past
            # that check, the file's subscription wins rather than the extension get both.
            yield from [*from_file, *(s for s in by_hand if s.id not in ids)]


def _order(sub: subscriptions.Manual) -> tuple[str, str, str]:
    return (sub.namespace, sub.pipeline, sub.key)


def _made(ctx: Context, namespace: str, pipeline: str) -> list[subscriptions.Manual]:
    listing = functools.partial(ctx.store.list_subscriptions, namespace, pipeline)
    return list(pages.every(listing, lambda sub: sub.key))


def _deployed(ctx: Context, current: pipelines.Pipeline) -> list[pipelines.Version]:
    """Return the pipeline's live version and its canary's candidate, those it has."""
    numbers = [current.live_version]
    if current.canary is not None:
        numbers.append(
            ctx.store.get_deployment(current.namespace, current.id, current.canary).to_version
        )
    return [
        ctx.store.get_version(current.namespace, current.id, number)
        for number in numbers
        if number is not None
    ]


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
