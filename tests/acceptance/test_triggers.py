"""Triggers on the real server: the built-in interval extension starts runs on its grid, comes back
when killed, and neither a server restart nor a deploy doubles or keeps a fire.

Tasks run on the ``local`` scheduler here (``true`` once a second); the extension, the server and
the CLI are the real ones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pathlib
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from hostler.testing.process import ServerProcess

from .conftest import Server
from .test_user_story import ok, write

HANG = 60.0

PIPELINE = """
id: tick
tasks:
  - id: noop
    image: "busybox:stable"
    command: ["true"]
triggers:
  - extension: interval
    settings: {every: 1s, jitter: false}
"""


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.2)


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[tuple[Server, ServerProcess]]:
    process = ServerProcess(
        tmp_path / "data",
        {
            "SCHEDULER__BACKEND": "local",
            "SCHEDULER__LOCAL__WORK_DIR": str(tmp_path / "work"),
            "ENGINE__POLL_INTERVAL": "0.2",
            "SERVER__MAX_EVENT_BYTES": "4096",
        },
        extensions=("interval", "webhook"),
    )
    process.start()
    try:
        yield Server(process.url, process.data_dir, process.log), process
    finally:
        process.stop()


def runs(server: Server, pipeline: str = "tick") -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{server.url}/api/v1/namespaces/default/pipelines/{pipeline}/runs", params={"limit": 200}
    )
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


def fires(server: Server) -> list[str]:
    return sorted(r["variables"]["HOSTLER_FIRE_TIME"] for r in runs(server))


def extension(server: Server, name: str) -> dict[str, Any]:
    listed = json.loads(ok(server.cli("extension", "list", "-o", "json")))
    found: list[dict[str, Any]] = [e for e in listed["items"] if e["name"] == name]
    assert len(found) == 1, listed
    return found[0]


def test_an_interval_trigger_starts_runs_and_survives_kills_crashes_and_deploys(
    server: tuple[Server, ServerProcess], tmp_path: pathlib.Path
) -> None:
    api, process = server
    ok(api.cli("pipeline", "up", write(tmp_path, "tick.yaml", PIPELINE), "-y"))
    until(lambda: len(runs(api)) >= 3, "three runs")
    first = runs(api)[-1]
    assert first["trigger"] == "extension:interval"
    assert first["variables"]["HOSTLER_SUBSCRIPTION"] == "default/tick/interval"
    assert extension(api, "interval")["subscriptions"] == 1

    # killed, the extension comes back with its subscription, on the same grid
    pid = extension(api, "interval")["pid"]
    os.kill(pid, signal.SIGKILL)
    until(lambda: extension(api, "interval")["restarts"] == 1, "the extension restarted")
    until(lambda: extension(api, "interval")["subscriptions"] == 1, "subscribed again")
    before = len(runs(api))
    until(lambda: len(runs(api)) >= before + 2, "runs go on after the restart")

    # the server crashes: its extensions go with it; started again, the subscription comes back
    # and no fire is doubled
    pid = extension(api, "interval")["pid"]
    process.kill()
    until(lambda: not _exists(pid), "the crashed server's extension is gone")
    process.start()
    before = len(runs(api))
    until(lambda: len(runs(api)) >= before + 2, "runs go on after the server restarted")
    seen = fires(api)
    assert len(seen) == len(set(seen)), "a fire time was used twice"

    # deployed without the trigger, the pipeline is unsubscribed
    ok(
        api.cli(
            "pipeline", "up", write(tmp_path, "still.yaml", PIPELINE.split("triggers:")[0]), "-y"
        )
    )
    until(lambda: extension(api, "interval")["subscriptions"] == 0, "unsubscribed")
    settled = len(runs(api))
    time.sleep(2.5)  # several grid points later
    assert len(runs(api)) == settled
    logged = ok(api.cli("extension", "logs", "interval", "-n", "500"))
    assert "run started" in logged


def _exists(pid: int) -> bool:
    """Tell whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


HOOKED = """
id: hooked
tasks:
  - id: noop
    image: "busybox:stable"
    command: ["true"]
triggers:
  - extension: webhook
    id: on-push
    settings:
      secret: "secret{{HOOK_KEY}}"
      variables: {SHA: after, REPO: repository.full_name, BRANCH: ref}
"""

PUSH = {
    "ref": "refs/heads/main",
    "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "after": "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5",
    "repository": {"id": 186853002, "name": "hello", "full_name": "acme/hello", "private": False},
    "pusher": {"name": "octocat", "email": "octocat@example.com"},
    "commits": [{"id": "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5", "message": "Fix the build"}],
}


def test_a_signed_webhook_starts_exactly_one_run_and_anything_else_none(
    server: tuple[Server, ServerProcess], tmp_path: pathlib.Path
) -> None:
    api, _ = server
    key = "a-signing-key-of-some-length-0123"
    ok(api.cli("pipeline", "up", write(tmp_path, "hooked.yaml", HOOKED), "-y"))
    put = httpx.put(
        f"{api.url}/api/v1/namespaces/default/pipelines/hooked/secrets/HOOK_KEY",
        json={"value": key},
    )
    assert put.status_code == 200, put.text
    until(lambda: extension(api, "webhook")["subscriptions"] == 1, "subscribed")
    url = f"{api.url}/api/v1/extensions/webhook/events/default/hooked/on-push"

    def send(body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hostler-Signature-256"] = signature
        return httpx.post(url, content=body, headers=headers)

    def sign(body: bytes) -> str:
        return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()

    body = json.dumps(PUSH).encode()
    started = send(body, sign(body))
    assert started.status_code == 202, started.text
    [run] = runs(api, "hooked")
    assert run["id"] == started.json()["run"]
    assert run["trigger"] == "extension:webhook"
    assert {k: run["variables"][k] for k in ("SHA", "REPO", "BRANCH")} == {
        "SHA": PUSH["after"],
        "REPO": "acme/hello",
        "BRANCH": "refs/heads/main",
    }

    refused = {
        "wrong signature": send(body, sign(b"something else")),
        "no signature": send(body, None),
        "not JSON": send(b"<xml/>", sign(b"<xml/>")),
        "too large": send(b"{}" + b" " * 5000, sign(b"{}" + b" " * 5000)),
    }
    statuses = {what: answer.status_code for what, answer in refused.items()}
    assert statuses == {
        "wrong signature": 401,
        "no signature": 401,
        "not JSON": 400,
        "too large": 413,
    }
    for answer in refused.values():
        assert answer.headers["content-type"] == "application/problem+json"
        assert key not in answer.text
    assert len(runs(api, "hooked")) == 1
