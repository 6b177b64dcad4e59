"""CLI contexts: named servers and their tokens, kept in a file, and which one a command uses.

The file is ``$XDG_CONFIG_HOME/hostler/contexts.json`` (``~/.config/hostler/contexts.json`` by
default)::

    {"current": "prod", "contexts": {"prod": {"url": "https://...", "token": "hst_..."}}}

It holds secrets, so it is written readable by its owner only (0600, in a 0700 directory), and
atomically: a new file replaces the old one, and a crash leaves either of them whole.

A command talks to ``HOSTLER_URL`` with ``HOSTLER_TOKEN`` when they are set (each on its own; an
empty variable counts as unset), else to the context ``HOSTLER_CONTEXT`` names, else to the
current context, else to ``http://127.0.0.1:8080`` without a token. A context's token goes only to
that context's server: with ``HOSTLER_URL`` naming another one, no context applies.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import tempfile
import urllib.parse
from collections.abc import Mapping
from typing import Any

from hostler.core import errors, identifiers
from hostler.sdk import client as sdk

FILE_NAME = "contexts.json"
_TOKEN = re.compile(r"^hst_([0-9a-f]{12})_")
_LIST_HINT = "'hostler context list' shows the contexts"


@dataclasses.dataclass(frozen=True)
class Context:
    """A server to talk to, and the token to send it (None: none)."""

    url: str
    token: str | None = None


@dataclasses.dataclass
class Contexts:
    """The contexts by name, and the name of the current one (None: none is)."""

    contexts: dict[str, Context] = dataclasses.field(default_factory=dict)
    current: str | None = None

    def get(self, name: str, *, source: str = "") -> Context:
        """Return the context ``name``; NotFound if there is none (``source`` says who named it)."""
        found = self.contexts.get(name)
        if found is None:
            hint = _LIST_HINT
            if source:
                hint += f"; unset {source} to use the current one"
            else:
                hint += "; 'hostler context add' adds one"
            where = f" (from {source})" if source else ""
            raise errors.NotFound(f"context '{name}': not found{where}", hint=hint)
        return found


@dataclasses.dataclass(frozen=True)
class Resolved:
    """What a command talks to: the server's URL, the token (None: none), and the context used."""

    url: str
    token: str | None
    context: str | None


def directory(env: Mapping[str, str]) -> pathlib.Path:
    """Return the directory of the contexts file: ``$XDG_CONFIG_HOME/hostler``.

    As the XDG specification says, a relative ``XDG_CONFIG_HOME`` is ignored.
    """
    base = env.get("XDG_CONFIG_HOME", "")
    root = pathlib.Path(base) if base and os.path.isabs(base) else pathlib.Path.home() / ".config"
    return root / "hostler"


def path(env: Mapping[str, str]) -> pathlib.Path:
    """Return the path of the contexts file."""
    return directory(env) / FILE_NAME


def mask(token: str | None) -> str:
    """Return a token without its secret, ``hst_<id>_…``; ``-`` for none."""
    if not token:
        return "-"
    found = _TOKEN.match(token)
    return f"hst_{found.group(1)}_…" if found else "…"


def check_name(name: str) -> str:
    """Return ``name`` if it may name a context, else raise InvalidArgument."""
    return identifiers.check(name, what="context", field="name")


def check_url(url: str, *, name: str) -> str:
    """Return the http(s) ``url`` without a trailing slash, else raise InvalidArgument."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise errors.InvalidArgument(
            f"context '{name}': URL '{url}' is not an http(s) URL",
            field="url",
            hint="give the server's address, e.g. https://hostler.example.com or "
            "http://127.0.0.1:8080",
        )
    return url.strip().rstrip("/")


def load(file: pathlib.Path) -> Contexts:
    """Return the contexts kept in ``file``; none if it does not exist.

    InvalidArgument, naming the file, when it cannot be read or is not a contexts file.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Contexts()
    except UnicodeDecodeError:
        raise _corrupt(file, "not UTF-8 text") from None
    except OSError as exc:
        raise _corrupt(
            file, f"cannot be read ({_reason(exc)})", hint="check the file's permissions"
        ) from None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise _corrupt(file, f"not valid JSON ({exc})") from None
    return _parse(file, raw)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _parse(file: pathlib.Path, raw: Any) -> Contexts:
    if not isinstance(raw, dict) or not isinstance(raw.get("contexts", {}), dict):
        raise _corrupt(file, "not a contexts file (expected an object with 'contexts')")
    found: dict[str, Context] = {}
    for name, entry in raw.get("contexts", {}).items():
        url = entry.get("url") if isinstance(entry, dict) else None
        token = entry.get("token") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not isinstance(token, str | None):
            raise _corrupt(file, f"context '{name}' needs a 'url' and at most a 'token' (text)")
        found[name] = Context(url, token or None)
    current = raw.get("current")
    if current is not None and current not in found:
        raise _corrupt(file, f"the current context '{current}' is not one of its contexts")
    return Contexts(found, current)


def _corrupt(file: pathlib.Path, reason: str, *, hint: str | None = None) -> errors.HostlerError:
    return errors.InvalidArgument(
        f"contexts file '{file}': {reason}",
        hint=hint or "fix it, or remove it and add the contexts again with 'hostler context add'",
    )


def save(file: pathlib.Path, contexts: Contexts) -> None:
    """Write ``contexts`` to ``file`` atomically, readable by its owner only.

    The directory is made (or set) 0700 and the file 0600: they hold tokens.
    """
    raw = {
        "current": contexts.current,
        "contexts": {
            name: {"url": found.url, "token": found.token}
            for name, found in sorted(contexts.contexts.items())
        },
    }
    folder = file.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
        # mkstemp makes the file 0600; it replaces the old one only once it is whole on disk.
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{file.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(raw, out, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, file)
        except BaseException:
            pathlib.Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise errors.FailedPrecondition(
            f"contexts file '{file}': cannot be written ({_reason(exc)})",
            hint="check the permissions of its directory",
        ) from None


def resolve(env: Mapping[str, str]) -> Resolved:
    """Return what a command talks to, by the rules of this module's docstring.

    The contexts file is read only when the environment leaves something to it.
    """
    url = env.get("HOSTLER_URL") or None
    token = env.get("HOSTLER_TOKEN") or None
    chosen = env.get("HOSTLER_CONTEXT") or None
    if url is not None and token is not None and chosen is None:
        return Resolved(url, token, None)
    contexts = load(path(env))
    name = chosen or contexts.current
    if name is None:
        return Resolved(url or sdk.DEFAULT_URL, token, None)
    found = contexts.get(name, source="HOSTLER_CONTEXT" if chosen else "")
    if url is not None and url.rstrip("/") != found.url.rstrip("/"):
        # Another server than the context's: its token is never sent there.
        return Resolved(url, token, None)
    return Resolved(url or found.url, token or found.token, name)
