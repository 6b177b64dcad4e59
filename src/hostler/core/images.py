"""Extensions shipped as container images: the labels that make an image one, and what Hostler
keeps of one installed.

An image is an extension image when it carries two labels:

- ``dev.hostler.extension.name``: the extension's name, lower-case letters, digits and dashes
  (``slack``, ``cron-plus``), at most 63 characters;
- ``dev.hostler.extension.version``: its semantic version (``1.3.0``, ``2.0.0-rc.1``).

An image without them, or whose name or version is malformed, is not an extension image: the
engine's other images are never offered. Built, for instance, from a Dockerfile with::

    LABEL dev.hostler.extension.name=slack dev.hostler.extension.version=1.3.0

Which version an install or update goes to, and the plan that says so, is ``core.updates``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import re
from collections.abc import Mapping

import semver

from hostler.core import errors, updates

NAME_LABEL = "dev.hostler.extension.name"
"""The label that gives an extension image's name."""
VERSION_LABEL = "dev.hostler.extension.version"
"""The label that gives an extension image's semantic version."""

MAX_NAME = 63
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_CONFIG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_CONFIG_KEYS = 100
MAX_CONFIG_VALUE = 64 * 1024
"""The longest configuration value, in characters."""


def is_name(text: str) -> bool:
    """Tell whether ``text`` is a valid extension name (see the module's docstring)."""
    return isinstance(text, str) and len(text) <= MAX_NAME and bool(_NAME.fullmatch(text))


def check_name(text: str, *, field: str = "name") -> str:
    """Return ``text`` if it is a valid extension name; raise InvalidArgument naming ``field``."""
    if not is_name(text):
        raise errors.InvalidArgument(
            f"extension '{text}': not a valid extension name",
            field=field,
            hint=f"use at most {MAX_NAME} lower-case letters, digits and dashes, such as "
            "'slack' or 'cron-plus'",
        )
    return text


def check_config(config: Mapping[str, str], *, field: str = "config") -> dict[str, str]:
    """Return ``config`` (values of ``HOSTLER_EXTENSION_CONFIG_*`` by key without the prefix) if
    every key is a variable name and every value text of at most 64 KiB; raise InvalidArgument
    naming the faulty ``field.KEY`` otherwise. Keys are kept as given; the extension gets them
    upper-cased."""
    if len(config) > MAX_CONFIG_KEYS:
        raise errors.InvalidArgument(
            f"config: {len(config)} keys, more than {MAX_CONFIG_KEYS}",
            field=field,
            hint="give fewer keys",
        )
    upper: dict[str, str] = {}
    for key, value in config.items():
        if not isinstance(key, str) or not _CONFIG_KEY.fullmatch(key):
            raise errors.InvalidArgument(
                f"config key '{key}': not a valid key",
                field=field,
                hint="use letters, digits and '_', starting with a letter, such as TOKEN "
                "(the extension reads it as HOSTLER_EXTENSION_CONFIG_TOKEN)",
            )
        if key.upper() in upper:
            raise errors.InvalidArgument(
                f"config key '{key}': given twice (as '{upper[key.upper()]}' too)",
                field=f"{field}.{key}",
                hint="keys are upper-cased for the extension: give each once",
            )
        upper[key.upper()] = key
        if not isinstance(value, str) or len(value) > MAX_CONFIG_VALUE:
            raise errors.InvalidArgument(
                f"config key '{key}': its value is not text of at most "
                f"{MAX_CONFIG_VALUE} characters",
                field=f"{field}.{key}",
            )
    return dict(config)


SEALED = "sealed:v1:"
"""The start of a configuration value as the store keeps it: encrypted, ``sealed:v1:KEY:DATA``
(the name of the key it is encrypted under, and the ciphertext in URL-safe base64)."""


def seal(key: str, ciphertext: bytes) -> str:
    """Return ``ciphertext``, made under the key named ``key``, as the store keeps it."""
    return f"{SEALED}{key}:{base64.urlsafe_b64encode(ciphertext).decode()}"


def unseal(text: str) -> tuple[str, bytes] | None:
    """Return the key name and ciphertext of a value ``seal`` made; None for any other text
    (a value kept before values were sealed)."""
    if not text.startswith(SEALED):
        return None
    key, sep, data = text.removeprefix(SEALED).rpartition(":")
    if not sep:
        return None
    try:
        return key, base64.urlsafe_b64decode(data)
    except ValueError:
        return None


def config_context(name: str, key: str) -> bytes:
    """Return what the value of config ``key`` of extension ``name`` is bound to when sealed: it
    decrypts in its own place only."""
    return f"extension-config/{name}/{key}".encode()


@dataclasses.dataclass(frozen=True)
class Found:
    """An extension image on the engine: a reference to it (a tag, else its id), its id, and
    the name and version its labels give. Immutable."""

    reference: str
    id: str
    name: str
    version: semver.Version

    def image(self) -> updates.Image:
        """Return the image as ``core.updates`` chooses among them."""
        return updates.Image(self.reference, self.version)


def read(reference: str, image_id: str, labels: Mapping[str, str]) -> Found | None:
    """Return the extension image its ``labels`` describe; None when they do not make it one
    (a label missing, a malformed name or version)."""
    name = labels.get(NAME_LABEL)
    version = labels.get(VERSION_LABEL)
    if name is None or version is None or not is_name(name):
        return None
    try:
        parsed = semver.Version.parse(version)
    except (ValueError, TypeError):
        return None
    return Found(reference, image_id, name, parsed)


def explain(reference: str, labels: Mapping[str, str]) -> str:
    """Return why the image ``reference`` with ``labels`` is not an extension image, for an
    error message."""
    name = labels.get(NAME_LABEL)
    version = labels.get(VERSION_LABEL)
    if name is None:
        return f"image '{reference}': not an extension image (no label {NAME_LABEL})"
    if not is_name(name):
        return f"image '{reference}': not an extension image (its name '{name}' is malformed)"
    if version is None:
        return f"image '{reference}': not an extension image (no label {VERSION_LABEL})"
    return (
        f"image '{reference}': not an extension image "
        f"(its version '{version}' is not a semantic version)"
    )


def repository(reference: str) -> str:
    """Return the repository of an image ``reference``: ``registry:5000/ext/slack`` of
    ``registry:5000/ext/slack:1.3.0``; the reference itself when it has no tag."""
    name, _, digest = reference.partition("@")
    if digest:
        return name
    head, sep, tag = name.rpartition(":")
    return head if sep and "/" not in tag else name


@dataclasses.dataclass(frozen=True)
class Installed:
    """An extension installed from an image. Immutable; an update replaces it whole.

    ``config`` holds the values of its ``HOSTLER_EXTENSION_CONFIG_*`` variables given at install
    (by key without the prefix). They may be secrets (a token): they are kept sealed (``seal``),
    and the API never returns them, only their keys.
    """

    name: str
    """Required; never changes. Equals the image's name label."""
    image: str
    """The reference it was installed from (a tag such as ``hostler-ext-slack:1.3.0``)."""
    image_id: str
    """The id of that image when it was installed (``sha256:...``)."""
    version: semver.Version
    pin: int | None
    """The major version updates stay within; None: any."""
    config: Mapping[str, str]
    installed: datetime.datetime
    """When this version was installed."""
    installed_by: str

    def for_update(self, subscriptions: int) -> updates.Installed:
        """Return the extension as ``core.updates`` plans its update, holding ``subscriptions``."""
        return updates.Installed(self.name, self.image, self.version, self.pin, subscriptions)

    def describe(self) -> str:
        """Return the extension for people: ``slack 1.3.0 (hostler-ext-slack:1.3.0)``."""
        pinned = f", pinned to {self.pin}.x" if self.pin is not None else ""
        return f"{self.name} {self.version} ({self.image}{pinned})"
