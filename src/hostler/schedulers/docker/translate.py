"""The Docker edge: SDK errors into Hostler's error categories, inspect data into statuses.

Nothing above this package sees a ``docker.errors`` or ``requests`` exception: every call into the
SDK runs inside ``translated``.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterator, Mapping
from typing import Any

import docker.errors
import requests.exceptions
import urllib3.exceptions

from hostler.core import errors, ports

_ENGINE_HINT = "check that the Docker engine runs and that its socket (DOCKER_HOST) is reachable"

_STATES = {
    "created": ports.ContainerState.CREATED,
    "running": ports.ContainerState.RUNNING,
    "paused": ports.ContainerState.RUNNING,
    "restarting": ports.ContainerState.RUNNING,
    "removing": ports.ContainerState.EXITED,
    "exited": ports.ContainerState.EXITED,
    "dead": ports.ContainerState.EXITED,
}

# Docker writes RFC 3339 with nanoseconds; datetime keeps microseconds, so the rest is cut off.
_TIME = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


@contextlib.contextmanager
def translated(
    subject: str, *, conflict: type[errors.HostlerError] = errors.Conflict
) -> Iterator[None]:
    """Run a block of SDK calls, raising Hostler errors about ``subject`` instead of Docker's.

    ``conflict`` is the category for HTTP 409 (a name in use on create, a removal in progress).
    """
    try:
        yield
    except docker.errors.NotFound as exc:
        raise errors.NotFound(f"{subject}: not found ({explain(exc)})") from exc
    except docker.errors.APIError as exc:
        raise _from_api_error(subject, exc, conflict) from exc
    except (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        urllib3.exceptions.HTTPError,  # a streamed response broken off midway
    ) as exc:
        raise errors.Unavailable(
            f"{subject}: the Docker engine cannot be reached ({exc})", hint=_ENGINE_HINT
        ) from exc
    except docker.errors.InvalidArgument as exc:
        raise errors.InvalidArgument(f"{subject}: {exc}") from exc
    except docker.errors.DockerException as exc:
        # from_env() and friends raise the bare base class when the engine does not answer.
        raise errors.Unavailable(f"{subject}: {exc}", hint=_ENGINE_HINT) from exc


def _from_api_error(
    subject: str, exc: docker.errors.APIError, conflict: type[errors.HostlerError]
) -> errors.HostlerError:
    code = exc.status_code or 500
    message = f"{subject}: {explain(exc)}"
    if code == 409:
        return conflict(message)
    if 400 <= code < 500:
        return errors.InvalidArgument(message)
    return errors.Unavailable(message, hint="see the Docker engine's log for the cause")


def explain(exc: docker.errors.APIError) -> str:
    """Return the engine's own words for an API error."""
    return str(exc.explanation or exc)


def parse_time(value: str | bytes | None) -> datetime.datetime | None:
    """Return the aware datetime of a Docker timestamp, or None for none or Docker's zero time."""
    if not value:
        return None
    raw = value.encode() if isinstance(value, str) else value
    match = _TIME.match(raw)
    if match is None:
        return None
    whole, fraction, zone = (part.decode() if part else "" for part in match.groups())
    micros = (fraction + "000000")[:6]
    zone = "+00:00" if zone == "Z" else zone
    parsed = datetime.datetime.fromisoformat(f"{whole}.{micros}{zone}")
    return None if parsed.year <= 1 else parsed


def state(attrs: Mapping[str, Any]) -> ports.ContainerState:
    """Return the port's state for a container's inspect data."""
    status = str(attrs.get("State", {}).get("Status", "exited"))
    return _STATES.get(status, ports.ContainerState.EXITED)


def status(attrs: Mapping[str, Any], image_digest: str | None) -> ports.ContainerStatus:
    """Return the port's status for a container's inspect data (``docker inspect``)."""
    current = state(attrs)
    raw_state: Mapping[str, Any] = attrs.get("State", {})
    labels: Mapping[str, str] = (attrs.get("Config") or {}).get("Labels") or {}
    exited = current is ports.ContainerState.EXITED
    return ports.ContainerStatus(
        handle=str(attrs["Id"]),
        state=current,
        labels=dict(labels),
        exit_code=int(raw_state.get("ExitCode", 0)) if exited else None,
        image_digest=image_digest,
        started=parse_time(raw_state.get("StartedAt")),
        finished=parse_time(raw_state.get("FinishedAt")) if exited else None,
        oom_killed=bool(raw_state.get("OOMKilled", False)),
    )


def missing(handle: str) -> ports.ContainerStatus:
    """Return the status of a container that no longer exists."""
    return ports.ContainerStatus(handle=handle, state=ports.ContainerState.MISSING)
