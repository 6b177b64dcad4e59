"""The settings tree: defaults < ``hostler.toml`` (or ``--config``) < ``HOSTLER_*`` variables.

The tree is plain pydantic models; ``load`` merges the three sources itself so that an unknown key
is an error wherever it comes from (a file or a mistyped variable). Nested keys use ``__`` in
variable names (``HOSTLER_SERVER__PORT=9000``).
Settings are loaded once, in bootstrap, and passed down frozen; nothing below reads the environment.
"""

from __future__ import annotations

import base64
import json
import pathlib
import re
import tomllib
from typing import Annotated, Any, Literal

import pydantic
import pydantic_core

from hostler.core import durations, errors


def _default_data_dir() -> pathlib.Path:
    return pathlib.Path.home() / ".local" / "share" / "hostler"


class _Section(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Server(_Section):
    """The HTTP API server."""

    host: str = pydantic.Field("127.0.0.1", description="Address to listen on.")
    port: int = pydantic.Field(8080, ge=1, le=65535, description="Port to listen on.")
    max_body_bytes: int = pydantic.Field(
        1024 * 1024, ge=1024, description="Largest request body accepted by most routes."
    )
    max_pipeline_bytes: int = pydantic.Field(
        256 * 1024, ge=1024, description="Largest pipeline configuration accepted."
    )
    max_event_bytes: int = pydantic.Field(
        1024 * 1024,
        ge=1024,
        description="Largest webhook payload accepted for an extension (413 beyond).",
    )
    task_url: str | None = pydantic.Field(
        None,
        description="The URL tasks reach this server at, given to a task with inject_api_token "
        "as HOSTLER_URL. Default: http://host.docker.internal:PORT for the Docker scheduler "
        "(the server must then listen on an address containers reach, such as 0.0.0.0 or the "
        "docker0 bridge's), http://127.0.0.1:PORT for the local one.",
    )


class Storage(_Section):
    """Where Hostler's state is kept."""

    url: str | None = pydantic.Field(
        None, description="SQLAlchemy database URL; default: SQLite file hostler.db in data_dir."
    )


class Scheduler(_Section):
    """Where task containers run. Each backend reads its own sub-section ([scheduler.docker])."""

    model_config = pydantic.ConfigDict(extra="allow", frozen=True)

    backend: str = pydantic.Field("docker", description="Scheduler plug-in: docker or local.")

    def section(self, name: str) -> dict[str, Any]:
        """Return the raw settings of backend ``name`` (validated by the backend's Config)."""
        extra = self.model_extra or {}
        value = extra.get(name, {})
        if not isinstance(value, dict):
            raise errors.InvalidArgument(
                f"config: [scheduler.{name}] must be a table", field=f"scheduler.{name}"
            )
        return value


class Engine(_Section):
    """The run shepherd."""

    max_running_tasks: int = pydantic.Field(
        16, ge=1, description="Task executions starting or running at once, across all runs."
    )
    stop_grace: float = pydantic.Field(
        10.0, gt=0, description="Seconds between SIGTERM and SIGKILL when a task is stopped."
    )
    poll_interval: float = pydantic.Field(
        1.0, gt=0, description="Seconds between engine passes when nothing wakes it sooner."
    )
    remove_containers: bool = pydantic.Field(
        True, description="Remove a task's container once its log and exit code are stored."
    )
    lease: float = pydantic.Field(
        15.0,
        ge=3,
        description="Seconds a task's claim holds unless renewed; a dead server's tasks are "
        "adopted by another after this long.",
    )
    orphans: Literal["remove", "keep"] = pydantic.Field(
        "remove",
        description="What to do with containers of this installation that belong to no task "
        "execution, found at start-up; they are reported either way.",
    )


class Logging(_Section):
    """Hostler's own logs (task output is kept apart, per task)."""

    level: Literal["debug", "info", "warning", "error"] = pydantic.Field(
        "info", description="Lowest level written."
    )
    format: Literal["auto", "json", "console"] = pydantic.Field(
        "auto", description="json for machines, console for people; auto picks by terminal."
    )


_FOREVER = frozenset({"", "0", "none", "forever"})


def _duration_or_forever(value: object) -> float | None:
    """Return the seconds of a duration such as ``30d``; None for 0, ``none`` or ``forever``."""
    if value is None or (isinstance(value, str) and value.strip().lower() in _FOREVER):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return None
    return durations.parse(value)


DurationOrForever = Annotated[float | None, pydantic.BeforeValidator(_duration_or_forever)]
"""Seconds, written as a duration (``30d``, ``12h``); 0 or ``none`` is None: no limit."""


class Events(_Section):
    """The event log: the append-only record of every change."""

    retention: DurationOrForever = pydantic.Field(
        30 * 86400.0,
        description="How long events are kept, such as '30d' or '12h'; 0 or 'none' keeps them "
        "forever.",
    )


class Logs(_Section):
    """Task logs, as the engine stores them."""

    keep_runs: int = pydantic.Field(
        0,
        ge=0,
        description="Keep the task logs of this many newest runs of each pipeline and delete "
        "older runs' logs (the runs themselves stay); 0 keeps every log.",
    )


def _split(value: object) -> object:
    """Return a list from text with items between commas (an environment variable's value)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Objects(_Section):
    """Objects: files pipelines keep, and files the tasks of a run hand each other."""

    max_pipeline_object_bytes: int = pydantic.Field(
        1024**3, ge=1024, description="Largest pipeline object accepted by an upload."
    )
    max_run_object_bytes: int = pydantic.Field(
        1024**3, ge=1024, description="Largest run object accepted by an upload."
    )
    keep_pipeline_objects: int = pydantic.Field(
        100,
        ge=1,
        description="Most objects a pipeline keeps; storing one more evicts the oldest, with an "
        "object.evicted event.",
    )
    keep_runs: int = pydantic.Field(
        10,
        ge=1,
        description="A run's objects expire once this many newer runs of its pipeline exist.",
    )


class Extensions(_Section):
    """Extensions: the programs that start runs (schedules, webhooks...) and send notifications."""

    disabled: Annotated[list[str], pydantic.BeforeValidator(_split)] = pydantic.Field(
        default_factory=list,
        description="Installed extensions not to run, such as 'cron'. In a variable, separated "
        "by commas.",
    )
    config: dict[str, dict[str, str | int | float | bool]] = pydantic.Field(
        default_factory=dict,
        repr=False,  # holds tokens and passwords
        description="Each extension's admin configuration, by extension: a table "
        "[extensions.config.github] with token = '...' reaches the github extension as "
        "HOSTLER_EXTENSION_CONFIG_TOKEN. In a variable: HOSTLER_EXTENSIONS__CONFIG__GITHUB__TOKEN.",
    )

    def config_of(self, name: str) -> dict[str, str]:
        """Return extension ``name``'s configuration as the text of its variables."""
        values = self.config.get(name, {})
        return {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in values.items()
        }


_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]{43}=?")


def _key(value: str) -> str:
    """Return ``value`` if it writes a key as ``hostler.crypto.aesgcm.parse_key`` reads it.

    The same rule, kept here because the settings are read by layers that must not import an
    adapter (the API among them); a test holds the two to each other.
    """
    text = value.strip()
    if _KEY_TEXT.fullmatch(text):
        written = text.rstrip("=")
        key = base64.urlsafe_b64decode(written + "=")
        # Only the canonical text: the spare bits of the last character must be zero.
        if base64.urlsafe_b64encode(key).decode().rstrip("=") == written:
            return text
    # The message never repeats the value, which may be a real key mistyped.
    raise pydantic_core.PydanticCustomError(
        "key", "is not a key: give URL-safe base64 of 32 random bytes"
    )


Key = Annotated[str, pydantic.AfterValidator(_key)]
"""A key of the secrets cipher, written as URL-safe base64 of 32 bytes, padded or not."""


class Secrets(_Section):
    """Encryption of secrets at rest. Keep the keys out of files others can read."""

    key: Key | None = pydantic.Field(
        None,
        repr=False,
        description="The key secrets are encrypted with: URL-safe base64 of 32 random bytes. "
        "Without it, secrets cannot be set or used, except in dev mode, where the server keeps "
        "a generated key in data_dir/secret-key.",
    )
    previous_keys: Annotated[list[Key], pydantic.BeforeValidator(_split)] = pydantic.Field(
        default_factory=list,
        repr=False,
        description="Keys secrets were encrypted with before 'key': they still decrypt. In a "
        "variable, separated by commas.",
    )


class Settings(_Section):
    """Every setting of a Hostler server."""

    data_dir: pathlib.Path = pydantic.Field(
        default_factory=_default_data_dir,
        description="Where the database, task logs and the object store live.",
    )
    dev: bool = pydantic.Field(
        False, description="Development mode: local use only; authentication is off."
    )
    server: Server = Server()
    storage: Storage = Storage()
    scheduler: Scheduler = Scheduler()
    engine: Engine = Engine()
    logging: Logging = Logging()
    events: Events = Events()
    logs: Logs = Logs()
    secrets: Secrets = Secrets()
    objects: Objects = Objects()
    extensions: Extensions = Extensions()

    @property
    def database_url(self) -> str:
        """The database URL in force."""
        return self.storage.url or f"sqlite:///{self.data_dir / 'hostler.db'}"

    @property
    def logs_dir(self) -> pathlib.Path:
        """Where task logs are written."""
        return self.data_dir / "logs"

    @property
    def objects_dir(self) -> pathlib.Path:
        """Where the object store keeps its content-addressed blobs (ended task logs among them)."""
        return self.data_dir / "objects"


_ENV_NOT_SETTINGS = {
    "HOSTLER_URL",
    "HOSTLER_TOKEN",
    "HOSTLER_CONTEXT",
    "HOSTLER_NAMESPACE",
    "HOSTLER_OBJECTS",
}


def load(
    path: pathlib.Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Load settings from ``path`` (a TOML file), ``environ`` and ``overrides``, in rising order."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise errors.InvalidArgument(
                f"config file '{path}': not found", field="config", hint="check the path"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise errors.InvalidArgument(
                f"config file '{path}': not valid TOML ({exc})", field="config"
            ) from None
    env = _environment_values(environ or {})
    merged = _merge(_merge(data, env), overrides or {})
    try:
        return Settings.model_validate(merged)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        what = "is not a known setting" if first["type"] == "extra_forbidden" else first["msg"]
        raise errors.InvalidArgument(
            f"config: '{field}' {what}",
            field=field,
            hint="'hostler config default' prints every setting with its documentation",
        ) from None


def _environment_values(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("HOSTLER_") or name in _ENV_NOT_SETTINGS:
            continue
        parts = name[len("HOSTLER_") :].lower().split("__")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def default_file() -> str:
    """Return a documented TOML file holding every setting at its default."""
    lines = [
        "# Hostler configuration. Every setting is shown at its default.",
        "# Environment variables override this file: HOSTLER_<SECTION>__<KEY>, e.g.",
        "# HOSTLER_SERVER__PORT=9000. Unknown keys are errors.",
        "",
    ]
    top = Settings.model_fields
    for name, field in top.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, pydantic.BaseModel):
            continue
        lines += _setting(name, field, Settings.model_construct())
    for name, field in top.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)):
            continue
        lines += ["", f"[{name}]"]
        if model.__doc__:
            lines.append(f"# {model.__doc__.strip()}")
        instance = model()
        for sub, subfield in model.model_fields.items():
            lines += _setting(sub, subfield, instance)
        if model is Scheduler:
            lines += [
                "",
                "[scheduler.docker]",
                "# The Docker engine: DOCKER_HOST or the default socket (Podman's works too).",
                '# host = "unix:///var/run/docker.sock"',
                '# pull = "if-missing"   # if-missing | always | never',
                "",
                "[scheduler.local]",
                "# Host processes, NO isolation: for development and engine tests only.",
                '# work_dir = "/tmp/hostler-local"',
            ]
    return "\n".join(lines) + "\n"


def _setting(name: str, field: Any, instance: pydantic.BaseModel) -> list[str]:
    value = getattr(instance, name)
    out = [f"# {field.description}"] if field.description else []
    if value is None:
        out.append(f"# {name} =")
    elif isinstance(value, bool):
        out.append(f"{name} = {'true' if value else 'false'}")
    elif any(getattr(m, "func", None) is _duration_or_forever for m in field.metadata):
        out.append(f'{name} = "{durations.format(value)}"')
    elif isinstance(value, int | float):
        out.append(f"{name} = {value}")
    elif isinstance(value, list):
        out.append(f"{name} = {json.dumps(value)}")
    elif isinstance(value, dict) and not value:
        out.append(f"{name} = {{}}")
    else:
        out.append(f'{name} = "{value}"')
    return out
