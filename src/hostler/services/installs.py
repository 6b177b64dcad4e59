"""Use cases for extensions installed from images: plan and install one, plan and update one or
all, list the newer versions the engine has, and remove one.

The images come from the scheduler's engine (``Context.images``): only those whose labels make
them extension images (``core.images``) are offered, and nothing is pulled. Which version an
install or update goes to, and its plan, is ``core.updates``; each change counts the
subscriptions the extension holds (those ``subscriptions.wanted``, without resolving secrets).
Every install, update and removal is audited (``extension.install``, ``extension.update``,
``extension.remove``) with the versions it went from and to; a refused one is audited as failed.

Running what is installed is the supervisor's: these use cases keep the record of it, and wake
the supervisor (``ExtensionHost.wake``) so that it reads the record again at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from hostler.core import errors, extensions, images, updates
from hostler.services import audit, pages, secrets, subscriptions, tokens
from hostler.services.context import Context

_log = logging.getLogger(__name__)

LABELS_HINT = (
    f"an extension image carries the labels {images.NAME_LABEL} (its name) and "
    f"{images.VERSION_LABEL} (a semantic version); build or pull one first"
)


@dataclasses.dataclass(frozen=True)
class Planned:
    """A plan, and the image each change that does something goes to, by extension name."""

    plan: updates.Plan
    chosen: Mapping[str, images.Found]

    @property
    def digest(self) -> str:
        """Name this plan: its lines and the ids of the images it goes to. A client that shows
        a plan and asks passes it back, so that a plan it did not show is never applied."""
        lines = [*self.plan.lines(), *(f"{n}={f.id}" for n, f in sorted(self.chosen.items()))]
        return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def check(self, shown: str | None) -> None:
        """Raise Conflict naming ``planned`` unless ``shown`` (when given) is this plan's
        digest: the engine's images, or what is installed, changed since it was shown."""
        if shown is not None and shown != self.digest:
            raise errors.Conflict(
                "extensions: the plan is no longer the one shown (the engine's images or the "
                "extensions installed changed meanwhile)",
                field="planned",
                hint="plan again (--dry-run, or the same command without -y) and confirm the "
                "new plan",
            )


@dataclasses.dataclass(frozen=True)
class Done:
    """What an install or update did: its plan (and that plan's digest), and the extensions it
    changed, as stored."""

    plan: updates.Plan
    changed: list[images.Installed]
    digest: str


@dataclasses.dataclass(frozen=True)
class Available:
    """An installed extension and the newer versions the engine has of it (within its pin),
    newest first."""

    extension: images.Installed
    newer: list[updates.Image]


def list_(ctx: Context) -> list[images.Installed]:
    """Return the extensions installed from images, by name."""
    return list(pages.every(ctx.store.list_extensions, lambda e: e.name))


def get(ctx: Context, name: str) -> images.Installed:
    """Return the extension installed from an image as ``name``."""
    return ctx.store.get_extension(name)


def config_of(ctx: Context, extension: images.Installed) -> dict[str, str]:
    """Return the configuration given at the install of ``extension``, decrypted (for the
    extension only: never for an answer); FailedPrecondition when a value cannot be (its key
    is no longer configured)."""
    return {
        key: secrets.unseal(ctx, text, images.config_context(extension.name, key))
        for key, text in extension.config.items()
    }


def subscription_counts(ctx: Context) -> dict[str, int]:
    """Return how many subscriptions each extension holds, by name."""
    return subscriptions.counts(ctx)


def python_extensions() -> set[str]:
    """Return the names of the extensions installed as Python entry points."""
    return {entry.name for entry in metadata.entry_points(group=extensions.ENTRY_POINTS)}


def plan_install(
    ctx: Context,
    name: str,
    image: str,
    version: str | None = None,
    config: Mapping[str, str] | None = None,
) -> Planned:
    """Return the plan of installing ``name`` from ``image``: a reference to one image
    (``hostler-ext-slack:1.3.0``), or a repository (``hostler-ext-slack``) whose newest version
    (or the one ``version`` asks for: ``1.3.0``, or a major such as ``1``, which pins) is taken.

    AlreadyExists when ``name`` is installed, from an image or as a Python entry point;
    InvalidArgument naming ``image`` when the engine has no extension image there, or its name
    label is not ``name``, and naming ``config`` for a bad ``config``; NotFound naming
    ``version`` when no image has the version asked for.
    """
    images.check_name(name)
    images.check_config(config or {})
    if name in python_extensions():
        raise errors.AlreadyExists(
            f"extension '{name}': installed as a Python package (an entry point of "
            f"'{extensions.ENTRY_POINTS}')",
            field="name",
            hint="an extension from an image needs a name of its own: build it with another "
            f"{images.NAME_LABEL}",
        )
    try:
        current = ctx.store.get_extension(name)
    except errors.NotFound:
        pass
    else:
        raise errors.AlreadyExists(
            f"extension '{name}': installed already ({current.describe()})",
            field="name",
            hint=f"update it ('hostler extension update {name}'), or remove it first",
        )
    request = updates.Request.parse(version)
    candidates = _candidates(ctx, name, image)
    plan = updates.install(name, [found.image() for found in candidates], request)
    return Planned(plan, _chosen(plan, {name: candidates}))


def install(
    ctx: Context,
    name: str,
    image: str,
    version: str | None = None,
    config: Mapping[str, str] | None = None,
    planned: str | None = None,
) -> Done:
    """Install ``name`` from ``image`` as ``plan_install`` plans it, with ``config`` (the values
    of its ``HOSTLER_EXTENSION_CONFIG_*`` variables, by key without the prefix); with
    ``planned``, only if the plan's digest is still that one (``Planned.check``)."""
    detail: dict[str, Any] = {"image": image, "from_version": None}
    with audit.recorded(ctx, "extension.install", name, detail) as entry:
        checked = images.check_config(config or {})
        entry.detail["config"] = sorted(checked)  # the keys only: values may be tokens
        plan = plan_install(ctx, name, image, version)
        plan.check(planned)
        change = plan.plan.changes[0]
        chosen = plan.chosen[name]
        made = images.Installed(
            name=name,
            image=chosen.reference,
            image_id=chosen.id,
            version=chosen.version,
            pin=change.pin,
            config={
                key: secrets.seal(ctx, value, images.config_context(name, key))
                for key, value in checked.items()
            },
            installed=ctx.clock(),
            installed_by=ctx.actor,
        )
        stored = ctx.store.put_extension(made)
        entry.detail.update(to_version=str(stored.version), image=stored.image, pin=stored.pin)
        _log.info("extension installed", extra={"extension": name, "image": stored.image})
        _changed(ctx)
        return Done(plan.plan, [stored], plan.digest)


def plan_update(
    ctx: Context,
    name: str,
    version: str | None = None,
    *,
    allow_downgrade: bool = False,
    force_same_version: bool = False,
) -> Planned:
    """Return the plan of updating ``name`` to ``version`` (``1.4.2``; a major such as ``2``,
    which pins to it; None: the newest within its pin), from the images of the engine whose
    name label is ``name``.

    FailedPrecondition naming ``version`` for a downgrade without ``allow_downgrade`` and for
    the installed version asked for again without ``force_same_version``.
    """
    current = ctx.store.get_extension(name)
    request = updates.Request.parse(version)
    found = _found(ctx).get(name, [])
    counted = subscription_counts(ctx).get(name, 0)
    change = updates.update(
        current.for_update(counted),
        [each.image() for each in found],
        request,
        allow_downgrade=allow_downgrade,
        force_same_version=force_same_version,
    )
    plan = updates.Plan([change])
    return Planned(plan, _chosen(plan, {name: found}))


def update(
    ctx: Context,
    name: str,
    version: str | None = None,
    *,
    allow_downgrade: bool = False,
    force_same_version: bool = False,
    planned: str | None = None,
) -> Done:
    """Update ``name`` as ``plan_update`` plans it (with ``planned``, only if the plan's digest is
    still that one); nothing changes when it is up to date."""
    detail: dict[str, Any] = {"version": version}
    with audit.recorded(ctx, "extension.update", name, detail) as entry:
        plan = plan_update(
            ctx,
            name,
            version,
            allow_downgrade=allow_downgrade,
            force_same_version=force_same_version,
        )
        plan.check(planned)
        change = plan.plan.changes[0]
        entry.detail.update(
            action=change.action.value,
            from_version=str(change.from_version),
            to_version=str(change.to_version),
        )
        return _apply(ctx, plan, entry)


def plan_update_all(
    ctx: Context, *, allow_downgrade: bool = False, force_same_version: bool = False
) -> Planned:
    """Return the plan of updating every extension installed from an image to its newest
    version (within its pin); one refused change refuses the plan."""
    installed = list_(ctx)
    counted = subscription_counts(ctx)
    found = _found(ctx)
    plan = updates.update_all(
        [extension.for_update(counted.get(extension.name, 0)) for extension in installed],
        {name: [each.image() for each in images_of] for name, images_of in found.items()},
        allow_downgrade=allow_downgrade,
        force_same_version=force_same_version,
    )
    return Planned(plan, _chosen(plan, found))


def update_all(
    ctx: Context,
    *,
    allow_downgrade: bool = False,
    force_same_version: bool = False,
    planned: str | None = None,
) -> Done:
    """Update every extension installed from an image as ``plan_update_all`` plans it (with
    ``planned``, only if the plan's digest is still that one)."""
    with audit.recorded(ctx, "extension.update", "*") as entry:
        plan = plan_update_all(
            ctx, allow_downgrade=allow_downgrade, force_same_version=force_same_version
        )
        plan.check(planned)
        entry.detail["changes"] = [
            {
                "extension": change.extension,
                "action": change.action.value,
                "from_version": str(change.from_version),
                "to_version": str(change.to_version),
            }
            for change in plan.plan.changes
            if change.action is not updates.Action.NONE
        ]
        return _apply(ctx, plan, entry)


def available(ctx: Context) -> list[Available]:
    """Return every extension installed from an image, by name, with the newer versions the
    engine has of it (within its pin, no prereleases), newest first."""
    found = _found(ctx)
    return [
        Available(
            extension,
            updates.available(
                extension.for_update(0), [each.image() for each in found.get(extension.name, [])]
            ),
        )
        for extension in list_(ctx)
    ]


def remove(ctx: Context, name: str) -> images.Installed:
    """Forget the extension installed from an image as ``name``, with the subscriptions made by
    hand to it and its token, and return what it was. Its image stays on the engine; the
    triggers and notifications of pipeline files that name it stay in their versions, and are
    held again if it is installed again."""
    with audit.recorded(ctx, "extension.remove", name) as entry:
        current = ctx.store.get_extension(name)
        entry.detail.update(from_version=str(current.version), to_version=None, image=current.image)
        # The subscriptions first: a removal cut short leaves the extension, to remove again.
        entry.detail["subscriptions_removed"] = subscriptions.delete_of_extension(ctx, name)
        ctx.store.delete_extension(name)
        tokens.revoke_extension(ctx, name)
        _log.info("extension removed", extra={"extension": name})
        _changed(ctx)
        return current


def _changed(ctx: Context) -> None:
    """Have the extensions installed read again now, rather than at the next round."""
    if ctx.extensions is not None:
        ctx.extensions.wake()


def _apply(ctx: Context, planned: Planned, entry: audit.Entry) -> Done:
    """Store the changes of ``planned`` that do something; mark ``entry`` unchanged if none."""
    changed = []
    for change in planned.plan.changes:
        if change.action is updates.Action.NONE:
            continue
        current = ctx.store.get_extension(change.extension)
        if change.action is updates.Action.PIN:
            replaced = dataclasses.replace(current, pin=change.pin)  # the same image goes on
        else:
            chosen = planned.chosen[change.extension]
            replaced = dataclasses.replace(
                current,
                image=chosen.reference,
                image_id=chosen.id,
                version=chosen.version,
                pin=change.pin,
                installed=ctx.clock(),
                installed_by=ctx.actor,
            )
        changed.append(ctx.store.put_extension(replaced))
        _log.info(
            "extension updated",
            extra={"extension": change.extension, "image": replaced.image, "pin": replaced.pin},
        )
    entry.unchanged = not changed
    if changed:
        _changed(ctx)
    return Done(planned.plan, changed, planned.digest)


def _chosen(plan: updates.Plan, found: Mapping[str, list[images.Found]]) -> dict[str, images.Found]:
    """Return the image each change of ``plan`` that does something goes to, by extension."""
    chosen = {}
    for change in plan.changes:
        if change.action is updates.Action.NONE:
            continue
        for each in found.get(change.extension, []):
            if each.reference == change.image:
                chosen[change.extension] = each
                break
    return chosen


def _found(ctx: Context) -> dict[str, list[images.Found]]:
    """Return the extension images on the engine, by the name their label gives."""
    by_name: dict[str, list[images.Found]] = {}
    for info in ctx.images(images.NAME_LABEL) if ctx.images is not None else []:
        found = images.read(info.reference, info.id, info.labels)
        if found is None:
            _log.debug("not an extension image", extra={"image": info.reference})
            continue
        by_name.setdefault(found.name, []).append(found)
    return by_name


def _candidates(ctx: Context, name: str, image: str) -> list[images.Found]:
    """Return the extension images ``image`` names for installing ``name``: the one it refers
    to, or those of the repository it is; InvalidArgument naming ``image`` when there are none
    or their name label is not ``name``."""
    infos = ctx.images(images.NAME_LABEL) if ctx.images is not None else []
    named = [info for info in infos if image in (info.reference, info.id)]
    if not named:
        named = [info for info in infos if images.repository(info.reference) == image]
    if not named:
        raise errors.InvalidArgument(
            f"image '{image}': no extension image of that reference or repository on the engine",
            field="image",
            hint=LABELS_HINT,
        )
    found = [images.read(info.reference, info.id, info.labels) for info in named]
    valid = [each for each in found if each is not None]
    if not valid:
        raise errors.InvalidArgument(
            images.explain(named[0].reference, named[0].labels), field="image", hint=LABELS_HINT
        )
    mine = [each for each in valid if each.name == name]
    if not mine:
        other = valid[0].name
        raise errors.InvalidArgument(
            f"image '{image}': its label {images.NAME_LABEL} is '{other}', not '{name}'",
            field="image",
            hint=f"install it as '{other}', or build the image with the label "
            f"{images.NAME_LABEL}={name}",
        )
    return mine
