"""Updates of extensions installed from images: which version to go to, and the plan that says so.

An extension installed from an image carries a semantic version, and may be **pinned** to a major
version: ``update NAME`` then goes to the newest version of that major only (a pin tracks its
newest minor and patch), while an unpinned one goes to the newest version there is. A request
names a version exactly (``NAME@1.4.2``), a major (``NAME@1``, which also pins to it) or nothing.

A plan lists one change per extension, sdcadm style, with how many subscriptions it affects:
an install, an upgrade, a downgrade (refused unless ``allow_downgrade``), a reinstall of the
same version (refused unless ``force_same_version``), or nothing to do. Asking for no version
and having the newest already is not an error: the plan is ``Up-to-date.``. The two flags are
the only guards; nothing else unlocks a downgrade or a reinstall.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import semver

from hostler.core import errors

UP_TO_DATE = "Up-to-date."


def parse(text: str, *, field: str = "version") -> semver.Version:
    """Return the semantic version ``text`` (``1.4.2``, ``2.0.0-rc.1``); raise InvalidArgument
    naming ``field`` if it is not one."""
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError):
        raise errors.InvalidArgument(
            f"version '{text}': not a semantic version",
            field=field,
            hint="write MAJOR.MINOR.PATCH, such as 1.4.2 (or 2.0.0-rc.1)",
        ) from None


@dataclasses.dataclass(frozen=True)
class Request:
    """What an update asks for: an exact version, a major version (which pins), or neither."""

    exact: semver.Version | None = None
    major: int | None = None

    @classmethod
    def parse(cls, text: str | None, *, field: str = "version") -> Request:
        """Return the request written ``text``: ``1.4.2``, ``1``, or None for the newest."""
        if text is None or text == "":
            return cls()
        if text.isascii() and text.isdigit():
            return cls(major=int(text))
        return cls(exact=parse(text, field=field))

    def __str__(self) -> str:
        if self.exact is not None:
            return str(self.exact)
        return f"{self.major}.x" if self.major is not None else "the newest version"


@dataclasses.dataclass(frozen=True)
class Image:
    """An image of an extension present on the engine, with the version its label gives."""

    reference: str
    version: semver.Version


@dataclasses.dataclass(frozen=True)
class Installed:
    """An extension installed from an image: its version, the major it is pinned to (or None),
    and how many subscriptions it holds."""

    name: str
    image: str
    version: semver.Version
    pin: int | None = None
    subscriptions: int = 0


class Action(enum.StrEnum):
    """What a plan does to one extension."""

    INSTALL = "install"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    REINSTALL = "reinstall"
    PIN = "pin"
    """Pinned to a major version it is on already: the version does not change."""
    NONE = "none"


@dataclasses.dataclass(frozen=True)
class Change:
    """One extension's part of a plan. Immutable."""

    extension: str
    action: Action
    from_version: semver.Version | None
    to_version: semver.Version
    image: str
    pin: int | None
    subscriptions: int

    def line(self) -> str:
        """Return the change for people, as one line of a plan."""
        pinned = f", pinned to {self.pin}.x" if self.pin is not None else ""
        affected = _count(self.subscriptions, "subscription")
        if self.action is Action.NONE:
            return f"  {self.extension} {self.to_version} is the newest{pinned}"
        if self.action is Action.REINSTALL:
            return (
                f'  reinstall "{self.extension}" {self.to_version} ({self.image}{pinned}; '
                f"{affected} affected)"
            )
        if self.action is Action.INSTALL:
            return f'  install "{self.extension}" {self.to_version} from {self.image}{pinned}'
        if self.action is Action.PIN:
            return f'  pin "{self.extension}" {self.to_version} to {self.pin}.x (no new version)'
        return (
            f'  {self.action.value} "{self.extension}" from {self.from_version} to '
            f"{self.to_version} ({self.image}{pinned}; {affected} affected)"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-compatible data."""
        return {
            "extension": self.extension,
            "action": self.action.value,
            "from_version": str(self.from_version) if self.from_version is not None else None,
            "to_version": str(self.to_version),
            "image": self.image,
            "pin": self.pin,
            "subscriptions": self.subscriptions,
        }


@dataclasses.dataclass(frozen=True)
class Plan:
    """The changes of an install or update, one per extension. Immutable."""

    changes: list[Change]
    verb: str = "update"
    """What the plan is of, for its headline: ``update`` or ``install``."""

    @property
    def up_to_date(self) -> bool:
        """Tell whether the plan changes nothing."""
        return all(change.action is Action.NONE for change in self.changes)

    def lines(self) -> list[str]:
        """Return the plan for people: ``Up-to-date.`` when it changes nothing."""
        if self.up_to_date:
            return [UP_TO_DATE]
        doing = [c for c in self.changes if c.action is not Action.NONE]
        affected = sum(c.subscriptions for c in doing)
        return [
            f"This {self.verb} will make the following changes:",
            *(change.line() for change in doing),
            "",
            f"{_count(len(doing), 'extension')} changed, "
            f"{_count(affected, 'subscription')} affected.",
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-compatible data."""
        return {
            "up_to_date": self.up_to_date,
            "changes": [change.to_dict() for change in self.changes],
        }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def newest(
    images: Iterable[Image], *, major: int | None = None, prereleases: bool = False
) -> Image | None:
    """Return the image of the highest version (of ``major`` only, when given); prereleases
    only when asked for."""
    found = [
        image
        for image in images
        if (major is None or image.version.major == major)
        and (prereleases or image.version.prerelease is None)
    ]
    return max(found, key=lambda image: image.version, default=None)


def choose(name: str, images: Sequence[Image], request: Request, pin: int | None) -> Image:
    """Return the image ``request`` asks for among ``images`` of extension ``name``; raise
    NotFound when the engine has none that answers it."""
    if request.exact is not None:
        for image in images:
            if image.version == request.exact:
                return image
        chosen = None
    else:
        chosen = newest(images, major=request.major if request.major is not None else pin)
    if chosen is None:
        present = ", ".join(str(i.version) for i in sorted(images, key=lambda i: i.version))
        raise errors.NotFound(
            f"extension '{name}': no image of {request}"
            + (f" (pinned to {pin}.x)" if pin is not None and request.major is None else ""),
            field="version",
            hint=f"versions on the engine: {present or 'none'}; build or pull the image first",
        )
    return chosen


def install(name: str, images: Sequence[Image], request: Request) -> Plan:
    """Return the plan of installing ``name`` from the image ``request`` asks for."""
    chosen = choose(name, images, request, None)
    change = Change(name, Action.INSTALL, None, chosen.version, chosen.reference, request.major, 0)
    return Plan([change], verb="install")


def update(
    installed: Installed,
    images: Sequence[Image],
    request: Request,
    *,
    allow_downgrade: bool = False,
    force_same_version: bool = False,
) -> Change:
    """Return the change updating ``installed`` as ``request`` asks; raise FailedPrecondition
    for a downgrade without ``allow_downgrade`` and for asking the same version again without
    ``force_same_version``."""
    pin = request.major if request.major is not None else installed.pin
    chosen = choose(installed.name, images, request, installed.pin)
    before = installed.version
    if chosen.version == before:
        if force_same_version:
            action = Action.REINSTALL
        elif request.exact is not None:
            raise errors.FailedPrecondition(
                f"extension '{installed.name}': version {before} is installed already",
                field="version",
                hint="add --force-same-version to install it again",
            )
        else:
            # Nothing newer: only a pin asked for anew changes something, and nothing it runs.
            kept = _change(installed, Action.NONE, chosen, pin)
            if pin != installed.pin:
                kept = dataclasses.replace(kept, action=Action.PIN, subscriptions=0)
            return dataclasses.replace(kept, image=installed.image)
    elif chosen.version < before:
        if not allow_downgrade:
            raise errors.FailedPrecondition(
                f"extension '{installed.name}': {before} → {chosen.version} is a downgrade",
                field="version",
                hint="add --allow-downgrade to go back to an older version",
            )
        action = Action.DOWNGRADE
    else:
        action = Action.UPGRADE
    return _change(installed, action, chosen, pin)


def _change(installed: Installed, action: Action, chosen: Image, pin: int | None) -> Change:
    return Change(
        installed.name,
        action,
        installed.version,
        chosen.version,
        chosen.reference,
        pin,
        installed.subscriptions,
    )


def available(installed: Installed, images: Sequence[Image]) -> list[Image]:
    """Return the images newer than ``installed`` (within its pin), newest first."""
    return sorted(
        (
            image
            for image in images
            if image.version > installed.version
            and (installed.pin is None or image.version.major == installed.pin)
            and image.version.prerelease is None
        ),
        key=lambda image: image.version,
        reverse=True,
    )


def update_all(
    installed: Sequence[Installed],
    images: Mapping[str, Sequence[Image]],
    *,
    allow_downgrade: bool = False,
    force_same_version: bool = False,
) -> Plan:
    """Return the plan of updating every extension of ``installed`` to its newest version
    (within its pin), from ``images`` by extension name; one refused change refuses the plan."""
    return Plan(
        [
            update(
                extension,
                images.get(extension.name, ()),
                Request(),
                allow_downgrade=allow_downgrade,
                force_same_version=force_same_version,
            )
            for extension in sorted(installed, key=lambda e: e.name)
        ]
    )
