"""The FakeScheduler keeps the scheduler port's promises (those of ``tests/contracts``).

The store fakes are proven by the adapters' own tests, which run against them too
(``tests/unit/storage``, ``tests/unit/logs``). The scheduler's contract suite needs a container
engine, so its promises are asserted here again for the fake, with behaviours instead of commands.
Bounds on time are "does not hang" limits, never measurements.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Iterator, Mapping

import pytest

from hostler import testing
from hostler.core import errors, ports

State = ports.ContainerState
HANG = 10.0
"""Seconds after which a call that should return is taken to hang."""
LABEL = "io.hostler.test"


def spec(task: str = "t", run: str = "1", **labels: str) -> ports.ContainerSpec:
    """Return a spec of a container for ``task`` of ``run``, with a unique name."""
    return ports.ContainerSpec(
        name=f"fake-{uuid.uuid4().hex[:8]}",
        image="busybox",
        command=("true",),
        env={},
        labels={LABEL: "yes", ports.LABEL_PREFIX + "task": task, "run": run, **labels},
    )


def run(fake: testing.FakeScheduler, task: str = "t", run_: str = "1") -> str:
    """Create and start a container for ``task``; return its handle."""
    handle = fake.create(spec(task, run_))
    fake.start(handle)
    return handle


def collect(lines: Iterator[ports.LogLine]) -> list[str]:
    """Return the texts of ``lines``, failing if the iterator does not end in time."""
    got: list[str] = []
    failure: list[BaseException] = []

    def drain() -> None:
        try:
            got.extend(line.text for line in lines)
        except BaseException as exc:  # handed over to the test's thread
            failure.append(exc)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), "log iterator did not end"
    if failure:
        raise failure[0]
    return got


def fake_for(**behaviours: testing.Behaviour) -> testing.FakeScheduler:
    """Return a fake scheduler whose containers behave by task, exiting 0 at once by default."""
    return testing.FakeScheduler(testing.by_task(behaviours))


def test_fake_scheduler_implements_the_port() -> None:
    port: ports.Scheduler = testing.FakeScheduler()
    assert port.capabilities == ports.Capabilities(isolation=False)
    assert port.capabilities.log_follow
    assert port.name == "fake"


def test_create_records_the_container_without_starting_it() -> None:
    fake = testing.FakeScheduler(testing.Behaviour(["hi"]))
    handle = fake.create(spec())
    status = fake.inspect(handle)
    assert (status.state, status.started, status.exit_code) == (State.CREATED, None, None)
    assert status.image_digest is not None and status.image_digest.startswith("sha256:")
    assert collect(fake.logs(handle)) == []
    assert fake.timeline == []


def test_by_default_a_container_exits_0_at_once_printing_nothing() -> None:
    fake = testing.FakeScheduler()
    handle = run(fake)
    status = fake.wait(handle, timeout=HANG)
    assert (status.state, status.exit_code) == (State.EXITED, 0)
    assert status.started is not None and status.finished is not None
    assert status.started <= status.finished
    assert collect(fake.logs(handle)) == []


@pytest.mark.parametrize("code", [0, 3])
def test_wait_returns_the_behaviours_exit_code(code: int) -> None:
    fake = testing.FakeScheduler(testing.Behaviour([], exit_code=code, duration=0.05))
    status = fake.wait(run(fake), timeout=HANG)
    assert (status.state, status.exit_code) == (State.EXITED, code)


def test_wait_with_a_timeout_returns_running_while_the_container_runs() -> None:
    fake = fake_for(t=testing.Behaviour([], duration=testing.FOREVER))
    handle = run(fake)
    assert fake.wait(handle, timeout=0.01).state is State.RUNNING
    assert fake.inspect(handle).state is State.RUNNING


def test_wait_on_a_created_container_returns_at_once() -> None:
    fake = testing.FakeScheduler()
    assert fake.wait(fake.create(spec())).state is State.CREATED


def test_wait_wakes_when_another_thread_ends_the_container() -> None:
    fake = fake_for(t=testing.Behaviour([], exit_code=5, duration=testing.FOREVER))
    handle = run(fake)
    threading.Timer(0.02, fake.end, [handle]).start()
    status = fake.wait(handle, timeout=HANG)
    assert (status.state, status.exit_code) == (State.EXITED, 5)


def test_logs_give_the_lines_printed_then_follow_ends_after_exit() -> None:
    lines = ["one", "", " two  "]
    fake = fake_for(t=testing.Behaviour(lines, duration=0.05))
    handle = run(fake)
    assert collect(fake.logs(handle, follow=True)) == lines
    assert fake.inspect(handle).state is State.EXITED
    assert collect(fake.logs(handle)) == lines


def test_logs_follow_from_before_start_gets_every_line() -> None:
    fake = testing.FakeScheduler(testing.Behaviour(["early", "late"]))
    handle = fake.create(spec())
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.extend(collect(fake.logs(handle, follow=True))))
    reader.start()
    fake.start(handle)
    reader.join(HANG)
    assert not reader.is_alive()
    assert got == ["early", "late"]


def test_logs_since_leave_out_earlier_lines() -> None:
    fake = testing.FakeScheduler(testing.Behaviour(["a", "b"]))
    handle = run(fake)
    [first, _] = list(fake.logs(handle))
    later = first.time + datetime.timedelta(microseconds=1)
    assert collect(fake.logs(handle, since=first.time)) == ["a", "b"]
    assert collect(fake.logs(handle, since=later)) == []
    assert all(line.stream == "stdout" and line.time.tzinfo for line in fake.logs(handle))


def test_stop_ends_a_container_that_honours_sigterm_with_143() -> None:
    fake = fake_for(t=testing.Behaviour([], duration=testing.FOREVER))
    handle = run(fake)
    fake.stop(handle, grace=HANG)
    status = fake.inspect(handle)
    assert (status.state, status.exit_code) == (State.EXITED, testing.SIGTERM_EXIT)
    assert fake.signals == [(handle, "TERM")]


def test_stop_kills_a_container_that_ignores_sigterm_after_the_grace_with_137() -> None:
    fake = fake_for(t=testing.Behaviour([], duration=testing.FOREVER, ignores_term=True))
    handle = run(fake)
    fake.stop(handle, grace=0.05)
    status = fake.inspect(handle)
    assert (status.state, status.exit_code) == (State.EXITED, testing.SIGKILL_EXIT)
    assert fake.signals == [(handle, "TERM"), (handle, "KILL")]
    assert testing.Call("stop", handle, grace=0.05) in fake.calls


def test_a_container_that_ignores_sigterm_but_ends_within_the_grace_keeps_its_code() -> None:
    fake = fake_for(t=testing.Behaviour([], exit_code=4, duration=0.05, ignores_term=True))
    handle = run(fake)
    fake.stop(handle, grace=HANG)
    assert fake.inspect(handle).exit_code == 4
    assert fake.signals == [(handle, "TERM")]


def test_stop_of_a_created_container_changes_nothing() -> None:
    fake = testing.FakeScheduler()
    handle = fake.create(spec())
    fake.stop(handle, grace=0)
    assert fake.inspect(handle).state is State.CREATED
    assert fake.signals == []


def test_stop_and_remove_are_idempotent() -> None:
    fake = fake_for(t=testing.Behaviour([], duration=testing.FOREVER))
    handle = run(fake)
    fake.stop(handle, grace=0)
    fake.stop(handle, grace=0)
    fake.remove(handle)
    fake.remove(handle)
    fake.stop(handle, grace=0)
    assert fake.inspect(handle).state is State.MISSING
    assert fake.signals == [(handle, "TERM")]


def test_remove_kills_a_running_container() -> None:
    fake = fake_for(t=testing.Behaviour([], duration=testing.FOREVER))
    handle = run(fake)
    fake.remove(handle)
    assert fake.signals == [(handle, "KILL")]
    assert fake.alive() == []


def test_a_removed_container_is_missing_everywhere() -> None:
    fake = fake_for(t=testing.Behaviour(["x"], duration=testing.FOREVER))
    handle = run(fake)
    fake.remove(handle)
    assert fake.inspect(handle).state is State.MISSING
    assert fake.wait(handle, timeout=HANG).state is State.MISSING
    assert fake.list({LABEL: "yes"}) == []
    with pytest.raises(errors.NotFound, match=r"^container 'fake-1': not found$"):
        fake.start(handle)
    with pytest.raises(errors.NotFound):
        collect(fake.logs(handle))
    assert fake.handles() == [handle]


def test_a_followed_log_ends_when_the_container_is_removed() -> None:
    fake = fake_for(t=testing.Behaviour(["x"], duration=testing.FOREVER))
    handle = run(fake)
    threading.Timer(0.02, fake.remove, [handle]).start()
    assert collect(fake.logs(handle, follow=True)) == ["x"]


def test_an_unknown_handle_is_missing() -> None:
    assert testing.FakeScheduler().inspect("no-such-container").state is State.MISSING


def test_labels_round_trip_and_list_filters_by_every_label() -> None:
    fake = testing.FakeScheduler()
    first = fake.create(spec(role="first"))
    second = fake.create(spec(role="second"))
    assert fake.inspect(first).labels == spec(role="first").labels
    assert [s.handle for s in fake.list({LABEL: "yes"})] == [first, second]
    assert [s.handle for s in fake.list({LABEL: "yes", "role": "first"})] == [first]
    assert fake.list({"role": "third"}) == []


def test_list_includes_exited_containers_with_their_exit_code() -> None:
    fake = testing.FakeScheduler(testing.Behaviour([], exit_code=5))
    handle = run(fake)
    [status] = fake.list({LABEL: "yes"})
    assert (status.handle, status.state, status.exit_code) == (handle, State.EXITED, 5)


def test_a_name_in_use_is_already_exists() -> None:
    fake = testing.FakeScheduler()
    taken = spec()
    fake.create(taken)
    with pytest.raises(errors.AlreadyExists):
        fake.create(taken)


def test_failing_create_makes_no_container_and_failing_start_leaves_it_created() -> None:
    fake = fake_for(
        a=testing.Behaviour([], fail_create=errors.Unavailable("engine down")),
        b=testing.Behaviour([], fail_start=errors.InvalidArgument("bad spec")),
    )
    with pytest.raises(errors.Unavailable, match="engine down"):
        fake.create(spec("a"))
    handle = fake.create(spec("b"))
    with pytest.raises(errors.InvalidArgument, match="bad spec"):
        fake.start(handle)
    assert [s.labels[ports.LABEL_PREFIX + "task"] for s in fake.created] == ["a", "b"]
    assert [s.state for s in fake.list({})] == [State.CREATED]


def test_every_call_is_recorded_in_order() -> None:
    fake = testing.FakeScheduler()
    handle = run(fake)
    fake.wait(handle)
    fake.remove(handle)
    fake.close()
    assert [(c.method, c.handle) for c in fake.calls] == [
        ("create", None),
        ("start", handle),
        ("wait", handle),
        ("remove", handle),
        ("close", None),
    ]


def test_end_makes_a_running_container_exit_and_refuses_others() -> None:
    fake = fake_for(t=testing.Behaviour([], exit_code=2, duration=testing.FOREVER))
    handle = run(fake)
    fake.end(handle, exit_code=7)
    assert fake.inspect(handle).exit_code == 7
    with pytest.raises(errors.FailedPrecondition):
        fake.end(handle)


def test_the_timeline_and_the_most_alive_at_once() -> None:
    forever = testing.Behaviour([], duration=testing.FOREVER)
    fake = testing.FakeScheduler(forever)
    a = run(fake, "a", "1")
    b = run(fake, "b", "1")
    fake.end(a)
    c = run(fake, "c", "2")
    fake.end(b)
    fake.end(c)
    d = run(fake, "d", "3")
    fake.end(d)

    def by_run(labels: Mapping[str, str]) -> str:
        return labels["run"]

    assert [(e.kind, e.handle) for e in fake.timeline] == [
        ("started", a),
        ("started", b),
        ("exited", a),
        ("started", c),
        ("exited", b),
        ("exited", c),
        ("started", d),
        ("exited", d),
    ]
    assert fake.max_alive == 2
    assert fake.most_alive_at_once(by_run) == 2
    assert fake.alive() == []


def test_containers_that_ran_one_after_the_other_were_never_alive_together() -> None:
    fake = testing.FakeScheduler()
    for task in ["a", "b", "c"]:
        fake.wait(run(fake, task), timeout=HANG)
    assert fake.max_alive == 1
