"""The supervisor over a real extension process: subscribing, restarting, stopping."""

from __future__ import annotations

import os
import pathlib
import signal
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from hostler.core import errors, extensions, subscriptions
from hostler.supervisor import supervisor

RECORDER = pathlib.Path(__file__).with_name("recorder.py")
HANG = 20.0


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def sub(trigger: str, **settings: object) -> subscriptions.Subscription:
    return subscriptions.Subscription(
        f"default/p/{trigger}", "recorder", "default", "p", dict(settings)
    )


class Harness:
    def __init__(self, tmp_path: pathlib.Path) -> None:
        self.record = tmp_path / "record"
        self.record.touch()
        self.wanted: list[subscriptions.Subscription] = []
        self.supervisor = supervisor.Supervisor(
            [
                supervisor.Installed(
                    "recorder", [sys.executable, str(RECORDER)], {"record": str(self.record)}
                )
            ],
            log_dir=tmp_path / "logs",
            api_url="http://127.0.0.1:9",
            token=lambda name: f"token-of-{name}",
            wanted=lambda: list(self.wanted),
            round_seconds=0.1,
        )

    def lines(self) -> list[list[str]]:
        return [line.split(" ", 3) for line in self.record.read_text().splitlines()]

    def changes(self) -> list[tuple[str, str, str]]:
        return [(what, sid, settings) for _, what, sid, settings in self.lines()]

    def status(self) -> extensions.Status:
        [found] = self.supervisor.statuses()
        return found


@pytest.fixture
def harness(tmp_path: pathlib.Path) -> Iterator[Harness]:
    made = Harness(tmp_path)
    made.supervisor.start()
    try:
        yield made
    finally:
        made.supervisor.stop()


def test_subscriptions_follow_what_is_wanted(harness: Harness) -> None:
    harness.wanted = [sub("a", every=1), sub("b", every=2)]
    until(lambda: len(harness.lines()) == 2, "both subscribed")
    harness.wanted = [sub("a", every=5)]
    until(lambda: len(harness.lines()) == 5, "a changed and b removed")
    time.sleep(0.5)  # rounds go on: nothing is sent again
    assert harness.changes() == [
        ("subscribe", "default/p/a", '{"every": 1, "refuse": false}'),
        ("subscribe", "default/p/b", '{"every": 2, "refuse": false}'),
        ("unsubscribe", "default/p/a", "{}"),  # the SDK replaces a changed subscription
        ("subscribe", "default/p/a", '{"every": 5, "refuse": false}'),
        ("unsubscribe", "default/p/b", "{}"),
    ]
    assert harness.status().state == "running"
    assert harness.status().subscriptions == 1


def test_refused_settings_are_not_sent_again_until_they_change(harness: Harness) -> None:
    harness.wanted = [sub("a", refuse=True), sub("b")]
    until(lambda: len(harness.lines()) == 1, "b subscribed")
    time.sleep(0.5)
    assert [sid for _, sid, _ in harness.changes()] == ["default/p/b"]
    assert harness.status().subscriptions == 1
    harness.wanted = [sub("a"), sub("b")]
    until(lambda: len(harness.lines()) == 2, "a subscribed once its settings changed")


def test_a_killed_extension_is_restarted_and_subscribed_again(harness: Harness) -> None:
    harness.wanted = [sub("a", every=1)]
    until(lambda: len(harness.lines()) == 1, "subscribed")
    first = harness.status().pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    until(lambda: len(harness.lines()) == 2, "subscribed again after the restart")
    pids = [pid for pid, *_ in harness.lines()]
    assert pids[0] == str(first) and pids[1] != str(first)
    assert harness.status().restarts == 1
    logged = harness.supervisor.log("recorder", 1000)
    assert sum("extension listening" in line for line in logged) == 2
    assert len(harness.supervisor.log("recorder", 1)) == 1


def test_the_log_of_an_extension_that_is_not_installed_is_not_found(harness: Harness) -> None:
    with pytest.raises(errors.NotFound):
        harness.supervisor.log("ghost", 10)


def test_stopping_stops_the_extension(tmp_path: pathlib.Path) -> None:
    made = Harness(tmp_path)
    made.supervisor.start()
    until(lambda: made.status().state == "running", "the extension runs")
    pid = made.status().pid
    made.supervisor.stop()
    assert pid is not None
    until(lambda: not _exists(pid), "the extension's process is gone")


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_delivery_reaches_the_extension_and_its_answer_comes_back(harness: Harness) -> None:
    harness.wanted = [sub("a")]
    until(lambda: len(harness.lines()) == 1, "subscribed")
    delivery = extensions.Delivery("default/p/a", "POST", "/default/p/a", {}, {}, b"\x00\xffdata")
    reply = harness.supervisor.forward("recorder", delivery)
    assert (reply.status, reply.body) == (202, {"subscription": "default/p/a", "bytes": 6})
    with pytest.raises(errors.NotFound):
        harness.supervisor.forward("ghost", delivery)
