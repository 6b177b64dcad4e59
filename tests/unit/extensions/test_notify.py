"""The notify notifier: a message reaches a real HTTP receiver and a real SMTP server exactly when
its condition holds, says what happened, and a message that cannot be sent stops nothing."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import email
import email.message
import email.policy
import http.server
import json
import logging
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pydantic
import pytest
from aiosmtpd import smtp
from aiosmtpd.controller import Controller

from hostler.extensions import notify
from hostler.sdk import extension

from . import KEY, Clock, at, eventually, fakes, system
from .fakes import Hostler, stamp, subscribe

SUB = "default/build/alert"
LINK = "https://hostler.example.com"


@dataclasses.dataclass(frozen=True)
class Received:
    """A request the receiver got."""

    path: str
    headers: Mapping[str, str]
    body: Any


class Receiver:
    """A real HTTP server on 127.0.0.1 that records the requests it gets and answers each with
    the next of ``statuses``, 200 once they run out; while ``gate`` is clear, it answers none."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    receiver.received.append(Received(self.path, headers, json.loads(body)))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.gate.wait()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def bodies(self) -> list[Any]:
        """Return the bodies received, in order."""
        return [request.body for request in self.received]

    def close(self) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.thread.join()
        self.httpd.server_close()


class Mailbox:
    """The handler of a real SMTP server: keeps the messages it gets and the logins."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(
        self, server: smtp.SMTP, session: smtp.Session, envelope: smtp.Envelope
    ) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def authenticate(
        self,
        server: smtp.SMTP,
        session: smtp.Session,
        envelope: smtp.Envelope,
        mechanism: str,
        data: Any,
    ) -> smtp.AuthResult:
        self.logins.append((data.login, data.password))
        return smtp.AuthResult(success=data.password == b"smtp-pass", handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def clock() -> Clock:
    return Clock(at("2026-01-01 12:00"))


@pytest.fixture
def hostler(clock: Clock) -> Hostler:
    hostler = Hostler(clock)
    hostler.create("default", "build")
    return hostler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with contextlib.closing(Receiver()) as receiver:
        yield receiver


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=box.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def settle(notifier: notify.Notifier, clock: Clock) -> None:
    """Let what is due run, and the messages it sends be sent."""
    fakes.settle(notifier, clock)
    notifier.flush()


def tick(notifier: notify.Notifier, clock: Clock, seconds: float = 1.0) -> None:
    """Move the clock by ``seconds`` as ``fakes.tick`` does; return once the messages due are
    sent."""
    fakes.tick(notifier, clock, seconds)
    notifier.flush()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify.Notifier, "RETRY_DELAYS", (0.01, 0.01))


def started(clock: Clock, hostler: Hostler, config: notify.Config | None = None) -> notify.Notifier:
    """Return the notifier as Hostler starts it, against ``hostler``, with ``config``."""
    config = config or notify.Config(link=LINK)
    return notify.Notifier(system(), config, api=hostler.client(), clock=clock)


@pytest.fixture
def notifier(clock: Clock, hostler: Hostler) -> Iterator[notify.Notifier]:
    with contextlib.closing(started(clock, hostler)) as notifier:
        yield notifier


def follow(notifier: notify.Notifier, clock: Clock, settings: Mapping[str, Any]) -> notify.Notifier:
    """Subscribe ``default/build`` to ``notifier`` and take the baseline."""
    subscribe(notifier, settings, SUB, pipeline="build")
    settle(notifier, clock)
    return notifier


def run(notifier: notify.Notifier, clock: Clock, hostler: Hostler, *statuses: str) -> None:
    """End one run of ``default/build`` with each status, each seen by a poll of its own."""
    for status in statuses:
        hostler.ran("default", "build", status)
        tick(notifier, clock)


def conditions(receiver: Receiver) -> list[tuple[int, str]]:
    """Return the run and the condition of each message received, in order."""
    return [(body["hostler"]["run"], body["hostler"]["condition"]) for body in receiver.bodies]


def ours(caplog: pytest.LogCaptureFixture) -> str:
    """Return all that the extension's own log records say, fields included."""
    return " ".join(str(r.__dict__) for r in caplog.records if r.name.startswith("hostler"))


def test_info_names_the_notifier_its_settings_and_the_admin_configuration() -> None:
    info = notify.Notifier.info()

    assert (info.name, info.version, info.kind) == ("notify", "1.0.0", "notifier")
    assert set(info.settings_schema["properties"]) == {
        "when",
        "count",
        "duration",
        "window",
        "threshold",
        "webhook",
        "email",
    }
    secret = {variable.name: variable.secret for variable in info.config}
    assert secret["HOSTLER_EXTENSION_CONFIG_SMTP_PASSWORD"] is True
    assert secret["HOSTLER_EXTENSION_CONFIG_SMTP_HOST"] is False


@pytest.mark.parametrize(
    ("settings", "description"),
    [
        ({}, "notify when a run fails, by webhook to '127.0.0.1'"),
        ({"when": "failures_in_row"}, "notify when runs fail 3 times in a row, by webhook"),
        ({"when": "duration", "duration": "10m"}, "notify when a run takes longer than 10m, by"),
        (
            {"when": "success_rate", "threshold": 90.5},
            "notify when fewer than 90.5% of the last 10 runs succeed, by",
        ),
    ],
)
def test_subscribe_describes_the_condition_and_where_messages_go(
    notifier: notify.Notifier, receiver: Receiver, settings: dict[str, Any], description: str
) -> None:
    answer = subscribe(notifier, {**settings, "webhook": {"url": receiver.url}}, SUB)

    assert answer.result == "created"
    assert answer.description.startswith(description)


def test_a_failed_run_is_told_to_a_slack_webhook_with_its_facts(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    follow(notifier, clock, {"webhook": {"url": receiver.url + "/hook"}})

    run(notifier, clock, hostler, "successful", "cancelled")
    failing = hostler.run("default", "build", trigger="extension:cron")
    tick(notifier, clock, 12 * 60 + 5)
    hostler.complete("default", "build", failing, "failed", reason="task 'test' exited with 1")
    tick(notifier, clock)

    assert [request.path for request in receiver.received] == ["/hook"]
    assert receiver.received[0].headers["content-type"] == "application/json"
    assert receiver.bodies[0] == {
        "text": "default/build #3 failed\n"
        "Condition: failed\n"
        "Duration: 12m 5s\n"
        "Trigger: extension:cron\n"
        "Reason: task 'test' exited with 1\n"
        f"Run: {LINK}/api/v1/namespaces/default/pipelines/build/runs/3",
        "hostler": {
            "namespace": "default",
            "pipeline": "build",
            "run": 3,
            "status": "failed",
            "condition": "failed",
            "duration_seconds": 725.0,
            "trigger": "extension:cron",
            "reason": "task 'test' exited with 1",
            "url": f"{LINK}/api/v1/namespaces/default/pipelines/build/runs/3",
        },
    }


def test_finished_tells_every_run_that_completes_as_json_with_the_headers(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    hostler.ran("default", "build")  # complete before: not told
    webhook = {"url": receiver.url, "format": "json", "headers": {"Authorization": "Bearer x"}}
    follow(notifier, clock, {"when": "finished", "webhook": webhook})

    running = hostler.run("default", "build")
    tick(notifier, clock)
    run(notifier, clock, hostler, "failed", "cancelled")
    hostler.complete("default", "build", running)
    tick(notifier, clock)

    assert [(b["run"], b["status"], b["condition"]) for b in receiver.bodies] == [
        (3, "failed", "finished"),
        (4, "cancelled", "finished"),
        (2, "successful", "finished"),
    ]
    assert set(receiver.bodies[0]) == {
        "namespace",
        "pipeline",
        "run",
        "status",
        "condition",
        "duration_seconds",
        "trigger",
        "reason",
        "url",
    }
    assert {r.headers["authorization"] for r in receiver.received} == {"Bearer x"}


def test_failures_in_a_row_are_told_when_the_row_reaches_count_and_again_after_a_success(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    follow(notifier, clock, {"when": "failures_in_row", "webhook": {"url": receiver.url}})

    run(notifier, clock, hostler, "failed", "failed")
    told_at_two = len(receiver.received)
    run(notifier, clock, hostler, "failed", "failed", "failed", "successful", "failed", "failed")
    hostler.ran("default", "build", "failed")  # two end between two polls
    hostler.ran("default", "build", "failed")
    tick(notifier, clock)

    assert told_at_two == 0
    assert conditions(receiver) == [
        (3, "failed 3 times in a row"),
        (9, "failed 3 times in a row"),
    ]


def test_a_restart_does_not_tell_a_row_of_failures_that_was_told_before(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    settings = {"when": "failures_in_row", "count": 2, "webhook": {"url": receiver.url}}
    follow(notifier, clock, settings)
    run(notifier, clock, hostler, "failed", "failed")
    notifier.close()

    with contextlib.closing(started(clock, hostler)) as again:
        follow(again, clock, settings)
        run(again, clock, hostler, "failed", "successful", "failed", "failed")

    assert conditions(receiver) == [(2, "failed 2 times in a row"), (6, "failed 2 times in a row")]


def test_a_success_rate_is_told_when_it_drops_below_the_threshold_and_again_after_recovering(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    webhook = {"url": receiver.url}
    settings = {"when": "success_rate", "window": 4, "threshold": 75, "webhook": webhook}
    follow(notifier, clock, settings)

    run(notifier, clock, hostler, "failed", "failed", "failed")  # fewer than 4: not judged
    assert receiver.received == []
    run(notifier, clock, hostler, "successful")  # 25%
    run(notifier, clock, hostler, "failed", "successful")  # 25%, 50%: still below
    run(notifier, clock, hostler, "successful", "successful", "successful")  # 75%: recovered
    run(notifier, clock, hostler, "failed")  # 75%: not below
    run(notifier, clock, hostler, "failed")  # 50%: below again

    assert conditions(receiver) == [
        (4, "success rate 25% over the last 4 runs, below 75%"),
        (11, "success rate 50% over the last 4 runs, below 75%"),
    ]


def test_a_success_rate_below_the_threshold_when_following_starts_is_not_told_again(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    for status in ("failed", "successful", "failed", "failed"):
        hostler.ran("default", "build", status)
    settings = {"when": "success_rate", "window": 4, "webhook": {"url": receiver.url}}
    follow(notifier, clock, settings)

    run(notifier, clock, hostler, "failed", "successful", "successful", "successful")  # 25..75%
    run(notifier, clock, hostler, "successful")  # 100%: recovered
    run(notifier, clock, hostler, "failed", "failed")  # 75%, 50%

    assert conditions(receiver) == [(10, "success rate 75% over the last 4 runs, below 80%")]


def test_a_run_past_the_duration_is_told_once_while_running_or_else_when_it_completes(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    follow(
        notifier, clock, {"when": "duration", "duration": "10m", "webhook": {"url": receiver.url}}
    )
    slow = hostler.run("default", "build")
    tick(notifier, clock, 300)
    assert receiver.received == []

    tick(notifier, clock, 301)  # 10m 1s
    tick(notifier, clock, 60)
    hostler.complete("default", "build", slow, "successful")
    tick(notifier, clock)
    quick = hostler.ran("default", "build")  # ended at once
    late = hostler.ran("default", "build", "failed")  # seen only once complete
    earlier = clock.now - datetime.timedelta(minutes=12, seconds=5)
    hostler.get("default", "build", late)["started"] = stamp(earlier)
    tick(notifier, clock)

    assert quick == 2
    assert [(b["hostler"]["run"], b["hostler"]["status"]) for b in receiver.bodies] == [
        (1, "running"),
        (3, "failed"),
    ]
    assert conditions(receiver) == [
        (1, "running for 10m 1s, over 10m"),
        (3, "took 12m 5s, over 10m"),
    ]
    assert receiver.bodies[0]["text"].startswith("default/build #1 running\n")


def test_a_run_already_past_the_duration_when_following_starts_is_not_told(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    slow = hostler.run("default", "build")
    clock.now += datetime.timedelta(minutes=20)
    follow(notifier, clock, {"when": "duration", "duration": 600, "webhook": {"url": receiver.url}})

    tick(notifier, clock)
    hostler.complete("default", "build", slow)
    tick(notifier, clock)

    assert receiver.received == []


def test_changed_settings_go_on_without_telling_a_run_again_or_missing_one(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    webhook = {"url": receiver.url}
    follow(notifier, clock, {"when": "duration", "duration": "10m", "webhook": webhook})
    slow = hostler.run("default", "build")
    tick(notifier, clock, 601)

    changed = subscribe(
        notifier, {"when": "duration", "duration": "5m", "webhook": webhook}, SUB, pipeline="build"
    )
    hostler.complete("default", "build", slow, "failed")
    tick(notifier, clock)
    hostler.ran("default", "build", "failed")  # ends before the next change's first poll
    again = subscribe(notifier, {"webhook": webhook}, SUB, pipeline="build")
    tick(notifier, clock)

    assert (changed.result, again.result) == ("changed", "changed")
    assert conditions(receiver) == [(1, "running for 10m 1s, over 10m"), (2, "failed")]


def test_a_message_is_emailed_and_posted_when_both_are_set(
    clock: Clock, hostler: Hostler, receiver: Receiver, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    config = notify.Config(smtp_host="127.0.0.1", smtp_port=port, smtp_from="ci@example.com")
    settings = {
        "webhook": {"url": receiver.url},
        "email": {"to": ["ops@example.com", "dev@example.com"], "subject": "[CI]"},
    }
    with contextlib.closing(started(clock, hostler, config)) as notifier:
        follow(notifier, clock, settings)
        run(notifier, clock, hostler, "successful", "failed")

    eventually(lambda: len(box.messages) == 1)
    message = box.messages[0]
    assert message["Subject"] == "[CI] default/build #2 failed"
    assert message["From"] == "ci@example.com"
    assert message["To"] == "ops@example.com, dev@example.com"
    assert box.recipients == [["ops@example.com", "dev@example.com"]]
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("default/build #2 failed\nCondition: failed\n")
    assert "Trigger: manual" in body
    assert "Run:" not in body  # no link configured
    assert conditions(receiver) == [(2, "failed")]


def test_the_smtp_login_is_used_when_configured_and_its_password_never_logged(
    clock: Clock,
    hostler: Hostler,
    mailbox: tuple[Mailbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    box, port = mailbox
    settings = {"email": {"to": ["ops@example.com"]}}

    with caplog.at_level(logging.INFO):
        for password in ("wrong-pass", "smtp-pass"):
            config = notify.Config(
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_username="hostler",
                smtp_password=pydantic.SecretStr(password),
            )
            with contextlib.closing(started(clock, hostler, config)) as notifier:
                follow(notifier, clock, settings)
                run(notifier, clock, hostler, "failed")

    eventually(lambda: len(box.messages) == 1)
    # smtplib tries each mechanism the server offers before it gives up
    assert set(box.logins) == {(b"hostler", b"wrong-pass"), (b"hostler", b"smtp-pass")}
    assert box.logins[-1] == (b"hostler", b"smtp-pass")
    assert box.messages[0]["Subject"] == "default/build #2 failed"
    failed = [r for r in caplog.records if r.getMessage() == "notification not sent"]
    assert [(r.__dict__["channel"], r.__dict__["run"]) for r in failed] == [("email", 1)]
    assert "SMTPAuthenticationError" in failed[0].__dict__["error"]
    assert "pass" not in ours(caplog)


def test_a_webhook_answering_5xx_is_tried_three_times_then_given_up_and_logged(
    notifier: notify.Notifier,
    clock: Clock,
    hostler: Hostler,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    follow(notifier, clock, {"webhook": {"url": receiver.url + "/hook?token=t0ps3cret"}})
    receiver.statuses = [500, 502, 503, 503, 200]

    with caplog.at_level(logging.INFO):
        run(notifier, clock, hostler, "failed", "failed")

    assert conditions(receiver) == [(1, "failed")] * 3 + [(2, "failed")] * 2
    given_up = [r for r in caplog.records if r.getMessage() == "notification not sent"]
    assert [(r.__dict__["run"], r.__dict__["attempts"]) for r in given_up] == [(1, 3)]
    assert given_up[0].__dict__["error"] == "status 503"
    assert given_up[0].__dict__["host"] == "127.0.0.1"
    sent = [r for r in caplog.records if r.getMessage() == "notification sent"]
    assert [(r.__dict__["run"], r.__dict__["attempts"]) for r in sent] == [(2, 2)]
    assert "t0ps3cret" not in ours(caplog)


def test_a_webhook_answering_4xx_is_not_tried_again_and_following_goes_on(
    notifier: notify.Notifier,
    clock: Clock,
    hostler: Hostler,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    follow(notifier, clock, {"webhook": {"url": receiver.url}})
    receiver.statuses = [404]

    with caplog.at_level(logging.INFO):
        run(notifier, clock, hostler, "failed", "failed")

    assert conditions(receiver) == [(1, "failed"), (2, "failed")]
    refused = [r for r in caplog.records if r.getMessage() == "notification refused"]
    assert [(r.__dict__["run"], r.__dict__["status"]) for r in refused] == [(1, 404)]


def test_a_webhook_that_cannot_be_reached_is_logged_and_following_goes_on(
    notifier: notify.Notifier,
    clock: Clock,
    hostler: Hostler,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    follow(notifier, clock, {"webhook": {"url": f"http://127.0.0.1:{free_port()}/hook"}})
    with caplog.at_level(logging.INFO):
        run(notifier, clock, hostler, "failed")
    subscribe(notifier, {"webhook": {"url": receiver.url}}, SUB, pipeline="build")
    run(notifier, clock, hostler, "failed")

    given_up = [r for r in caplog.records if r.getMessage() == "notification not sent"]
    assert [(r.__dict__["attempts"], r.__dict__["error"]) for r in given_up] == [
        (3, "ConnectError")
    ]
    assert conditions(receiver) == [(2, "failed")]


def test_email_is_refused_when_the_admin_configured_no_smtp_server(
    notifier: notify.Notifier,
) -> None:
    body = {
        "namespace": "default",
        "pipeline": "build",
        "subscription": SUB,
        "settings": {"email": {"to": ["ops@example.com"]}},
    }

    with (
        extension.Server(notifier, key=KEY) as served,
        httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {KEY}"}) as hostler,
    ):
        answer = hostler.post("/api/subscribe", json=body)

    assert answer.status_code == 422
    assert answer.json()["field"] == "settings.email"
    assert "SMTP" in answer.json()["detail"]
    assert "HOSTLER_EXTENSION_CONFIG_SMTP_HOST" in answer.json()["hint"]
    assert notifier.subscriptions == {}


HOOK = {"url": "https://hooks.example.com/services/T0/B0"}


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "settings.webhook"),
        ({"when": "sometimes", "webhook": HOOK}, "settings.when"),
        ({"when": "duration", "webhook": HOOK}, "settings.duration"),
        ({"when": "duration", "duration": "soon", "webhook": HOOK}, "settings.duration"),
        ({"when": "duration", "duration": 0, "webhook": HOOK}, "settings.duration"),
        ({"duration": "10m", "webhook": HOOK}, "settings.duration"),
        ({"count": 5, "webhook": HOOK}, "settings.count"),
        ({"when": "failures_in_row", "count": 1, "webhook": HOOK}, "settings.count"),
        ({"when": "success_rate", "window": 1, "webhook": HOOK}, "settings.window"),
        ({"when": "success_rate", "window": 101, "webhook": HOOK}, "settings.window"),
        ({"when": "success_rate", "threshold": 0, "webhook": HOOK}, "settings.threshold"),
        ({"when": "success_rate", "threshold": 101, "webhook": HOOK}, "settings.threshold"),
        ({"when": "failed", "threshold": 50, "webhook": HOOK}, "settings.threshold"),
        ({"webhook": {"url": "ftp://example.com/x"}}, "settings.webhook.url"),
        ({"webhook": {"url": "hooks.example.com"}}, "settings.webhook.url"),
        ({"webhook": {**HOOK, "format": "xml"}}, "settings.webhook.format"),
        ({"webhook": {**HOOK, "headers": {"Bad Name": "x"}}}, "settings.webhook.headers"),
        ({"webhook": HOOK, "email": {"to": []}}, "settings.email.to"),
        ({"webhook": HOOK, "email": {"to": ["not an address"]}}, "settings.email.to"),
        (
            {"webhook": HOOK, "email": {"to": ["a@b.c"], "subject": "x\ny"}},
            "settings.email.subject",
        ),
    ],
)
def test_bad_settings_are_refused_with_422_naming_the_setting(
    clock: Clock, hostler: Hostler, settings: dict[str, Any], field: str
) -> None:
    body = {"namespace": "default", "pipeline": "build", "subscription": SUB, "settings": settings}
    config = notify.Config(smtp_host="127.0.0.1")

    with (
        contextlib.closing(started(clock, hostler, config)) as notifier,
        extension.Server(notifier, key=KEY) as served,
        httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {KEY}"}) as client,
    ):
        answer = client.post("/api/subscribe", json=body)

    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_argument"
    assert answer.json()["field"] == field
    assert answer.json()["hint"]


def test_a_webhook_slow_to_answer_delays_no_other_subscription(
    notifier: notify.Notifier, clock: Clock, hostler: Hostler, receiver: Receiver
) -> None:
    slow = Receiver()
    slow.gate.clear()  # it takes the messages, and answers none yet
    try:
        subscribe(notifier, {"webhook": {"url": slow.url}}, "default/build/slow", pipeline="build")
        follow(notifier, clock, {"webhook": {"url": receiver.url}})

        hostler.ran("default", "build", "failed")
        fakes.tick(notifier, clock)  # polls, without waiting for the messages
        eventually(lambda: len(receiver.received) == 1 and len(slow.received) == 1)
        hostler.ran("default", "build", "failed")
        fakes.tick(notifier, clock)  # the polls go on while the slow webhook says nothing
        eventually(lambda: len(receiver.received) == 2)
        assert len(slow.received) == 1  # its second message waits for its first

        slow.gate.set()
        notifier.flush()
        assert conditions(slow) == conditions(receiver) == [(1, "failed"), (2, "failed")]
    finally:
        slow.close()
