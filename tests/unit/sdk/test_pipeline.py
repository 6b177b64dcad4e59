"""The pipeline DSL: same rules, same canonical JSON and same digest as the YAML it replaces."""

from __future__ import annotations

import json
import pathlib
import runpy
import subprocess
import sys
from typing import Any

import pytest
import yaml

from hostler.core import errors, pipelines
from hostler.sdk import Pipeline, Task

ROOT = pathlib.Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


def hello_yaml() -> pipelines.Config:
    return pipelines.parse(yaml.safe_load((EXAMPLES / "hello.yaml").read_text()))


def invalid(pipeline: Pipeline) -> errors.InvalidArgument:
    with pytest.raises(errors.InvalidArgument) as caught:
        pipeline.config()
    return caught.value


def test_dsl_gives_the_same_digest_as_the_equivalent_yaml_dict() -> None:
    data: dict[str, Any] = {
        "id": "build",
        "timeout": "1h",
        "tasks": [
            {"id": "compile", "image": "gcc:14", "command": ["make"], "env": {"CC": "gcc"}},
            {"id": "test", "image": "gcc:14", "depends_on": {"compile": "success"}},
            {"id": "notify", "image": "curl", "depends_on": {"test": "failure"}},
        ],
    }
    pipeline = (
        Pipeline("build", timeout=3600)
        .task("compile", "gcc:14", ["make"], env={"CC": "gcc"})
        .task("test", "gcc:14", depends_on={"compile": "success"})
        .add(Task("notify", "curl").after("test", on="failure"))
    )
    assert pipeline.digest() == pipelines.digest(pipelines.parse(data))
    assert pipeline.to_json() == pipelines.canonical_json(pipelines.parse(data))


def test_hello_example_gives_the_same_configuration_as_hello_yaml() -> None:
    pipeline = runpy.run_path(str(EXAMPLES / "hello.py"))["pipeline"]
    assert isinstance(pipeline, Pipeline)
    assert pipeline.config() == hello_yaml()
    assert pipeline.digest() == pipelines.digest(hello_yaml())


def test_running_the_hello_example_prints_the_canonical_json_of_hello_yaml() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "hello.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(done.stdout) == pipelines.canonical(hello_yaml())
    assert done.stderr == ""


def test_task_and_add_return_the_pipeline_for_chaining() -> None:
    pipeline = Pipeline("p")
    assert pipeline.task("a", "busybox") is pipeline
    assert pipeline.add(Task("b", "busybox"), Task("c", "busybox")) is pipeline
    assert [task.id for task in pipeline.tasks] == ["a", "b", "c"]


def test_after_adds_dependencies_on_tasks_or_ids_and_returns_the_task() -> None:
    fetch = Task("fetch", "busybox")
    report = Task("report", "busybox", depends_on={"lint": "failure"})
    assert report.after(fetch, "test", on="any") is report
    assert report.depends_on == {"lint": "failure", "fetch": "any", "test": "any"}
    assert Task("x", "busybox").after(fetch).depends_on == {"fetch": "success"}


def test_task_keeps_its_own_copies_of_env_depends_on_and_command() -> None:
    env = {"A": "1"}
    command = ["echo", "hi"]
    t = Task("a", "busybox", command, env=env)
    env["A"] = "2"
    command.append("there")
    assert (t.env, t.command) == ({"A": "1"}, ["echo", "hi"])


def test_invalid_dsl_raises_invalid_argument_like_the_server() -> None:
    error = invalid(Pipeline("p").task("a", "busybox", depends_on={"ghost": "success"}))
    assert error.field == "tasks[0].depends_on.ghost"
    assert error.message == "task 'a': depends on unknown task 'ghost'"


@pytest.mark.parametrize(
    ("pipeline", "field"),
    [
        (Pipeline("p"), "tasks"),
        (Pipeline("Bad").task("a", "busybox"), "id"),
        (Pipeline("p").task("a", ""), "tasks[0].image"),
        (Pipeline("p").task("a", "busybox").task("a", "busybox"), "tasks[1].id"),
        (Pipeline("p").task("a", "busybox", timeout="0s"), "tasks[0].timeout"),
        (Pipeline("p", parallelism=-1).task("a", "busybox"), "parallelism"),
        (Pipeline("p").task("a", "busybox", "echo hi"), "tasks[0].command"),
        (
            Pipeline("p").add(Task("a", "busybox"), Task("b", "busybox").after("a", on="maybe")),
            "tasks[1].depends_on.a",
        ),
        (Pipeline("p").add(Task("a", "busybox").after("a")), "tasks[0].depends_on.a"),
    ],
)
def test_invalid_dsl_names_the_offending_field(pipeline: Pipeline, field: str) -> None:
    assert invalid(pipeline).field == field


def test_main_prints_the_canonical_json(capsys: pytest.CaptureFixture[str]) -> None:
    pipeline = Pipeline("p").task("a", "busybox")
    pipeline.main()
    out, err = capsys.readouterr()
    assert out == pipeline.to_json() + "\n"
    assert err == ""


def test_main_on_invalid_input_prints_the_error_and_exits_with_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        Pipeline("p").task("a", "").main()
    assert caught.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "error: pipeline: field 'tasks[0].image' string should have at least 1 character"
        " (field tasks[0].image)\n"
    )


def test_a_script_with_an_invalid_pipeline_exits_2_without_a_traceback() -> None:
    script = (
        "from hostler.sdk import Pipeline\n"
        "Pipeline('p').task('a', 'x', depends_on={'b': 'any'}).main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "error: task 'a': depends on unknown task 'b' (field tasks[0].depends_on.b)\n"
    )


def test_sdk_imports_without_the_server_dependencies() -> None:
    server_only = ["fastapi", "sqlalchemy", "docker", "uvicorn"]
    script = (
        "import hostler.sdk, sys\n"
        f"print(','.join(m for m in {server_only!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
