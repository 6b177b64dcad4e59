"""An extension from a container image, on the real server and the Docker engine: installed,
subscribed, driven by a webhook, killed, updated and removed through the real CLI.

The extension is the example ``shellhook``, a shell script on busybox built here, offline, in
two versions: an extension in a language Hostler knows nothing of, speaking only the contract.
"""

from __future__ import annotations

import json
import pathlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import docker
import httpx
import pytest

from hostler.testing import images
from hostler.testing.process import ServerProcess

from .conftest import Server
from .test_user_story import ok, write

pytestmark = pytest.mark.docker

HANG = 60.0
NAME_LABEL = "io.hostler.extension.name"
REPOSITORY = "hostler-test-shellhook"

HOOKED = """
id: hooked
tasks:
  - id: say
    image: "busybox:stable"
    command: ["sh", "-c", "echo version=$SHELLHOOK_VERSION message=$SHELLHOOK_MESSAGE"]
"""


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def built() -> Iterator[dict[str, str]]:
    """Build shellhook 1.0.0 and 1.1.0; remove them afterwards."""
    with images.shellhooks("1.0.0", "1.1.0", repository=REPOSITORY) as made:
        yield made


@pytest.fixture
def server(tmp_path: pathlib.Path, built: dict[str, str]) -> Iterator[Server]:
    process = ServerProcess(
        tmp_path / "data", {"ENGINE__POLL_INTERVAL": "0.2", "ENGINE__STOP_GRACE": "2"}
    )
    process.start()
    try:
        yield Server(process.url, process.data_dir, process.log)
    finally:
        process.stop()


def extension(server: Server, name: str) -> dict[str, Any] | None:
    answer = json.loads(ok(server.cli("extension", "list", "-o", "json")))
    return next((e for e in answer["items"] if e["name"] == name), None)


def running(server: Server, subscriptions: int) -> bool:
    found = extension(server, "shellhook")
    return found is not None and (found["state"], found["subscriptions"]) == (
        "running",
        subscriptions,
    )


def docker_api() -> docker.APIClient:
    return docker.APIClient()


def containers() -> list[dict[str, Any]]:
    """Return the shellhook containers on the engine, as the engine lists them."""
    with docker_api() as api:
        found: list[dict[str, Any]] = api.containers(
            all=True, filters={"label": f"{NAME_LABEL}=shellhook"}
        )
        return found


def versions() -> list[str]:
    return [c["Labels"].get("dev.hostler.extension.version", "") for c in containers()]


def fire(server: Server) -> dict[str, Any]:
    """Send the subscription's webhook; return the run it started, once it ended."""
    url = f"{server.url}/api/v1/extensions/shellhook/events/default/hooked/on-hook"
    answer = httpx.post(url, content=b"{}", headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text
    number = answer.json()["run"]
    run_url = f"{server.url}/api/v1/namespaces/default/pipelines/hooked/runs/{number}"
    until(lambda: httpx.get(run_url).json()["state"] == "complete", "the run ends")
    run: dict[str, Any] = httpx.get(run_url).json()
    return run


def test_an_image_extension_is_installed_fired_restarted_updated_and_removed(
    server: Server, built: dict[str, str], tmp_path: pathlib.Path
) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "hooked.yaml", HOOKED), "-y"))
    installed = ok(
        server.cli("extension", "install", "shellhook", REPOSITORY, "--config", "NOTE=kept", "-y")
    )
    assert "1.1.0" in installed  # the repository's newest
    ok(server.cli("extension", "update", "shellhook@1.0.0", "--allow-downgrade", "-y"))
    ok(
        server.cli(
            "pipeline",
            "subscribe",
            "hooked",
            "shellhook",
            "--id",
            "on-hook",
            "--set",
            "message=hello",
        )
    )
    until(lambda: running(server, 1), "the container runs and holds the subscription")
    [first] = containers()
    with docker_api() as api:
        inspected = api.inspect_container(first["Id"])
    assert inspected["HostConfig"]["NetworkMode"] == "host"
    assert "HOSTLER_EXTENSION_CONFIG_NOTE=kept" in inspected["Config"]["Env"]  # decrypted for it
    listed = extension(server, "shellhook")
    assert listed is not None and (listed["pid"], listed["container"]) == (None, first["Id"][:12])

    run = fire(server)
    assert run["status"] == "successful"
    assert run["trigger"] == "extension:shellhook"
    assert {k: run["variables"][k] for k in ("SHELLHOOK_VERSION", "SHELLHOOK_MESSAGE")} == {
        "SHELLHOOK_VERSION": "1.0.0",
        "SHELLHOOK_MESSAGE": "hello",
    }
    logs = ok(server.cli("extension", "logs", "shellhook"))
    assert "external-event" in logs

    with docker_api() as api:
        api.kill(first["Id"])  # as the OOM killer or an operator would
    until(lambda: [c["Id"] for c in containers()] not in ([], [first["Id"]]), "started again")
    until(lambda: running(server, 1), "subscribed again")
    assert fire(server)["status"] == "successful"

    updated = ok(server.cli("extension", "update", "shellhook@1", "-y"))  # 1.x: a 2.x may be there
    assert "1.0.0" in updated and "1.1.0" in updated
    until(lambda: versions() == ["1.1.0"], "the new version runs alone")
    until(lambda: running(server, 1), "the new version holds the subscription")
    assert fire(server)["variables"]["SHELLHOOK_VERSION"] == "1.1.0"

    ok(server.cli("extension", "remove", "shellhook", "-y"))
    until(lambda: extension(server, "shellhook") is None, "it is no longer run")
    until(lambda: containers() == [], "its container is removed")
    subscribed = ok(server.cli("pipeline", "subscriptions", "hooked", "-o", "json"))
    assert "on-hook" not in subscribed
