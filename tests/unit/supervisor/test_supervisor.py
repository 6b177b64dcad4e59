"""The supervisor over a real extension process: subscribing, restarting, stopping."""

from __future__ import annotations

import os
import pathlib
import signal
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from hostler.core import errors, extensions, ports, subscriptions
from hostler.schedulers import local
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
    """A supervisor of the recorder: a child process, or with ``scheduler`` a "container" of the
    local scheduler (a host process it runs from a spec, as the Docker engine runs an image)."""

    def __init__(self, tmp_path: pathlib.Path, scheduler: ports.Scheduler | None = None) -> None:
        self.record = tmp_path / "record"
        self.record.touch()
        self.wanted: list[subscriptions.Subscription] = []
        self.scheduler = scheduler
        self.labels = {"installation": "test", "instance": tmp_path.name}
        self.installed = [self.recorder()]
        self.supervisor = supervisor.Supervisor(
            lambda: list(self.installed),
            log_dir=tmp_path / "logs",
            api_url="http://127.0.0.1:9",
            token=lambda name: f"token-of-{name}",
            wanted=lambda: list(self.wanted),
            scheduler=scheduler,
            labels=self.labels,
            round_seconds=0.1,
        )

    def recorder(
        self, name: str = "recorder", image: str = "recorder:1.0.0"
    ) -> supervisor.Installed:
        return supervisor.Installed(
            name,
            [sys.executable, str(RECORDER)],
            {"record": str(self.record)},
            image=image if self.scheduler is not None else None,
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


def test_an_extension_installed_meanwhile_is_started_and_one_removed_is_stopped(
    harness: Harness,
) -> None:
    harness.wanted = [sub("a")]
    until(lambda: harness.status().state == "running", "the first runs")
    first = harness.status().pid
    harness.installed.append(harness.recorder("second"))
    harness.supervisor.wake()
    until(lambda: len(harness.supervisor.statuses()) == 2, "the second is known")
    until(lambda: harness.supervisor.statuses()[1].state == "running", "the second runs")
    harness.installed = [harness.recorder("second")]
    harness.supervisor.wake()
    until(lambda: len(harness.supervisor.statuses()) == 1, "the first is gone")
    assert first is not None
    until(lambda: not _exists(first), "the first's process is gone")
    with pytest.raises(errors.NotFound):
        harness.supervisor.log("recorder", 10)


# -- extensions from images, run through a scheduler -------------------------------------------


@pytest.fixture
def scheduler(tmp_path: pathlib.Path) -> Iterator[local.Scheduler]:
    built = local.Scheduler(local.Config(work_dir=tmp_path / "work"))
    yield built
    built.close()


@pytest.fixture
def contained(tmp_path: pathlib.Path, scheduler: local.Scheduler) -> Iterator[Harness]:
    made = Harness(tmp_path, scheduler)
    made.supervisor.start()
    try:
        yield made
    finally:
        made.supervisor.stop()


def containers(harness: Harness) -> list[ports.ContainerStatus]:
    assert harness.scheduler is not None
    return harness.scheduler.list({"io.hostler.extension.installation": "test"})


def test_an_image_runs_through_the_scheduler_with_its_labels(contained: Harness) -> None:
    contained.wanted = [sub("a", every=1)]
    until(lambda: len(contained.lines()) == 1, "subscribed")
    [found] = containers(contained)
    assert found.state == ports.ContainerState.RUNNING
    assert found.labels["io.hostler.extension.name"] == "recorder"
    assert found.labels["io.hostler.extension.instance"] == contained.labels["instance"]
    assert (contained.status().state, contained.status().pid) == ("running", None)
    until(
        lambda: any("extension listening" in x for x in contained.supervisor.log("recorder", 50)),
        "its output is in its log",
    )


def test_a_container_that_ends_is_removed_started_again_and_subscribed_again(
    contained: Harness,
) -> None:
    assert contained.scheduler is not None
    contained.wanted = [sub("a", every=1)]
    until(lambda: len(contained.lines()) == 1, "subscribed")
    [first] = containers(contained)
    contained.scheduler.stop(first.handle, 0)
    until(lambda: len(contained.lines()) == 2, "subscribed again after the restart")
    [second] = containers(contained)
    assert second.handle != first.handle
    assert contained.status().restarts == 1


def test_an_update_starts_the_new_image_and_subscribes_it_again(contained: Harness) -> None:
    contained.wanted = [sub("a", every=1)]
    until(lambda: len(contained.lines()) == 1, "subscribed")
    [first] = containers(contained)
    contained.installed = [contained.recorder(image="recorder:1.1.0")]
    contained.supervisor.wake()
    until(lambda: len(contained.lines()) == 2, "the new container subscribed")
    [second] = containers(contained)
    assert second.handle != first.handle


def test_stopping_and_removing_remove_the_containers(
    tmp_path: pathlib.Path, scheduler: local.Scheduler
) -> None:
    made = Harness(tmp_path, scheduler)
    made.supervisor.start()
    until(lambda: made.status().state == "running", "the extension runs")
    made.installed = []
    made.supervisor.wake()
    until(lambda: not containers(made), "its container is removed")
    made.installed = [made.recorder()]
    made.supervisor.wake()
    until(lambda: len(containers(made)) == 1, "it runs again")
    made.supervisor.stop()
    assert containers(made) == []


def test_containers_left_by_a_server_that_died_are_removed_at_start(
    tmp_path: pathlib.Path, scheduler: local.Scheduler
) -> None:
    left = scheduler.create(
        ports.ContainerSpec(
            name="left",
            image="recorder:0.9.0",
            command=("sleep", "60"),
            env={},
            labels={
                "io.hostler.extension.installation": "test",
                "io.hostler.extension.instance": tmp_path.name,
                "io.hostler.extension.name": "recorder",
            },
        )
    )
    scheduler.start(left)
    made = Harness(tmp_path, scheduler)
    made.installed = []
    made.supervisor.start()
    try:
        assert scheduler.inspect(left).state == ports.ContainerState.MISSING
    finally:
        made.supervisor.stop()
