"""Secrets on the real server and Docker: a value a task echoes appears nowhere.

The test greps everything a value could leak into: the stored log, the live log stream, events,
API answers, the server's own log, and the database file.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hostler.crypto import aesgcm
from hostler.testing.process import ServerProcess

from .test_access import Secure
from .test_user_story import ok, write

pytestmark = pytest.mark.docker

PIPELINE = """
id: leaky
tasks:
  - id: echo
    image: "busybox:stable"
    command: ["sh", "-c", "echo \\"token=$TOKEN\\"; echo \\"shared $SHARED!\\"; echo done"]
    env:
      TOKEN: "secret{{API_TOKEN}}"
      SHARED: "prefix-global_secret{{SHARED}}"
"""


class Server(Secure):
    """The server with authentication on; the CLI and the API as its admin."""

    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        return super().cli(*args, token=token or self.admin)

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin}"}
        return httpx.request(method, f"{self.process.url}/api/v1{path}", headers=headers, **kw)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("secrets")
    process = ServerProcess(
        base / "data",
        {"SECRETS__KEY": aesgcm.new_key(), "ENGINE__POLL_INTERVAL": "0.2"},
        dev=False,
    )
    process.start()
    try:
        yield Server(process, base / "home")
    finally:
        process.stop()


def test_a_secret_a_task_echoes_appears_nowhere(server: Server, tmp_path: pathlib.Path) -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}"
    shared = f"sh4red-{uuid.uuid4().hex}"
    file = write(tmp_path, "leaky.yaml", PIPELINE)

    planned = ok(server.cli("pipeline", "plan", file))
    assert "Secrets missing" in planned
    assert "secret{{API_TOKEN}}" in planned and "global_secret{{SHARED}}" in planned
    ok(server.cli("pipeline", "up", file, "-y"))

    # Without the secrets, the task fails before a container is made, naming what is missing.
    failed = server.cli("run", "start", "leaky", "--follow")
    assert failed.returncode != 0
    run = server.api("GET", "/namespaces/default/pipelines/leaky/runs/1/tasks/echo").json()
    assert run["reason"]["kind"] == "secret_missing"
    assert "secret{{API_TOKEN}}" in run["reason"]["description"]
    assert run["container"] is None

    put = server.api(
        "PUT", "/namespaces/default/pipelines/leaky/secrets/API_TOKEN", json={"value": value}
    )
    assert put.status_code == 200, put.text
    assert value not in put.text
    put = server.api("PUT", "/secrets/SHARED", json={"value": shared, "namespaces": ["def*"]})
    assert put.status_code == 200, put.text

    ok(server.cli("run", "start", "leaky"))
    followed = ok(server.cli("task", "logs", "leaky", "2", "echo", "--follow"))
    assert followed.splitlines() == ["token=***", "shared prefix-***!", "done"]
    stored = ok(server.cli("task", "logs", "leaky", "2", "echo"))
    assert stored.splitlines() == ["token=***", "shared prefix-***!", "done"]

    seen = [followed, stored]
    for path in (
        "/events?namespace=default&limit=500",
        "/namespaces/default/pipelines/leaky/runs",
        "/namespaces/default/pipelines/leaky/runs/2/tasks",
        "/namespaces/default/pipelines/leaky/runs/2/tasks/echo/logs",
        "/namespaces/default/pipelines/leaky/secrets",
        "/namespaces/default/pipelines/leaky/secrets/API_TOKEN",
        "/secrets",
        "/history?limit=500",
    ):
        answer = server.api("GET", path)
        assert answer.status_code == 200, (path, answer.text)
        seen.append(answer.text)
    seen.append(server.process.log.read_text())
    seen += [
        p.read_bytes().decode("latin-1") for p in server.process.data_dir.rglob("*") if p.is_file()
    ]
    for text in seen:
        assert value not in text
        assert shared not in text

    # A run variable cannot name a secret to read it: it stays as it was written.
    ok(server.cli("run", "start", "leaky", "--var", "SHARED=secret{{API_TOKEN}}"))
    literal = ok(server.cli("task", "logs", "leaky", "3", "echo", "--follow"))
    assert "shared secret{{API_TOKEN}}!" in literal.splitlines()

    # An admin who asks explicitly gets the value back; the request is audited.
    revealed = server.api(
        "GET", "/namespaces/default/pipelines/leaky/secrets/API_TOKEN", params={"reveal": "true"}
    ).json()
    assert revealed["value"] == value
    history = server.api("GET", "/history", params={"kind": "secret"}).json()["items"]
    assert "secret.reveal" in {r["kind"] for r in history}
    assert value not in json.dumps(history)
