"""The github trigger on the real server: a signed GitHub push starts exactly one run with the
repository, ref and sha, an event the filters leave out starts nothing, and the run is reported
back as commit statuses to a local HTTP server standing in for the GitHub API.

Tasks run on the ``local`` scheduler; the extension, the server and the CLI are the real ones.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import pathlib
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hostler.testing.process import ServerProcess

from .conftest import Server
from .test_triggers import extension, runs, until
from .test_user_story import ok, write

FIXTURES = pathlib.Path(__file__).parent.parent / "unit" / "extensions" / "github"
SECRET = "a-github-webhook-secret-0123456789"
TOKEN = "github_pat_0123456789abcdef"

PIPELINE = """
id: ci
tasks:
  - id: build
    image: "busybox:stable"
    command: ["sleep", "2"]
triggers:
  - extension: github
    settings:
      secret: "secret{{GITHUB_WEBHOOK_SECRET}}"
      events: [push, pull_request]
      branches: [main]
      variables: {COMMIT_MESSAGE: head_commit.message}
"""


class GitHub(http.server.ThreadingHTTPServer):
    """Stands in for the GitHub API: records the commit statuses it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses: list[tuple[str, str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: GitHub

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.server.lock:
            self.server.statuses.append((self.path, self.headers.get("Authorization", ""), body))
        answer = json.dumps({"id": len(self.server.statuses), **body}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def github() -> Iterator[GitHub]:
    server = GitHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server(tmp_path: pathlib.Path, github: GitHub) -> Iterator[Server]:
    process = ServerProcess(
        tmp_path / "data",
        {
            "SCHEDULER__BACKEND": "local",
            "SCHEDULER__LOCAL__WORK_DIR": str(tmp_path / "work"),
            "ENGINE__POLL_INTERVAL": "0.2",
            "EXTENSIONS__CONFIG__GITHUB__API_URL": github.url,
            "EXTENSIONS__CONFIG__GITHUB__TOKEN": TOKEN,
            "EXTENSIONS__CONFIG__GITHUB__LINK": "https://hostler.example.com",
        },
        extensions=("github",),
    )
    process.start()
    try:
        yield Server(process.url, process.data_dir, process.log)
    finally:
        process.stop()


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def test_a_signed_github_push_starts_one_run_and_is_reported_back_to_the_commit(
    server: Server, github: GitHub, tmp_path: pathlib.Path
) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "ci.yaml", PIPELINE), "-y"))
    put = httpx.put(
        f"{server.url}/api/v1/namespaces/default/pipelines/ci/secrets/GITHUB_WEBHOOK_SECRET",
        json={"value": SECRET},
    )
    assert put.status_code == 200, put.text
    until(lambda: extension(server, "github")["subscriptions"] == 1, "subscribed")
    url = f"{server.url}/api/v1/extensions/github/events/default/ci/github"

    def send(event: str, body: bytes, secret: str | None = SECRET) -> httpx.Response:
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "User-Agent": "GitHub-Hookshot/044aadd",
        }
        if secret is not None:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature-256"] = f"sha256={digest}"
        return httpx.post(url, content=body, headers=headers)

    push = fixture("push")
    payload = json.loads(push)
    started = send("push", push)
    assert started.status_code == 202, started.text
    [run] = runs(server, "ci")
    assert run["id"] == started.json()["run"]
    assert run["trigger"] == "extension:github"
    variables = run["variables"]
    assert variables["GITHUB_REPOSITORY"] == payload["repository"]["full_name"]
    assert variables["GITHUB_REF"] == "refs/heads/main"
    assert variables["GITHUB_SHA"] == payload["after"]
    assert variables["GITHUB_BRANCH"] == "main"
    assert variables["GITHUB_EVENT"] == "push"
    assert variables["COMMIT_MESSAGE"] == payload["head_commit"]["message"]

    # everything else starts nothing, and says why
    answers = {
        "wrong signature": send("push", push, secret="not-the-secret-at-all"),
        "no signature": send("push", push, secret=None),
        "not JSON": send("push", b"<xml/>"),
        "filtered out": send("issues", fixture("issues_opened")),
        "another branch": send("push", fixture("push_tag")),
        "ping": send("ping", fixture("ping")),
    }
    statuses = {what: answer.status_code for what, answer in answers.items()}
    assert statuses == {
        "wrong signature": 401,
        "no signature": 401,
        "not JSON": 400,
        "filtered out": 200,
        "another branch": 200,
        "ping": 200,
    }
    assert "event 'issues'" in answers["filtered out"].json()["ignored"]
    assert answers["another branch"].json()["run"] is None
    for what in ("wrong signature", "no signature", "not JSON"):
        assert answers[what].headers["content-type"] == "application/problem+json"
        assert SECRET not in answers[what].text
    assert len(runs(server, "ci")) == 1

    # the run is reported to the commit: pending, then success
    sha = payload["after"]
    repository = payload["repository"]["full_name"]

    def states() -> list[str]:
        with github.lock:
            return [body["state"] for _, _, body in github.statuses]

    until(lambda: "success" in states(), "the run reported as a success")
    assert states()[0] == "pending"
    assert states()[-1] == "success"
    path, auth, body = github.statuses[-1]
    assert path == f"/repos/{repository}/statuses/{sha}"
    assert auth == f"Bearer {TOKEN}"
    assert body["context"] == "hostler/default/ci"
    assert body["target_url"].startswith("https://hostler.example.com/")
    assert body["target_url"].endswith(f"/runs/{run['id']}")
    logged = ok(server.cli("extension", "logs", "github", "-n", "500"))
    assert SECRET not in logged and TOKEN not in logged
