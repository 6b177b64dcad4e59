"""Fixtures of the scheduler conformance suite: every backend, built the way bootstrap builds it."""

from __future__ import annotations

import dataclasses
import io
import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pydantic
import pytest

from hostler import plugins
from hostler.core import ports

IMAGE = "busybox:stable"
TEST_LABEL = "io.hostler.test"


def _settings(name: str, tmp_path: Path) -> dict[str, Any]:
    """Return the non-default settings a backend needs under test (a private work directory)."""
    return {"local": {"work_dir": tmp_path / "local"}}.get(name, {})


@dataclasses.dataclass
class Backend:
    """A scheduler under test, and a label unique to the test that marks what the test made."""

    scheduler: ports.Scheduler
    label: dict[str, str]
    plugin: plugins.Plugin[ports.Scheduler]
    config: pydantic.BaseModel
    others: list[ports.Scheduler] = dataclasses.field(default_factory=list)
    built: list[str] = dataclasses.field(default_factory=list)
    """The images the test built, removed after it."""

    def reopen(self) -> ports.Scheduler:
        """Return a second scheduler over the same backend, as a restarted server would build."""
        other: ports.Scheduler = self.plugin.factory(self.config)
        self.others.append(other)
        return other

    def spec(
        self,
        *command: str,
        env: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> ports.ContainerSpec:
        """Return a spec of ``command`` in the test image, carrying the test's label."""
        return ports.ContainerSpec(
            name=f"hostler-test-{uuid.uuid4().hex[:12]}",
            image=IMAGE,
            command=command,
            env=dict(env or {}),
            labels={**(labels or {}), **self.label},
        )

    def run(self, *command: str, env: Mapping[str, str] | None = None) -> str:
        """Create and start ``command``; return its handle."""
        handle = self.scheduler.create(self.spec(*command, env=env))
        self.scheduler.start(handle)
        return handle

    def image(self, labels: Mapping[str, str]) -> str | None:
        """Build an image of the test image carrying ``labels`` and the test's label on a
        backend that has images (removed after the test), and return its reference; None on a
        backend without images. Offline: built FROM the local test image."""
        if not self.scheduler.capabilities.isolation:
            return None
        import docker  # only the Docker backend has images; the local one runs without Docker

        tag = f"hostler-test-ext:{uuid.uuid4().hex[:12]}"
        lines = "".join(
            f'LABEL "{key}"="{value}"\n' for key, value in {**labels, **self.label}.items()
        )
        dockerfile = io.BytesIO(f"FROM {IMAGE}\n{lines}".encode())
        client = docker.from_env()
        try:
            client.images.build(fileobj=dockerfile, tag=tag, rm=True, pull=False)
        finally:
            client.close()
        self.built.append(tag)
        return tag

    def wait_for_line(self, handle: str, text: str, within: float = 30) -> None:
        """Return once ``handle`` has printed the line ``text``; fail if it has not ``within``."""
        seen = threading.Event()

        def watch() -> None:
            for line in self.scheduler.logs(handle, follow=True):
                if line.text == text:
                    seen.set()
                    return

        threading.Thread(target=watch, daemon=True).start()
        assert seen.wait(within), f"no line {text!r} from {handle} within {within} s"


@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker), "local"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Yield each scheduler backend with default settings; remove what the test made afterwards.

    Nothing is skipped: a backend that cannot be built (Docker not reachable) fails the test.
    """
    name: str = request.param
    plugin = plugins.load("schedulers", name)
    config = plugin.config(**_settings(name, tmp_path))
    scheduler: ports.Scheduler = plugin.factory(config)
    backend = Backend(scheduler, {TEST_LABEL: uuid.uuid4().hex}, plugin, config)
    try:
        yield backend
    finally:
        for status in scheduler.list(backend.label):
            scheduler.remove(status.handle)
        for each in (scheduler, *backend.others):
            each.close()
        if backend.built:
            import docker

            client = docker.from_env()
            try:
                for tag in backend.built:
                    client.images.remove(tag, force=True)
            finally:
                client.close()
