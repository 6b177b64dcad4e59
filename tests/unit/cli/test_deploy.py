"""``hostler pipeline deploy|register|versions|diff|history``: versions and their deployments."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from . import canned
from .conftest import Invoke, lines
from .fakeapi import FakeApi

HELLO = "/namespaces/default/pipelines/hello"
DEPLOYMENTS = f"{HELLO}/deployments"
PROMOTE = f"{HELLO}/canary/promote"
ABORT = f"{HELLO}/canary/abort"


def plan(action: str, from_version: int | None, to_version: int, *text: str) -> dict[str, Any]:
    """Return a plan of default/hello as the API answers it; ``text`` is the plan for people."""
    return {
        "pipeline": "hello",
        "action": action,
        "from_version": from_version,
        "to_version": to_version,
        "headline": text[0],
        "text": list(text),
    }


UPGRADE = plan(
    "upgrade",
    3,
    4,
    "Deploy hello v3 → v4: 1 task added, 1 changed, 0 removed",
    "",
    "Tasks:",
    "  ~ fetch",
    "      image: busybox:1.36 → busybox:1.37",
    "  + report                    (added)",
    "",
    "Runs in flight: none",
)
ROLLBACK = plan(
    "rollback",
    4,
    3,
    "ROLLBACK hello v4 → v3: 0 tasks added, 1 changed, 1 removed",
    "",
    "Tasks:",
    "  ~ fetch",
    "      image: busybox:1.37 → busybox:1.36",
    "  - report                    (removed)",
    "",
    "Runs in flight: 2 (they finish on v4)",
)
REDEPLOY = plan(
    "redeploy",
    4,
    4,
    "Redeploy hello v4, the live version: no task changes",
    "",
    "Runs in flight: none",
)
CANARY = plan(
    "canary",
    3,
    4,
    "Canary hello v3 → v4 at 50%: 1 task added, 1 changed, 0 removed",
    "",
    "Tasks:",
    "  ~ fetch",
    "      image: busybox:1.36 → busybox:1.37",
    "  + report                    (added)",
    "",
    "Routing:",
    "  50% of new runs go to v4, the rest to v3",
    "  aborted automatically when more than 20% of the last 10 runs of the candidate fail",
    "",
    "Runs in flight: none",
)
PROMOTION = plan(
    "promote",
    3,
    4,
    "Promote hello v3 → v4: 1 task added, 1 changed, 0 removed",
    "",
    "Tasks:",
    "  ~ fetch",
    "      image: busybox:1.36 → busybox:1.37",
    "  + report                    (added)",
    "",
    "Routing:",
    "  the canary took 50% of new runs",
    "  every new run goes to v4 from now on",
    "  runs since the canary began:",
    "    v3: 10 runs (100% successful)",
    "    v4: 9 runs (89% successful)",
    "",
    "Runs in flight: none",
)
# An abort goes from the candidate (v4) back to the live version (v3).
ABORTION = plan(
    "abort",
    4,
    3,
    "Abort the canary of hello v4: every new run goes to v3 again",
    "",
    "Routing:",
    "  the canary took 50% of new runs",
    "  runs since the canary began:",
    "    v3: 10 runs (100% successful)",
    "    v4: 9 runs (89% successful)",
    "",
    "Runs in flight: 1 (it finishes on its version)",
)
AUTO_ABORT = {"max_failure_rate": 20, "window": 10}


def shown(answer: dict[str, Any]) -> str:
    """Return the plan of ``answer`` as the CLI prints it."""
    return "\n".join(answer["text"]) + "\n"


def deploy_on(api: FakeApi, planned: dict[str, Any], deployment: dict[str, Any]) -> None:
    """Answer the dry run with ``planned``, then the deploy with ``deployment`` done."""
    live = deployment["from_version"] if deployment["state"] == "canary" else planned["to_version"]
    api.on(
        "POST",
        DEPLOYMENTS,
        (200, canned.deploy_result(planned)),
        (201, canned.deploy_result(planned, deployment, live_version=live)),
    )


# deploy ---------------------------------------------------------------------------------------


def test_deploy_shows_the_plan_then_with_yes_deploys_and_says_what_is_live(
    api: FakeApi, invoke: Invoke
) -> None:
    deploy_on(api, UPGRADE, canned.deployment(3))

    done = invoke("pipeline", "deploy", "hello", "4", "-y")

    assert done.exit_code == 0, done.output
    assert done.stdout == (
        shown(UPGRADE) + "\npipeline 'default/hello': v4 is live (deployment 3)\n"
    )
    # The plan is a dry run; the deploy names the live version it was planned against.
    assert api.bodies("POST", DEPLOYMENTS) == [
        {"version": 4, "force_same_version": False, "dry_run": True},
        {"version": 4, "force_same_version": False, "dry_run": False, "planned_against": 3},
    ]


def test_deploy_of_an_older_version_is_a_rollback(api: FakeApi, invoke: Invoke) -> None:
    deploy_on(api, ROLLBACK, canned.deployment(4, "rollback", from_version=4, to_version=3))

    done = invoke("pipeline", "deploy", "hello", "3", "--yes")

    assert done.exit_code == 0, done.output
    assert done.stdout == (
        shown(ROLLBACK)
        + "\npipeline 'default/hello': rolled back to v3, it is live (deployment 4)\n"
    )
    assert [body["planned_against"] for body in api.bodies("POST", DEPLOYMENTS)[1:]] == [4]


def test_deploy_of_the_live_version_is_refused_with_the_servers_hint(
    api: FakeApi, invoke: Invoke
) -> None:
    problem = canned.problem(
        409,
        "failed_precondition",
        "pipeline 'default/hello': v4 is the live version already",
        field="version",
        hint="add --force-same-version (force_same_version) to deploy it again",
    )
    api.on("POST", DEPLOYMENTS, (409, problem))

    done = invoke("pipeline", "deploy", "hello", "4", "-y")

    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == (
        "error: pipeline 'default/hello': v4 is the live version already\n"
        "hint: add --force-same-version (force_same_version) to deploy it again\n"
    )
    assert [body["dry_run"] for body in api.bodies("POST", DEPLOYMENTS)] == [True]


def test_deploy_force_same_version_deploys_the_live_version_again(
    api: FakeApi, invoke: Invoke
) -> None:
    deploy_on(api, REDEPLOY, canned.deployment(4, "redeploy", from_version=4, to_version=4))

    done = invoke("pipeline", "deploy", "hello", "4", "--force-same-version", "-y")

    assert done.exit_code == 0, done.output
    assert done.stdout == (
        shown(REDEPLOY) + "\npipeline 'default/hello': v4 is live (deployment 4)\n"
    )
    assert api.bodies("POST", DEPLOYMENTS) == [
        {"version": 4, "force_same_version": True, "dry_run": True},
        {"version": 4, "force_same_version": True, "dry_run": False, "planned_against": 4},
    ]


def test_deploy_dry_run_shows_the_plan_and_sends_only_the_dry_run(
    api: FakeApi, invoke: Invoke
) -> None:
    deploy_on(api, UPGRADE, canned.deployment(3))

    done = invoke("pipeline", "deploy", "hello", "4", "--dry-run")

    assert done.exit_code == 0, done.output
    assert done.stdout == shown(UPGRADE)
    assert api.bodies("POST", DEPLOYMENTS) == [
        {"version": 4, "force_same_version": False, "dry_run": True}
    ]


def test_deploy_dry_run_as_json_is_the_apis_whole_answer(api: FakeApi, invoke: Invoke) -> None:
    deploy_on(api, UPGRADE, canned.deployment(3))

    done = invoke("pipeline", "deploy", "hello", "4", "--dry-run", "-o", "json")

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == canned.deploy_result(UPGRADE)
    assert len(api.requests) == 1


def test_deploy_as_json_is_the_apis_answer_to_the_deploy(api: FakeApi, invoke: Invoke) -> None:
    deploy_on(api, UPGRADE, canned.deployment(3))

    done = invoke("pipeline", "deploy", "hello", "4", "-y", "-o", "json")

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == canned.deploy_result(
        UPGRADE, canned.deployment(3), live_version=4
    )


def test_deploy_without_yes_and_without_a_terminal_deploys_nothing(
    api: FakeApi, invoke: Invoke
) -> None:
    deploy_on(api, UPGRADE, canned.deployment(3))

    done = invoke("pipeline", "deploy", "hello", "4")

    assert done.exit_code == 1
    assert done.stdout == shown(UPGRADE)
    assert done.stderr == (
        "error: not deploying: there is no terminal to confirm on\n"
        "hint: add -y to proceed without asking, or --dry-run to only see the plan\n"
    )
    assert [body["dry_run"] for body in api.bodies("POST", DEPLOYMENTS)] == [True]


def test_deploy_asks_at_a_terminal_and_deploys_when_confirmed(api: FakeApi, invoke: Invoke) -> None:
    deploy_on(api, UPGRADE, canned.deployment(3))

    done = invoke("pipeline", "deploy", "hello", "4", input="y\n")

    assert done.exit_code == 0, done.output
    # What the person sees; the question goes to stderr, so stdout keeps the plan and the result.
    assert done.output == (
        shown(UPGRADE)
        + "Proceed? [y/N]: y\n"
        + "\npipeline 'default/hello': v4 is live (deployment 3)\n"
    )
    assert "Proceed?" in done.stderr
    assert [body["dry_run"] for body in api.bodies("POST", DEPLOYMENTS)] == [True, False]


def test_deploy_declined_at_the_terminal_says_nothing_changed(api: FakeApi, invoke: Invoke) -> None:
    deploy_on(api, UPGRADE, canned.deployment(3))

    done = invoke("pipeline", "deploy", "hello", "4", input="n\n")

    assert done.exit_code == 0, done.output
    assert done.output == shown(UPGRADE) + "Proceed? [y/N]: n\nNothing changed.\n"
    assert [body["dry_run"] for body in api.bodies("POST", DEPLOYMENTS)] == [True]


def test_deploy_conflict_on_apply_shows_the_servers_error_and_hint(
    api: FakeApi, invoke: Invoke
) -> None:
    problem = canned.problem(
        409,
        "conflict",
        "pipeline 'default/hello': the live version is v5 now, not v3 as planned",
        field="planned_against",
        hint="someone deployed meanwhile: plan again and review the new plan",
    )
    api.on("POST", DEPLOYMENTS, (200, canned.deploy_result(UPGRADE)), (409, problem))

    done = invoke("pipeline", "deploy", "hello", "4", "-y")

    assert done.exit_code == 1
    assert done.stdout == shown(UPGRADE)
    assert done.stderr == (
        "error: pipeline 'default/hello': the live version is v5 now, not v3 as planned "
        "(field 'planned_against')\n"
        "hint: someone deployed meanwhile: plan again and review the new plan\n"
    )
    assert len(api.bodies("POST", DEPLOYMENTS)) == 2


# canaries -------------------------------------------------------------------------------------


def test_deploy_canary_sends_its_share_and_abort_rule_and_says_it_started(
    api: FakeApi, invoke: Invoke
) -> None:
    canary = canned.deployment(3, "canary", "canary", percent=50, auto_abort=AUTO_ABORT)
    deploy_on(api, CANARY, canary)

    done = invoke(
        "pipeline",
        "deploy",
        "hello",
        "4",
        "--canary",
        "50",
        "--max-failure-rate",
        "20",
        "--window",
        "10",
        "-y",
    )

    assert done.exit_code == 0, done.output
    assert done.stdout == (
        shown(CANARY) + "\npipeline 'default/hello': canary of v4 started: "
        "50% of new runs go to it (deployment 3)\n"
    )
    ask = {"version": 4, "force_same_version": False, "canary": 50, "auto_abort": AUTO_ABORT}
    assert api.bodies("POST", DEPLOYMENTS) == [
        {**ask, "dry_run": True},
        {**ask, "dry_run": False, "planned_against": 3},
    ]


def test_deploy_canary_without_abort_rule_sends_none(api: FakeApi, invoke: Invoke) -> None:
    deploy_on(api, CANARY, canned.deployment(3, "canary", "canary", percent=50))

    done = invoke("pipeline", "deploy", "hello", "4", "--canary", "50", "-y")

    assert done.exit_code == 0, done.output
    assert [("auto_abort" in body, body["canary"]) for body in api.bodies("POST", DEPLOYMENTS)] == [
        (False, 50),
        (False, 50),
    ]


def test_deploy_promote_makes_the_planned_candidate_live(api: FakeApi, invoke: Invoke) -> None:
    promoted = canned.deployment(3, "canary", "promoted", percent=50, reason="promoted by alice")
    api.on(
        "POST",
        PROMOTE,
        (200, canned.deploy_result(PROMOTION)),
        (200, canned.deploy_result(PROMOTION, promoted, live_version=4)),
    )

    done = invoke("pipeline", "deploy", "hello", "--promote", "-y")

    assert done.exit_code == 0, done.output
    assert done.stdout == (
        shown(PROMOTION) + "\npipeline 'default/hello': v4 promoted, it is live (deployment 3)\n"
    )
    # The candidate is the plan's target: a canary of another version meanwhile fails the promote.
    assert api.bodies("POST", PROMOTE) == [{"dry_run": True}, {"dry_run": False, "candidate": 4}]
    assert api.bodies("POST", ABORT) == []


def test_deploy_abort_drops_the_planned_candidate(api: FakeApi, invoke: Invoke) -> None:
    aborted = canned.deployment(3, "canary", "aborted", percent=50, reason="aborted by alice")
    api.on(
        "POST",
        ABORT,
        (200, canned.deploy_result(ABORTION)),
        (200, canned.deploy_result(ABORTION, aborted, live_version=3)),
    )

    done = invoke("pipeline", "deploy", "hello", "--abort", "-y")

    assert done.exit_code == 0, done.output
    assert done.stdout == (
        shown(ABORTION) + "\npipeline 'default/hello': canary of v4 aborted, "
        "every new run goes to v3 (deployment 3)\n"
    )
    # An abort's plan goes from the candidate back to the live version.
    assert api.bodies("POST", ABORT) == [{"dry_run": True}, {"dry_run": False, "candidate": 4}]
    assert api.bodies("POST", PROMOTE) == []


def test_deploy_promote_without_a_canary_shows_the_servers_error(
    api: FakeApi, invoke: Invoke
) -> None:
    problem = canned.problem(
        409,
        "failed_precondition",
        "pipeline 'default/hello': has no canary to promote",
        field="pipeline",
        hint="start one with 'hostler pipeline deploy hello VERSION --canary PERCENT'",
    )
    api.on("POST", PROMOTE, (409, problem))

    done = invoke("pipeline", "deploy", "hello", "--promote", "-y")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: pipeline 'default/hello': has no canary to promote\n"
        "hint: start one with 'hostler pipeline deploy hello VERSION --canary PERCENT'\n"
    )
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--promote", "--abort"], "error: --promote and --abort: choose one\n"),
        (
            ["4", "--promote"],
            "error: --promote ends the canary in progress: it takes no VERSION, --canary, "
            "--max-failure-rate or --force-same-version\n"
            "hint: run 'hostler pipeline deploy PIPELINE --promote'\n",
        ),
        (
            ["--abort", "--max-failure-rate", "20"],
            "error: --abort ends the canary in progress: it takes no VERSION, --canary, "
            "--max-failure-rate or --force-same-version\n"
            "hint: run 'hostler pipeline deploy PIPELINE --abort'\n",
        ),
        (
            [],
            "error: which version? give VERSION, or --promote or --abort for a canary\n"
            "hint: 'hostler pipeline versions PIPELINE' lists them\n",
        ),
        (
            ["4", "--max-failure-rate", "20"],
            "error: --max-failure-rate applies to a canary only\nhint: add --canary PERCENT\n",
        ),
    ],
)
def test_deploy_options_that_do_not_go_together_are_refused_before_any_request(
    api: FakeApi, invoke: Invoke, args: list[str], said: str
) -> None:
    done = invoke("pipeline", "deploy", "hello", *args, "-y")

    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == said
    assert api.requests == []


@pytest.mark.parametrize("percent", ["0", "100"])
def test_deploy_canary_share_out_of_range_is_a_usage_error(
    api: FakeApi, invoke: Invoke, percent: str
) -> None:
    done = invoke("pipeline", "deploy", "hello", "4", "--canary", percent, "-y")

    assert done.exit_code == 2
    assert "Invalid value for '--canary'" in done.stderr
    assert api.requests == []


# register, versions, diff -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "said"),
    [
        ("created", "version 5 (sha256:55ab00000000…) registered; not deployed"),
        (
            "unchanged",
            "version 5 (sha256:55ab00000000…) has this content already; nothing registered",
        ),
    ],
)
def test_register_registers_a_version_without_deploying_it(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path, result: str, said: str
) -> None:
    file = tmp_path / "hello.json"
    file.write_text(json.dumps(canned.CONFIG))
    answer = {"version": canned.version(5), "result": result}
    api.on("POST", f"{HELLO}/versions", (201 if result == "created" else 200, answer))

    done = invoke("pipeline", "register", str(file))
    as_json = invoke("pipeline", "register", str(file), "-o", "json")

    assert done.exit_code == 0, done.output
    assert done.stdout == f"pipeline 'default/hello': {said}\n"
    assert json.loads(as_json.stdout) == answer
    assert api.bodies("POST", f"{HELLO}/versions") == [{"config": canned.CONFIG}] * 2
    assert api.bodies("POST", DEPLOYMENTS) == []


def test_versions_marks_the_live_version_and_the_canarys(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", HELLO, (200, {**canned.PIPELINE, "live_version": 3, "canary": 4}))
    canary = canned.deployment(4, "canary", "canary", from_version=3, to_version=5, percent=10)
    api.on("GET", DEPLOYMENTS, (200, canned.page(canary)))
    api.on(
        "GET",
        f"{HELLO}/versions",
        (
            200,
            canned.page(
                canned.version(5, tasks=3, description="Says hello, reports and notifies"),
                canned.version(4, tasks=2),
                canned.version(3, description="Says hello"),
            ),
        ),
    )

    done = invoke("pipeline", "versions", "hello")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        "VERSION            DIGEST                 TASKS   DESCRIPTION                        "
        "CREATED",
        "─" * 104,
        "5         canary   sha256:55ab00000000…   3       Says hello, reports and notifies   "
        "2024-05-05 12:00:00",
        "4         -        sha256:44ab00000000…   2       -                                  "
        "2024-05-04 12:00:00",
        "3         live     sha256:33ab00000000…   1       Says hello                         "
        "2024-05-03 12:00:00",
    ]
    # The canary's version is that of the newest deployment: the canary in progress.
    assert api.queries("GET", DEPLOYMENTS)[0]["limit"] == "1"


def test_versions_without_a_canary_asks_for_no_deployment(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", HELLO, (200, {**canned.PIPELINE, "live_version": 2}))
    api.on("GET", f"{HELLO}/versions", (200, canned.page(canned.version(2), canned.version(1))))

    done = invoke("pipeline", "versions", "hello")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        "VERSION          DIGEST                 TASKS   DESCRIPTION   CREATED",
        "─" * 81,
        "2         live   sha256:22ab00000000…   1       -             2024-05-02 12:00:00",
        "1         -      sha256:11ab00000000…   1       -             2024-05-01 12:00:00",
    ]
    assert api.queries("GET", DEPLOYMENTS) == []


def test_diff_shows_what_deploying_b_in_place_of_a_changes(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", f"{HELLO}/diff", (200, UPGRADE))

    done = invoke("pipeline", "diff", "hello", "3", "4")
    as_json = invoke("pipeline", "diff", "hello", "3", "4", "-o", "json")

    assert done.exit_code == 0, done.output
    assert done.stdout == shown(UPGRADE)
    assert json.loads(as_json.stdout) == UPGRADE
    assert [dict(query) for query in api.queries("GET", f"{HELLO}/diff")] == [
        {"from": "3", "to": "4"}
    ] * 2


# pipeline history -------------------------------------------------------------------------------

HISTORY = canned.page(
    {
        **canned.deployment(5, "canary", "canary", to_version=6, percent=10),
        "tallies": [canned.tally(3, 2, 1), canned.tally(6, 1, 0)],
    },
    {
        **canned.deployment(
            4,
            "canary",
            "aborted",
            to_version=5,
            percent=20,
            auto_abort={"max_failure_rate": 10, "window": 10},
            reason="aborted automatically: 2 of the last 10 runs of the candidate failed "
            "(more than 10%)",
        ),
        "tallies": [canned.tally(3, 8, 8), canned.tally(5, 2, 0, 2)],
    },
    {
        **canned.deployment(3, "rollback", from_version=4, to_version=3, actor="bob"),
        "tallies": [canned.tally(3, 2, 0)],
    },
    {
        **canned.deployment(2, "canary", "promoted", percent=50, reason="promoted by alice"),
        "tallies": [canned.tally(3, 10, 10), canned.tally(4, 9, 8, 1)],
    },
    {**canned.deployment(1, from_version=None, to_version=3), "tallies": []},
)


def test_pipeline_history_lists_deployments_with_their_outcome_and_runs(
    api: FakeApi, invoke: Invoke
) -> None:
    api.on("GET", DEPLOYMENTS, (200, HISTORY))

    done = invoke("pipeline", "history", "hello")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        "ID   KIND         FROM   TO   OUTCOME          BY      STARTED               RUNS",
        "─" * 103,
        "5    canary 10%   v3     v6   in progress      alice   2024-05-05 09:00:00   "
        "v3: 2 (100%), v6: 1",
        "4    canary 20%   v3     v5   aborted (auto)   alice   2024-05-04 09:00:00   "
        "v3: 8 (100%), v5: 2 (0%)",
        "3    ROLLBACK     v4     v3   deployed         bob     2024-05-03 09:00:00   v3: 2",
        "2    canary 50%   v3     v4   promoted         alice   2024-05-02 09:00:00   "
        "v3: 10 (100%), v4: 9 (89%)",
        "1    deploy       -      v3   deployed         alice   2024-05-01 09:00:00   -",
    ]


def test_pipeline_history_as_json_is_the_apis_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", DEPLOYMENTS, (200, HISTORY))

    done = invoke("pipeline", "history", "hello", "-o", "json", "--limit", "4")

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == HISTORY
    assert api.queries("GET", DEPLOYMENTS)[0]["limit"] == "4"


# runs of a canary -------------------------------------------------------------------------------


def test_runs_of_the_canarys_candidate_are_marked_where_runs_are_shown(
    api: FakeApi, invoke: Invoke
) -> None:
    live = {**canned.run("complete", "successful", ended="2024-05-01T12:00:03Z"), "version": 3}
    candidate = {**canned.run(), "id": 2, "version": 4, "route": "canary"}
    api.on("GET", f"{HELLO}/runs", (200, canned.page(candidate, live)))
    api.on("POST", f"{HELLO}/runs", (201, candidate))

    listed = invoke("run", "list", "hello")
    started = invoke("run", "start", "hello")

    assert listed.exit_code == 0, listed.output
    assert lines(listed.stdout) == [
        "RUN   STATE      STATUS       VERSION      TRIGGER   CREATED               DURATION",
        "─" * 83,
        "2     pending    -            4 (canary)   manual    2024-05-01 12:00:00   -",
        "1     complete   successful   3            manual    2024-05-01 12:00:00   3.0s",
    ]
    assert started.stdout == "run 'default/hello#2': started on version 4 (canary)\n"
