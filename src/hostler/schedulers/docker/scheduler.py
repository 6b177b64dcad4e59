"""The Docker scheduler: task containers on a Docker engine (or Podman's Docker-compatible socket).

A spec's ``network`` (``host``: the host's network) wins over the scheduler's ``network`` setting.
One ``docker.DockerClient`` is shared by every thread of the engine; its connection pool is sized
for many concurrent waits and log streams. Image digests are looked up by image id and cached, so
a status costs one inspect call.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime
import logging
import math
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

import docker
import docker.errors
import docker.utils
import pydantic
import requests
import requests.exceptions

from hostler.core import errors, ports
from hostler.schedulers.docker import archive, translate
from hostler.schedulers.docker import logs as docker_logs

logger = logging.getLogger(__name__)

_POOL_SIZE = 64
"""Connections kept to the engine: each blocking wait and each followed log holds one."""
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class Config(pydantic.BaseModel):
    """Settings of the Docker scheduler (``[scheduler.docker]``)."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    host: str | None = None
    """Engine address such as ``unix:///run/podman/podman.sock``; None: DOCKER_HOST or default."""
    pull: Literal["if-missing", "always", "never"] = "if-missing"
    """When to pull a task's image before creating its container."""
    network: str | None = None
    """Network the task containers join; None: the engine's default bridge."""


HOST_ALIAS = "host.docker.internal"
"""The name a task's container reaches the Docker host by (mapped to the host gateway)."""


class Scheduler:
    """Runs task containers on a Docker engine through the Docker SDK."""

    name = "docker"
    capabilities = ports.Capabilities(
        isolation=True, log_follow=True, resource_limits=True, attach=True, runtimes=()
    )

    def __init__(self, config: Config) -> None:
        self._config = config
        with translate.translated("Docker engine"):
            if config.host is None:
                self._client = docker.from_env(max_pool_size=_POOL_SIZE)
            else:
                self._client = docker.DockerClient(base_url=config.host, max_pool_size=_POOL_SIZE)
        self._api = self._client.api
        self._lock = threading.Lock()
        self._pull_locks: dict[str, threading.Lock] = {}
        self._digests: dict[tuple[str, str], str] = {}

    def create(self, spec: ports.ContainerSpec) -> str:
        """Create (but do not start) a container for ``spec``, pulling its image per the policy."""
        self._ensure_image(spec.image)
        network = spec.network or self._config.network
        with translate.translated(f"container '{spec.name}'", conflict=errors.AlreadyExists):
            created = self._api.create_container(
                spec.image,
                command=list(spec.command) if spec.command is not None else None,
                name=spec.name,
                environment=dict(spec.env),
                labels=dict(spec.labels),
                # Tasks reach the host (and a Hostler API listening there) by this name.
                host_config=self._api.create_host_config(
                    network_mode=network, extra_hosts={HOST_ALIAS: "host-gateway"}
                ),
            )
        handle = str(created["Id"])
        logger.debug("container created", extra={"handle": handle, "image": spec.image})
        return handle

    def copy_in(self, handle: str, files: Sequence[ports.File]) -> None:
        """Copy ``files`` below ``/hostler/objects`` in a created container, as one tar stream.

        NotFound for a container that does not exist, FailedPrecondition for one started already.
        """
        ports.check_files(files)
        state = self.inspect(handle).state
        if state is ports.ContainerState.MISSING:
            raise errors.NotFound(f"container '{handle}': not found")
        if state is not ports.ContainerState.CREATED:
            raise errors.FailedPrecondition(
                f"container '{handle}': started already ({state.value})",
                hint="copy files into a container before it starts",
            )
        if not files:
            return
        # A generator as the body: requests sends it with chunked encoding as it is produced.
        with (
            contextlib.closing(archive.stream(files)) as stream,
            translate.translated(f"container '{handle}'"),
        ):
            self._api.put_archive(handle, "/", stream)
        logger.debug("files copied in", extra={"handle": handle, "files": len(files)})

    def start(self, handle: str) -> None:
        """Start a created container; starting a running one again changes nothing."""
        with translate.translated(f"container '{handle}'"):
            self._api.start(handle)
        logger.debug("container started", extra={"handle": handle})

    def inspect(self, handle: str) -> ports.ContainerStatus:
        """Return the container's status; ``MISSING`` when the engine no longer knows it."""
        with translate.translated(f"container '{handle}'"):
            try:
                attrs = self._api.inspect_container(handle)
            except docker.errors.NotFound:
                return translate.missing(handle)
        config = attrs.get("Config") or {}
        digest = self._digest(str(attrs.get("Image", "")), str(config.get("Image", "")))
        return translate.status(attrs, digest)

    def wait(self, handle: str, timeout: float | None = None) -> ports.ContainerStatus:
        """Block until the container is not running or ``timeout`` passes; return its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return self.inspect(handle)
            try:
                with translate.translated(f"container '{handle}'"):
                    # The SDK's timeout is the HTTP read timeout, which is what we want here; its
                    # type hint says int but requests takes any number of seconds.
                    self._api.wait(handle, timeout=remaining)  # type: ignore[arg-type]
            except errors.NotFound:
                return translate.missing(handle)
            except errors.Unavailable:
                pass  # the read timed out (the SDK says so with either exception); inspect tells
            status = self.inspect(handle)
            if status.state is not ports.ContainerState.RUNNING:
                return status

    def logs(
        self, handle: str, *, follow: bool = False, since: datetime.datetime | None = None
    ) -> Iterator[ports.LogLine]:
        """Yield the container's output lines, each stream told apart, in the engine's order."""
        if follow:
            self._await_start(handle)
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=datetime.UTC)
        params: dict[str, int | str] = {
            "stdout": 1,
            "stderr": 1,
            "timestamps": 1,
            "follow": int(follow),
        }
        if since is not None:
            params["since"] = _unix_time(since)
        url = f"{self._api.base_url}/v{self._api.api_version}/containers/{_quote(handle)}/logs"
        subject = f"container '{handle}'"
        with translate.translated(subject):
            # The SDK's logs() drops the stream type of each frame, so the request is made here;
            # no timeout, because a followed log may stay silent for as long as the task runs.
            response = self._api.get(url, params=params, stream=True, timeout=None)
            _raise_for_status(response)
        try:
            lines = docker_logs.Lines()
            with translate.translated(subject):
                for stream, payload in docker_logs.frames(response.raw):
                    for line in lines.feed(stream, payload):
                        if since is None or line.time >= since:
                            yield line
            for line in lines.flush():
                if since is None or line.time >= since:
                    yield line
        finally:
            response.close()

    def stop(self, handle: str, grace: float) -> None:
        """Send SIGTERM, then SIGKILL after ``grace`` seconds; a stopped or gone one is fine."""
        with translate.translated(f"container '{handle}'"):
            try:
                self._api.stop(handle, timeout=max(0, math.ceil(grace)))
            except docker.errors.NotFound:
                return
        logger.debug("container stopped", extra={"handle": handle})

    def remove(self, handle: str) -> None:
        """Remove the container, killing it if it runs; a container already gone is fine."""
        with translate.translated(f"container '{handle}'"):
            try:
                self._api.remove_container(handle, force=True)
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # 409: a removal is already in progress
                    raise
        logger.debug("container removed", extra={"handle": handle})

    def list(self, labels: Mapping[str, str]) -> list[ports.ContainerStatus]:
        """Return every container, running or not, that carries all of ``labels``."""
        filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
        with translate.translated("container list"):
            found = self._api.containers(all=True, filters=filters)
        statuses = (self.inspect(str(summary["Id"])) for summary in found)
        return [s for s in statuses if s.state is not ports.ContainerState.MISSING]

    def images(self, label: str) -> builtins.list[ports.ImageInfo]:
        """Return the images on the engine that carry ``label``, once per tag (an untagged one
        by its id), ordered by reference. Nothing is pulled."""
        with translate.translated("image list"):
            found = self._client.images.list(filters={"label": label})
        listed = []
        for image in found:
            image_id = str(image.id)
            labels = {str(k): str(v) for k, v in (image.labels or {}).items()}
            for reference in image.tags or [image_id]:
                listed.append(ports.ImageInfo(str(reference), image_id, labels))
        return sorted(listed, key=lambda info: info.reference)

    def close(self) -> None:
        """Close the connections to the engine."""
        self._client.close()

    def _ensure_image(self, image: str) -> None:
        policy = self._config.pull
        if policy != "always" and self._has_image(image):
            return
        if policy == "never":
            raise errors.NotFound(
                f"image '{image}': not found on the Docker engine",
                field="image",
                hint="pull the image, or set the scheduler's pull policy to 'if-missing'",
            )
        with self._lock:
            pull_lock = self._pull_locks.setdefault(image, threading.Lock())
        with pull_lock:  # tasks that share a missing image wait for one pull
            if policy == "if-missing" and self._has_image(image):
                return
            logger.info("pulling image", extra={"image": image})
            with translate.translated(f"image '{image}'"):
                try:
                    self._client.images.pull(image)
                except docker.errors.APIError as exc:  # unknown name, no registry, no access
                    raise errors.NotFound(
                        f"image '{image}': not found locally and cannot be pulled"
                        f" ({translate.explain(exc)})",
                        field="image",
                        hint="check the image name and that its registry can be reached",
                    ) from exc

    def _has_image(self, image: str) -> bool:
        with translate.translated(f"image '{image}'"):
            try:
                self._client.images.get(image)
            except docker.errors.NotFound:
                return False
        return True

    def _digest(self, image_id: str, reference: str) -> str | None:
        """Return the repo digest of the image a container uses, else its id (built locally)."""
        if not image_id:
            return None
        key = (image_id, reference)
        with self._lock:
            if key in self._digests:
                return self._digests[key]
        with translate.translated(f"image '{image_id}'"):
            try:
                attrs = self._client.images.get(image_id).attrs
                repo_digests = [str(d) for d in attrs.get("RepoDigests") or []]
            except docker.errors.NotFound:
                return image_id  # removed since: the id is still what ran
        repository = docker.utils.parse_repository_tag(reference)[0] if reference else ""
        matching = [d for d in repo_digests if d.split("@", 1)[0] == repository]
        digest = (matching or repo_digests or [image_id])[0]
        with self._lock:
            self._digests[key] = digest
        return digest

    def _await_start(self, handle: str) -> None:
        """Wait while the container is only created, so that a followed log does not end early."""
        pause = 0.01
        while self.inspect(handle).state is ports.ContainerState.CREATED:
            time.sleep(pause)
            pause = min(pause * 2, 0.2)


def _raise_for_status(response: requests.Response) -> None:
    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as exc:
        try:
            _ = response.content  # the engine's explanation, read while the body is still there
            docker.errors.create_api_error_from_http_exception(exc)
        finally:
            response.close()


def _quote(handle: str) -> str:
    return urllib.parse.quote_plus(handle)


def _unix_time(moment: datetime.datetime) -> str:
    delta = moment - _EPOCH
    return f"{delta.days * 86400 + delta.seconds}.{delta.microseconds:06d}"
