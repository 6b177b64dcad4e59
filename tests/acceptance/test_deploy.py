"""Deployments on the real server, through the real CLI: rollback, canaries, dry runs, history."""

from __future__ import annotations

import json
import os
import pathlib
import pty
import sqlite3
import subprocess
import time
from typing import Any

import httpx
import pytest

from hostler.testing.process import HOSTLER

from .conftest import Server
from .test_user_story import ok, write

pytestmark = pytest.mark.docker


def pipeline(name: str, command: str, *, tasks: int = 1) -> str:
    lines = [f"id: {name}", "tasks:"]
    for n in range(tasks):
        lines.append(f'  - {{id: t{n}, image: "busybox:stable", command: ["{command}"]}}')
    return "\n".join(lines) + "\n"


def register(server: Server, tmp_path: pathlib.Path, name: str, command: str, **kw: Any) -> int:
    """Register a version of pipeline ``name`` without deploying it; return its number."""
    path = write(
        tmp_path, f"{name}-{command}-{kw.get('tasks', 1)}.yaml", pipeline(name, command, **kw)
    )
    answer = json.loads(ok(server.cli("pipeline", "register", path, "-o", "json")))
    number: int = answer["version"]["version"]
    return number


def api(server: Server, method: str, path: str, **kw: Any) -> Any:
    answer = httpx.request(method, f"{server.url}/api/v1/namespaces/default{path}", **kw)
    answer.raise_for_status()
    return answer.json()


def start_runs(server: Server, name: str, count: int) -> list[dict[str, Any]]:
    """Start ``count`` runs through the API (the CLI starts one more); return them in order."""
    started = [api(server, "POST", f"/pipelines/{name}/runs", json={}) for _ in range(count - 1)]
    cli = json.loads(ok(server.cli("run", "start", name, "-o", "json")))
    return [*started, cli]


def deployments(server: Server, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api(server, "GET", f"/pipelines/{name}/deployments")["items"]
    return items


def dump(server: Server) -> list[str]:
    """Return the whole database as SQL text: equal dumps mean nothing changed."""
    with sqlite3.connect(server.data_dir / "hostler.db") as db:
        return list(db.iterdump())


def answer_prompt(server: Server, answer: str, *args: str) -> str:
    """Run ``hostler ARGS`` on a terminal, type ``answer`` at its prompt; return its output."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [HOSTLER, *args],
            env=server.env(),
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        os.write(leader, f"{answer}\n".encode())
        out, _ = process.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    assert process.returncode == 0, out
    return out


def test_deploy_rolls_back_refuses_the_live_version_and_keeps_history(
    server: Server, tmp_path: pathlib.Path
) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "v1.yaml", pipeline("rb", "true")), "-y"))
    two = register(server, tmp_path, "rb", "true", tasks=2)

    deployed = ok(server.cli("pipeline", "deploy", "rb", str(two), "-y"))
    assert deployed.splitlines()[0] == "Deploy rb v1 → v2: 1 task added, 0 changed, 0 removed"
    assert deployed.splitlines()[-1] == "pipeline 'default/rb': v2 is live (deployment 2)"

    back = ok(server.cli("pipeline", "deploy", "rb", "1", "-y"))
    assert back.splitlines()[0] == "ROLLBACK rb v2 → v1: 0 tasks added, 0 changed, 1 removed"
    assert (
        back.splitlines()[-1]
        == "pipeline 'default/rb': rolled back to v1, it is live (deployment 3)"
    )

    same = server.cli("pipeline", "deploy", "rb", "1", "-y")
    assert same.returncode == 1
    assert same.stdout == ""
    assert same.stderr.splitlines() == [
        "error: pipeline 'default/rb': v1 is the live version already",
        "hint: add --force-same-version (force_same_version) to deploy it again",
    ]
    forced = ok(server.cli("pipeline", "deploy", "rb", "1", "--force-same-version", "-y"))
    assert forced.splitlines()[0] == "Redeploy rb v1, the live version: no task changes"

    history = deployments(server, "rb")
    assert [(d["kind"], d["from_version"], d["to_version"]) for d in history] == [
        ("redeploy", 1, 1),
        ("rollback", 2, 1),
        ("deploy", 1, 2),
        ("deploy", None, 1),
    ]
    assert {d["actor"] for d in history} == {"anonymous"}
    table = ok(server.cli("pipeline", "history", "rb"))
    assert "ROLLBACK" in table and "redeploy" in table

    diff = ok(server.cli("pipeline", "diff", "rb", "1", "2"))
    assert diff.splitlines()[0] == "Deploy rb v1 → v2: 1 task added, 0 changed, 0 removed"


def test_dry_runs_and_declined_prompts_change_nothing(
    server: Server, tmp_path: pathlib.Path
) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "v1.yaml", pipeline("dry", "true")), "-y"))
    two = register(server, tmp_path, "dry", "true", tasks=2)
    three = write(tmp_path, "v3.yaml", pipeline("dry", "true", tasks=3))
    before = dump(server)

    for args in (
        ("pipeline", "deploy", "dry", str(two), "--dry-run"),
        ("pipeline", "deploy", "dry", str(two), "--canary", "50", "--dry-run"),
        ("pipeline", "up", three, "--dry-run"),
    ):
        assert ok(server.cli(*args)).startswith(("Deploy dry", "Canary dry"))
    declined = answer_prompt(server, "n", "pipeline", "deploy", "dry", str(two))
    assert "Proceed? [y/N]" in declined and "Nothing changed." in declined
    declined = answer_prompt(server, "n", "pipeline", "up", three)
    assert "Nothing changed." in declined
    refused = server.cli("pipeline", "deploy", "dry", str(two))  # no terminal, no -y
    assert refused.returncode == 1 and "add -y" in refused.stderr

    assert dump(server) == before
    accepted = answer_prompt(server, "y", "pipeline", "deploy", "dry", str(two))
    assert "v2 is live" in accepted
    assert dump(server) != before


def test_a_canary_takes_exactly_its_share_then_abort_and_promote(
    server: Server, tmp_path: pathlib.Path
) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "v1.yaml", pipeline("can", "true")), "-y"))
    two = register(server, tmp_path, "can", "true", tasks=2)

    started = ok(server.cli("pipeline", "deploy", "can", str(two), "--canary", "50", "-y"))
    assert (
        started.splitlines()[0] == "Canary can v1 → v2 at 50%: 1 task added, 0 changed, 0 removed"
    )
    assert "50% of new runs go to v2, the rest to v1" in started
    runs = start_runs(server, "can", 40)
    assert [(r["version"], r["route"]) for r in runs] == [(1, "live"), (2, "canary")] * 20
    listed = ok(server.cli("run", "list", "can", "--limit", "2"))
    assert "2 (canary)" in listed

    refused = server.cli("pipeline", "deploy", "can", "1", "--force-same-version", "-y")
    assert refused.returncode == 1 and "a canary of v2 is in progress" in refused.stderr

    aborted = ok(server.cli("pipeline", "deploy", "can", "--abort", "-y"))
    assert aborted.splitlines()[0] == "Abort the canary of can v2: every new run goes to v1 again"
    assert "v2: 20 runs" in aborted
    after = start_runs(server, "can", 10)
    assert {(r["version"], r["route"]) for r in after} == {(1, "live")}

    ok(server.cli("pipeline", "deploy", "can", str(two), "--canary", "25", "-y"))
    quarter = start_runs(server, "can", 8)
    assert [r["version"] for r in quarter] == [1, 1, 1, 2] * 2
    promoted = ok(server.cli("pipeline", "deploy", "can", "--promote", "-y"))
    assert promoted.splitlines()[0] == "Promote can v1 → v2: 1 task added, 0 changed, 0 removed"
    assert (
        promoted.splitlines()[-1]
        == "pipeline 'default/can': v2 promoted, it is live (deployment 3)"
    )
    assert {(r["version"], r["route"]) for r in start_runs(server, "can", 4)} == {(2, "live")}

    history = deployments(server, "can")
    assert [(d["kind"], d["state"], d["percent"]) for d in history] == [
        ("canary", "promoted", 25),
        ("canary", "aborted", 50),
        ("deploy", "deployed", None),
    ]
    tallies = {t["version"]: t["runs"] for t in history[1]["tallies"]}
    assert tallies == {1: 30, 2: 20}  # 20 + 20 during the canary, 10 live after its abort


def test_a_failing_canary_is_aborted_automatically(server: Server, tmp_path: pathlib.Path) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "v1.yaml", pipeline("auto", "true")), "-y"))
    bad = register(server, tmp_path, "auto", "false")
    ok(
        server.cli(
            "pipeline",
            "deploy",
            "auto",
            str(bad),
            "--canary",
            "50",
            "--max-failure-rate",
            "40",
            "--window",
            "4",
            "-y",
        )
    )
    start_runs(server, "auto", 8)
    deadline = time.monotonic() + 60
    while deployments(server, "auto")[0]["state"] == "canary":
        assert time.monotonic() < deadline, "the canary was not aborted"
        time.sleep(0.5)

    canary = deployments(server, "auto")[0]
    assert canary["state"] == "aborted"
    assert canary["reason"].startswith("aborted automatically: ")
    assert "of the last 4 runs of the candidate failed (more than 40%)" in canary["reason"]
    assert {(r["version"], r["route"]) for r in start_runs(server, "auto", 4)} == {(1, "live")}
    records = json.loads(ok(server.cli("history", "--kind", "pipeline.abort", "-o", "json")))
    (record,) = [r for r in records["items"] if r["target"] == "default/auto"]
    assert (record["actor"], record["outcome"]) == ("hostler", "succeeded")
    assert "(auto)" in ok(server.cli("pipeline", "history", "auto"))


def test_runs_use_the_live_version_never_the_newest_registered(
    server: Server, tmp_path: pathlib.Path
) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "v1.yaml", pipeline("newest", "true")), "-y"))
    register(server, tmp_path, "newest", "true", tasks=2)
    register(server, tmp_path, "newest", "true", tasks=3)
    assert {r["version"] for r in start_runs(server, "newest", 3)} == {1}


def test_history_lists_admin_operations_with_filters(
    server: Server, tmp_path: pathlib.Path
) -> None:
    ok(server.cli("namespace", "create", "audited"))
    ok(server.cli("pipeline", "up", write(tmp_path, "v1.yaml", pipeline("hist", "true")), "-y"))
    # the CLI plans first and stops at the refusal; a client that deploys without planning is
    # refused by the deploy itself, which is recorded
    path = f"{server.url}/api/v1/namespaces/default/pipelines/hist/deployments"
    assert httpx.post(path, json={"version": 1}).status_code == 409

    records = json.loads(ok(server.cli("history", "--all", "-o", "json")))["items"]
    kinds = [(r["kind"], r["target"], r["outcome"]) for r in records]
    assert ("namespace.create", "audited", "succeeded") in kinds
    assert ("version.register", "default/hist", "succeeded") in kinds
    assert ("pipeline.deploy", "default/hist", "succeeded") in kinds
    refused = [r for r in records if r["kind"] == "pipeline.deploy" and r["outcome"] == "failed"]
    assert any("v1 is the live version already" in (r["error"] or "") for r in refused)
    only = json.loads(ok(server.cli("history", "--kind", "namespace", "--all", "-o", "json")))
    assert {r["kind"] for r in only["items"]} == {"namespace.create"}
    future = json.loads(ok(server.cli("history", "--since", "2999-01-01", "-o", "json")))
    assert future["items"] == []
    table = ok(server.cli("history", "--limit", "5"))
    assert "OPERATION" in table and "pipeline.deploy" in table


def test_of_two_deploys_planned_against_one_live_version_one_conflicts(
    server: Server, tmp_path: pathlib.Path
) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "v1.yaml", pipeline("race", "true")), "-y"))
    two = register(server, tmp_path, "race", "true", tasks=2)
    three = register(server, tmp_path, "race", "true", tasks=3)
    path = f"{server.url}/api/v1/namespaces/default/pipelines/race/deployments"
    plans = [
        httpx.post(path, json={"version": v, "dry_run": True}).json()["plan"] for v in (two, three)
    ]
    assert [p["from_version"] for p in plans] == [1, 1]

    first = httpx.post(path, json={"version": two, "planned_against": 1})
    second = httpx.post(path, json={"version": three, "planned_against": 1})
    assert first.status_code == 201
    assert second.status_code == 409
    problem = second.json()
    assert problem["code"] == "conflict" and problem["field"] == "planned_against"
    assert "the live version is v2 now, not v1 as planned" in problem["detail"]
    assert "plan again" in problem["hint"]
    assert api(server, "GET", "/pipelines/race")["live_version"] == two
