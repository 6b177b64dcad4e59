"""A server killed in the middle of a deploy: the audit history shows it incomplete, and the
pipeline is on exactly one of the two versions."""

from __future__ import annotations

import json
import pathlib
import sys
import time

import pytest

from hostler.testing.process import HOSTLER, ServerProcess

from .conftest import Server
from .test_user_story import ok, write

pytestmark = pytest.mark.docker

# Runs the server with the store patched to stop at one point of a deploy, once the test has armed
# it: before the deployment is written ("write"), or after it is written and before the audit
# record is finished ("finish").
LAUNCHER = """
import os, pathlib, sys, time
from hostler.storage import store

mark, at = pathlib.Path(os.environ["CRASH_MARK"]), os.environ["CRASH_AT"]
armed = pathlib.Path(os.environ["CRASH_ARMED"])
save, finish = store.Store.save_deployment, store.Store.finish_history
saved = []

def stop_here():
    mark.touch()
    time.sleep(3600)

def save_deployment(self, *args, **kwargs):
    if not armed.exists():
        return save(self, *args, **kwargs)
    if at == "write":
        stop_here()
    saved.append(True)
    return save(self, *args, **kwargs)

def finish_history(self, *args, **kwargs):
    if at == "finish" and saved:
        stop_here()
    return finish(self, *args, **kwargs)

store.Store.save_deployment = save_deployment
store.Store.finish_history = finish_history
sys.argv[0] = "hostler"
from hostler.cli.main import app
app()
"""

V1 = 'id: crash\ntasks:\n  - {id: a, image: "busybox:stable", command: ["true"]}\n'
V2 = V1 + '  - {id: b, image: "busybox:stable", command: ["true"]}\n'


@pytest.mark.parametrize(("at", "live"), [("write", 1), ("finish", 2)])
def test_a_deploy_killed_midway_is_incomplete_and_on_one_version(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, at: str, live: int
) -> None:
    launcher = tmp_path / "launcher.py"
    launcher.write_text(LAUNCHER)
    mark, armed = tmp_path / "stopped", tmp_path / "armed"
    monkeypatch.setenv("CRASH_MARK", str(mark))
    monkeypatch.setenv("CRASH_ARMED", str(armed))
    monkeypatch.setenv("CRASH_AT", at)
    data_dir = tmp_path / "data"
    patched = ServerProcess(data_dir, command=[sys.executable, str(launcher)])
    patched.start()
    try:
        server = Server(patched.url, data_dir, patched.log)
        ok(server.cli("pipeline", "up", write(tmp_path, "v1.yaml", V1), "-y"))
        ok(server.cli("pipeline", "register", write(tmp_path, "v2.yaml", V2)))
        armed.touch()
        deploying = server.popen("pipeline", "deploy", "crash", "2", "-y")
        deadline = time.monotonic() + 30
        while not mark.exists():
            assert time.monotonic() < deadline, "the deploy never reached the point to stop at"
            time.sleep(0.05)
        patched.kill()
        _, stderr = deploying.communicate(timeout=30)
        assert deploying.returncode != 0
        assert "Traceback" not in stderr
    finally:
        patched.kill()

    restarted = ServerProcess(data_dir, port=patched.port, command=[HOSTLER])
    restarted.start()
    try:
        server = Server(restarted.url, data_dir, restarted.log)
        records = json.loads(ok(server.cli("history", "--kind", "pipeline.deploy", "-o", "json")))
        newest = records["items"][0]
        assert (newest["target"], newest["outcome"]) == ("default/crash", "incomplete")
        assert newest["finished"] is not None
        pipeline = json.loads(ok(server.cli("pipeline", "get", "crash", "-o", "json")))
        assert pipeline["live_version"] == live
        table = ok(server.cli("history", "--kind", "pipeline.deploy"))
        assert "incomplete" in table
    finally:
        restarted.stop()
