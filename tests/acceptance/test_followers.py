"""The extensions that follow runs, on the real server: ``pipeline`` starts a run when another
pipeline's run ends with a chosen status, and ``notify`` tells a local HTTP receiver and a local
SMTP server (both started here) about runs, only when its condition holds.

Tasks run on the ``local`` scheduler; the extensions, the server and the CLI are the real ones.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import http.server
import json
import pathlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd import controller, handlers

from hostler.testing.process import ServerProcess

from .conftest import Server
from .test_triggers import extension, runs, until
from .test_user_story import ok, write

# Ends as its run variable OUTCOME says: successful with 'ok', failed otherwise.
JUDGED = """
id: {id}
tasks:
  - id: judge
    image: "busybox:stable"
    command: ["sh", "-c", 'test "$OUTCOME" = ok']
"""

DEPLOY = """
id: deploy
tasks:
  - id: ship
    image: "busybox:stable"
    command: ["true"]
triggers:
  - extension: pipeline
    settings: {pipeline: build, statuses: [successful], variables: [OUTCOME]}
"""

WATCHED = """
notifications:
  - extension: notify
    id: chat
    settings:
      when: failed
      webhook: {url: "URL", format: slack}
  - extension: notify
    id: mail
    settings:
      when: failed
      email: {to: [oncall@example.com]}
"""


class Receiver(http.server.ThreadingHTTPServer):
    """A local HTTP receiver: keeps the JSON bodies posted to it."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/chat"

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.bodies)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length))
        with self.server.lock:
            self.server.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mailbox() -> Iterator[tuple[list[email.message.Message], int]]:
    """A local SMTP server keeping the messages it receives."""
    kept: list[email.message.Message] = []

    class Keep(handlers.Message):
        def handle_message(self, message: email.message.Message) -> None:
            kept.append(message)

    with socket.socket() as probe:  # the controller checks its port by connecting: pick one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = controller.Controller(Keep(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        yield kept, port
    finally:
        smtp.stop()


@pytest.fixture
def server(tmp_path: pathlib.Path, mailbox: tuple[Any, int]) -> Iterator[Server]:
    _, port = mailbox
    process = ServerProcess(
        tmp_path / "data",
        {
            "SCHEDULER__BACKEND": "local",
            "SCHEDULER__LOCAL__WORK_DIR": str(tmp_path / "work"),
            "ENGINE__POLL_INTERVAL": "0.2",
            "EXTENSIONS__CONFIG__NOTIFY__SMTP_HOST": "127.0.0.1",
            "EXTENSIONS__CONFIG__NOTIFY__SMTP_PORT": str(port),
            "EXTENSIONS__CONFIG__NOTIFY__SMTP_FROM": "hostler@example.com",
        },
        extensions=("pipeline", "notify"),
    )
    process.start()
    try:
        yield Server(process.url, process.data_dir, process.log)
    finally:
        process.stop()


def start(server: Server, pipeline: str, outcome: str) -> int:
    started = json.loads(
        ok(server.cli("run", "start", pipeline, "--var", f"OUTCOME={outcome}", "-o", "json"))
    )
    run: int = started["id"]
    until(
        lambda: next(r for r in runs(server, pipeline) if r["id"] == run)["state"] == "complete",
        f"run {pipeline}#{run} complete",
    )
    return run


def test_a_pipeline_trigger_fires_on_the_chosen_statuses_only(
    server: Server, tmp_path: pathlib.Path
) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "build.yaml", JUDGED.format(id="build")), "-y"))
    ok(server.cli("pipeline", "up", write(tmp_path, "deploy.yaml", DEPLOY), "-y"))
    until(lambda: extension(server, "pipeline")["subscriptions"] == 1, "subscribed")

    good = start(server, "build", "ok")
    until(lambda: len(runs(server, "deploy")) == 1, "a deploy after the successful build")
    [deploy] = runs(server, "deploy")
    assert deploy["trigger"] == "extension:pipeline"
    assert deploy["variables"]["HOSTLER_UPSTREAM_RUN"] == f"default/build#{good}"
    assert deploy["variables"]["HOSTLER_UPSTREAM_STATUS"] == "successful"
    assert deploy["variables"]["OUTCOME"] == "ok"

    bad = start(server, "build", "bad")
    assert next(r for r in runs(server, "build") if r["id"] == bad)["status"] == "failed"
    start(server, "build", "ok")
    until(lambda: len(runs(server, "deploy")) == 2, "a deploy after the next successful build")
    upstreams = {r["variables"]["HOSTLER_UPSTREAM_RUN"] for r in runs(server, "deploy")}
    assert f"default/build#{bad}" not in upstreams


def test_notify_tells_a_webhook_and_a_mailbox_only_when_a_run_fails(
    server: Server,
    receiver: Receiver,
    mailbox: tuple[list[email.message.Message], int],
    tmp_path: pathlib.Path,
) -> None:
    kept, _ = mailbox
    watched = JUDGED.format(id="nightly") + WATCHED.replace("URL", receiver.url)
    ok(server.cli("pipeline", "up", write(tmp_path, "nightly.yaml", watched), "-y"))
    until(lambda: extension(server, "notify")["subscriptions"] == 2, "subscribed")

    start(server, "nightly", "ok")
    failed = start(server, "nightly", "bad")
    until(lambda: len(receiver.received()) == 1 and len(kept) == 1, "one message on each side")

    [message] = receiver.received()
    assert f"default/nightly #{failed} failed" in message["text"]
    [mail] = kept
    assert mail["To"] == "oncall@example.com"
    assert mail["From"] == "hostler@example.com"
    assert f"default/nightly #{failed} failed" in mail["Subject"]
    body = email.message_from_string(mail.as_string(), policy=email.policy.default)
    assert "failed" in str(body.get_body())

    # a successful run tells nobody
    start(server, "nightly", "ok")
    time.sleep(3)  # several looks of the extension later
    logged = ok(server.cli("extension", "logs", "notify", "-n", "200"))
    assert len(receiver.received()) == 1 and len(kept) == 1, logged
