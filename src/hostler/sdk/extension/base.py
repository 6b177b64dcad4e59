"""The ``Extension`` class an extension subclasses, and what its methods receive.

A subclass names itself (``name``, ``version``, ``kind``, ``description``), declares the settings
of one subscription as a pydantic model (the type argument, ``Extension[Settings]``) and,
optionally, its admin configuration as another (``Config``, read from
``HOSTLER_EXTENSION_CONFIG_<FIELD>``), and overrides the hooks it needs: ``describe``,
``subscribe``, ``unsubscribe``, ``removed``, ``external_event``, ``health``, ``on_shutdown``.
The SDK does the rest: it validates requests and settings, keeps the subscriptions, makes
re-subscribing with the same settings change nothing, cancels a subscription's timers when it
ends, and turns the errors of ``hostler.core.errors`` into answers.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import threading
import typing
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import pydantic

from hostler.core import errors
from hostler.sdk import client
from hostler.sdk.extension import contract, problems, server, timers


class NoSettings(pydantic.BaseModel):
    """The settings of an extension that takes none: an empty object."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")


class NoConfig(pydantic.BaseModel):
    """The configuration of an extension that reads no ``HOSTLER_EXTENSION_CONFIG_*``."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")


S = TypeVar("S", bound=pydantic.BaseModel)

_RULES = {
    "name": "is not lower-case letters, digits and dashes starting with a letter",
    "version": "is not a semantic version such as '1.0.0'",
    "kind": "is neither 'trigger' nor 'notifier'",
}
"""What a wrong class attribute breaks, by attribute."""


@dataclasses.dataclass(frozen=True)
class Subscription(Generic[S]):
    """One pipeline's subscription to the extension; ``settings`` are validated. Immutable:
    changed settings arrive as a new subscription of the same ``id``."""

    id: str
    namespace: str
    pipeline: str
    settings: S

    def __str__(self) -> str:
        return f"subscription '{self.id}' of pipeline '{self.namespace}/{self.pipeline}'"


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a subscription does, for people: ``description`` (``every 30s``) and, when the
    extension knows them, the times of its next runs (timezone-aware)."""

    description: str
    next_fires: Sequence[datetime.datetime] = ()


@dataclasses.dataclass(frozen=True)
class Event(Generic[S]):
    """A request Hostler received for the extension (a webhook) and forwarded to it.

    ``subscription`` is the subscription it was sent to, or None when it was sent to the
    extension's own route. ``headers`` has lower-case names; ``body`` is the raw body.
    """

    subscription: Subscription[S] | None
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return the header ``name`` (any case), or None when the request had none."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """Return the body decoded as JSON; raise InvalidArgument (a 422 answer) if it is not."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise errors.InvalidArgument(
                f"request body: not JSON ({exc})",
                hint="send a JSON body with 'Content-Type: application/json'",
            ) from None


def _env_error(exc: pydantic.ValidationError, prefix: str, hint: str) -> errors.InvalidArgument:
    found = exc.errors()
    first = found[0]
    variable = prefix + str(first["loc"][0]).upper() if first["loc"] else prefix + "*"
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return errors.InvalidArgument(
        f"environment variable '{variable}': {problems.what(first)}{more}",
        field=variable,
        hint=hint,
    )


def _values(
    model: type[pydantic.BaseModel], prefix: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """Return the fields of ``model`` set in ``environ`` as ``<prefix><FIELD>``."""
    return {
        name: environ[prefix + name.upper()]
        for name in model.model_fields
        if prefix + name.upper() in environ
    }


def read_system(environ: Mapping[str, str]) -> contract.System:
    """Return what Hostler set in ``HOSTLER_EXTENSION_SYSTEM_*``; raise InvalidArgument, naming
    the variable, when one is missing or wrong."""
    prefix = contract.SYSTEM_PREFIX
    try:
        return contract.System.model_validate(_values(contract.System, prefix, environ))
    except pydantic.ValidationError as exc:
        raise _env_error(
            exc, prefix, "Hostler sets it when it starts the extension; set it to run one by hand"
        ) from None


class Extension(Generic[S]):
    """An extension: subclass it, name it, and override the hooks it needs.

    ``api`` is a client of the Hostler API (``HOSTLER_EXTENSION_SYSTEM_URL`` and ``_TOKEN``),
    ``log`` the extension's logger, ``timers`` its ``Timers`` on ``clock`` (tests pass one they
    control), ``config`` its ``Config`` read from
    the environment. Hooks run on the request's thread, one subscription change at a time.
    """

    name: ClassVar[str]
    """The extension's name: lower-case letters, digits and dashes. Required."""
    version: ClassVar[str]
    """Its semantic version (``1.2.0``). Required."""
    kind: ClassVar[contract.Kind]
    """``trigger`` when it starts runs, ``notifier`` when it tells about them. Required."""
    description: ClassVar[str]
    """One sentence for people. Required."""
    Settings: ClassVar[type[pydantic.BaseModel]] = NoSettings
    """The model of one subscription's settings; taken from ``Extension[Settings]``."""
    Config: ClassVar[type[pydantic.BaseModel]] = NoConfig
    """The model of the admin's configuration; field ``dir`` is ``HOSTLER_EXTENSION_CONFIG_DIR``.
    A field's description is shown to the admin; a ``SecretStr`` field is never shown."""
    max_request_bytes: ClassVar[int] = 64 << 20
    """The largest request body the extension accepts (webhooks arrive base64-encoded)."""

    config: pydantic.BaseModel
    """The admin's configuration; narrow its type in the subclass (``config: Config``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Settings" in cls.__dict__:
            return
        # From ``Extension[Settings]``, or from a generic subclass of it (``Scheduled[Settings]``).
        for base in getattr(cls, "__orig_bases__", ()):
            args = typing.get_args(base)
            origin = typing.get_origin(base)
            generic = isinstance(origin, type) and issubclass(origin, Extension)
            if generic and args and isinstance(args[0], type):
                cls.Settings = args[0]
                return

    def __init__(
        self,
        system: contract.System,
        config: pydantic.BaseModel | None = None,
        *,
        api: client.Client | None = None,
        clock: timers.Clock = timers.now,
    ) -> None:
        self.system = system
        self.config = config if config is not None else self.read_config({})
        self.api = api or client.Client(system.url, system.token.get_secret_value())
        self.log = logging.getLogger(f"hostler.extension.{system.name or self.name}")
        self.timers = timers.Timers(clock=clock, log=self.log)
        self._subscriptions: dict[str, Subscription[S]] = {}
        self._changing = threading.Lock()
        self._arrived: set[str] = set()  # subscription ids subscribed since the process started

    # -- what the extension is ---------------------------------------------------------------

    @classmethod
    def info(cls) -> contract.Info:
        """Return what the extension is (``GET /api/info``); raise InvalidArgument when the
        class names itself wrongly (a version that is not semver, say)."""
        config = [
            contract.ConfigVariable(
                name=contract.CONFIG_PREFIX + name.upper(),
                description=field.description or "",
                required=field.is_required(),
                secret=field.annotation is pydantic.SecretStr,
            )
            for name, field in cls.Config.model_fields.items()
        ]
        try:
            return contract.Info(
                name=getattr(cls, "name", ""),
                version=getattr(cls, "version", ""),
                kind=getattr(cls, "kind", ""),
                description=getattr(cls, "description", ""),
                settings_schema=cls.Settings.model_json_schema(),
                config=config,
            )
        except pydantic.ValidationError as exc:
            attribute = str(exc.errors()[0]["loc"][0])
            value = getattr(cls, attribute, None)
            what = (
                f"{value!r} {_RULES[attribute]}" if value and attribute in _RULES else "is required"
            )
            raise errors.InvalidArgument(
                f"extension class '{cls.__module__}.{cls.__qualname__}': attribute "
                f"'{attribute}': {what}",
                field=attribute,
                hint="set the class attributes name, version (semver), kind ('trigger' or "
                "'notifier') and description",
            ) from None

    @classmethod
    def read_config(cls, environ: Mapping[str, str]) -> pydantic.BaseModel:
        """Return ``Config`` read from ``HOSTLER_EXTENSION_CONFIG_*`` in ``environ``; raise
        InvalidArgument, naming the variable, when one is missing or wrong."""
        prefix = contract.CONFIG_PREFIX
        try:
            return cls.Config.model_validate(_values(cls.Config, prefix, environ))
        except pydantic.ValidationError as exc:
            raise _env_error(
                exc, prefix, f"the admin sets it when installing extension '{cls.name}'"
            ) from None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> typing.Self:
        """Return the extension configured by ``environ``, as Hostler starts it; raise
        InvalidArgument, naming the variable, when one is missing or wrong."""
        return cls(read_system(environ), cls.read_config(environ))

    @classmethod
    def main(cls) -> None:
        """Serve the extension as this process's entry point: a ``hostler.extensions`` entry
        point may name it (``every = "pkg.every:Every.main"``). Exits 2 when the environment is
        wrong, since starting again will not help until someone changes it."""
        server.main(cls)

    @property
    def subscriptions(self) -> dict[str, Subscription[S]]:
        """Return the subscriptions in force, by id (a copy)."""
        return dict(self._subscriptions)

    # -- hooks ---------------------------------------------------------------------------------

    def describe(self, sub: Subscription[S]) -> Summary:
        """Return what ``sub`` would do, for people. Changes nothing: it also answers dry runs.
        Raise InvalidArgument with ``field`` naming a setting to refuse the settings."""
        return Summary(self.description)

    def subscribe(self, sub: Subscription[S]) -> None:
        """Start serving ``sub`` (set its timers, say). A previous subscription of the same id
        was unsubscribed first; equal settings do not reach this. An error leaves no
        subscription of that id."""

    def unsubscribe(self, sub: Subscription[S]) -> None:
        """Stop serving ``sub``. Its timers (those keyed by ``sub.id``) are cancelled after."""

    def removed(self, sub: Subscription[S]) -> None:
        """Forget what is kept of ``sub`` across changes of its settings: Hostler removed it
        for good (``unsubscribe`` also ends a subscription whose settings change)."""

    def external_event(self, event: Event[S]) -> contract.Answer:
        """Answer a request Hostler received for the extension. A Hostler error raised here
        becomes the answer (``Unauthenticated`` a 401 for the sender, and so on)."""
        raise errors.NotFound(
            f"extension '{self.name}': takes no external events",
            hint="send events only to extensions that take them",
        )

    def health(self) -> bool:
        """Return whether the extension works; False makes ``GET /api/health`` answer 503."""
        return True

    def on_shutdown(self) -> None:
        """Release what the extension holds; runs once, after the last request and timer."""

    # -- helpers -------------------------------------------------------------------------------

    def first_arrival(self, sub: Subscription[S]) -> bool:
        """Tell whether ``sub``'s id arrives for the first time since the process started, as
        ``subscribe`` sees it: one that was subscribed before, even since removed or changed,
        is not new. A trigger catches up from Hostler's runs on a first arrival only."""
        return sub.id not in self._arrived

    def start_run(
        self, namespace: str, pipeline: str, variables: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Start a run of ``namespace/pipeline`` with ``variables``; return the run. Raises
        ``client.ApiError`` when Hostler refuses or cannot be reached."""
        run = self.api.start_run(namespace, pipeline, variables)
        where = {"namespace": namespace, "pipeline": pipeline, "run": run.get("id")}
        self.log.info("run started", extra=where)
        return run

    def start_run_or_log(
        self, sub: Subscription[S], variables: Mapping[str, str], where: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Start a run of ``sub``'s pipeline with ``variables`` and return it; when that fails,
        log why with ``where`` and return None, for a trigger whose schedule or following must
        go on whatever one run does."""
        try:
            return self.start_run(sub.namespace, sub.pipeline, variables)
        except client.ApiError as exc:
            self.log.error(
                "run not started", extra={**where, "status": exc.status, "detail": exc.detail}
            )
        except Exception:
            self.log.exception("run not started", extra=dict(where))
        return None

    # -- what the server calls -----------------------------------------------------------------

    def handle_subscribe(self, request: contract.Subscribe) -> contract.Subscribed:
        """Carry out ``POST /api/subscribe``."""
        sub = Subscription(
            request.subscription, request.namespace, request.pipeline, self._settings(request)
        )
        with self._changing:
            old = self._subscriptions.get(sub.id)
            result = "created" if old is None else "unchanged" if old == sub else "changed"
            summary = _in_settings(lambda: self.describe(sub))
            if not request.dry_run and result != "unchanged":
                if old is not None:
                    self._end(old)
                try:
                    _in_settings(lambda: self.subscribe(sub))
                except BaseException:
                    self.timers.cancel(sub.id)
                    raise
                self._subscriptions[sub.id] = sub
                self._arrived.add(sub.id)
                self.log.info("subscribed", extra={"subscription": sub.id, "result": result})
        return contract.Subscribed(
            subscription=sub.id,
            result=result,
            description=summary.description,
            next_fires=list(summary.next_fires),
        )

    def handle_unsubscribe(self, request: contract.Unsubscribe) -> contract.Unsubscribed:
        """Carry out ``POST /api/unsubscribe``."""
        with self._changing:
            old = self._subscriptions.get(request.subscription)
            if old is not None:
                self._end(old)
                self.removed(old)
                self.log.info("unsubscribed", extra={"subscription": old.id})
        return contract.Unsubscribed(
            subscription=request.subscription, result="unchanged" if old is None else "removed"
        )

    def handle_event(self, request: contract.ExternalEvent) -> contract.Answer:
        """Carry out ``POST /api/external-event``."""
        sub = None
        if request.subscription is not None:
            sub = self._subscriptions.get(request.subscription)
            if sub is None:
                found = problems.problem(
                    404,
                    "Not found",
                    f"subscription '{request.subscription}': not subscribed to extension "
                    f"'{self.name}'",
                    "not_found",
                    hint="the pipeline's trigger may have been removed",
                )
                return contract.Answer(status=404, body=found.model_dump(mode="json"))
        event = Event(
            sub, request.method, request.path, request.query, request.headers, request.body
        )
        try:
            return self.external_event(event)
        except errors.HostlerError as exc:
            refused = problems.of(exc)
            return contract.Answer(status=refused.status, body=refused.model_dump(mode="json"))

    def close(self) -> None:
        """Stop the timers, run ``on_shutdown`` and close the API client."""
        self.timers.close()
        try:
            self.on_shutdown()
        finally:
            self.api.close()

    def _settings(self, request: contract.Subscribe) -> S:
        try:
            # Settings is the class of S, as __init_subclass__ took it from Extension[S].
            return typing.cast(S, self.Settings.model_validate(request.settings))
        except pydantic.ValidationError as exc:
            found = exc.errors()
            first = found[0]
            setting = problems.field_path(first["loc"])
            known = ", ".join(self.Settings.model_fields) or "none"
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise errors.InvalidArgument(
                f"setting '{setting}' of subscription '{request.subscription}': "
                f"{problems.what(first)}{more}",
                field=f"settings.{setting}" if setting else "settings",
                hint=f"extension '{self.name}' takes the settings: {known}",
            ) from None

    def _end(self, sub: Subscription[S]) -> None:
        try:
            self.unsubscribe(sub)
        finally:
            self.timers.cancel(sub.id)
            self._subscriptions.pop(sub.id, None)


T = TypeVar("T")


def _in_settings(call: typing.Callable[[], T]) -> T:
    """Return ``call()``; an InvalidArgument it raises names its field under ``settings.``."""
    try:
        return call()
    except errors.InvalidArgument as exc:
        if exc.field and exc.field != "settings" and not exc.field.startswith("settings."):
            exc.field = f"settings.{exc.field}"
        raise
