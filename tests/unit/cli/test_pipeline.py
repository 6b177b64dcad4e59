"""``hostler pipeline``: up from YAML, JSON and Python files; list; get."""

from __future__ import annotations

import json
import pathlib
import textwrap

import pytest

from . import canned
from .conftest import Invoke
from .fakeapi import FakeApi

UP = "/namespaces/default/pipelines"

HELLO_YAML = """\
id: hello
tasks:
  - id: fetch
    image: busybox:stable
    command: [echo, hi]
"""


def up_answer(result: str) -> tuple[int, dict[str, object]]:
    status = 201 if result == "created" else 200
    return status, {"pipeline": canned.PIPELINE, "version": canned.VERSION, "result": result}


PLAN_TEXT = [
    "Deploy hello v1 → v2: 0 tasks added, 1 changed, 0 removed",
    "",
    "Tasks:",
    "  ~ fetch",
    "      image: busybox:stable → busybox:1.36",
]
PLAN_ANSWER = {
    "pipeline": "hello",
    "action": "upgrade",
    "from_version": 1,
    "to_version": 2,
    "headline": "Deploy hello v1 → v2: 0 tasks added, 1 changed, 0 removed",
    "text": PLAN_TEXT,
}


def plan_on(api: FakeApi, namespace: str = "default", action: str = "upgrade") -> None:
    """Make the fake API answer the plan of ``hello`` in ``namespace`` with ``action``."""
    answer = PLAN_ANSWER if action == "upgrade" else {"action": action, "text": ["Up-to-date."]}
    api.on("POST", f"/namespaces/{namespace}/pipelines/hello/plan", (200, answer))


@pytest.mark.parametrize(
    ("result", "said"),
    [
        (
            "created",
            "pipeline 'default/hello': version 1 registered and live (sha256:ab12cd34ef56…)",
        ),
        ("deployed", "pipeline 'default/hello': version 1 is live again"),
    ],
)
def test_pipeline_up_yaml_registers_and_says_what_happened(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path, result: str, said: str
) -> None:
    file = tmp_path / "hello.yaml"
    file.write_text(HELLO_YAML)
    plan_on(api)
    api.on("POST", UP, up_answer(result))

    done = invoke("pipeline", "up", str(file), "-y")

    assert done.exit_code == 0, done.output
    assert done.stdout == "\n".join(PLAN_TEXT) + "\n\n" + said + "\n"
    # The deploy says which live version it was planned against, so a change meanwhile fails it.
    assert api.bodies("POST", UP) == [{"config": canned.CONFIG, "planned_against": 1}]


def test_pipeline_up_of_the_live_version_says_up_to_date_and_changes_nothing(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "hello.yaml"
    file.write_text(HELLO_YAML)
    plan_on(api, action="up_to_date")

    done = invoke("pipeline", "up", str(file))

    assert done.exit_code == 0, done.output
    assert done.stdout == "Up-to-date.\n"
    assert [r.url.path.rsplit("/", 1)[-1] for r in api.requests] == ["plan"]


def test_pipeline_up_dry_run_shows_the_plan_and_changes_nothing(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "hello.yaml"
    file.write_text(HELLO_YAML)
    plan_on(api)

    done = invoke("pipeline", "up", str(file), "--dry-run")

    assert done.exit_code == 0, done.output
    assert done.stdout == "\n".join(PLAN_TEXT) + "\n"
    assert api.bodies("POST", UP) == []


def test_pipeline_up_without_yes_and_without_a_terminal_changes_nothing(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "hello.yaml"
    file.write_text(HELLO_YAML)
    plan_on(api)

    done = invoke("pipeline", "up", str(file))

    assert done.exit_code == 1
    assert done.stdout == "\n".join(PLAN_TEXT) + "\n"
    assert "no terminal to confirm on" in done.stderr
    assert "-y" in done.stderr
    assert api.bodies("POST", UP) == []


def test_pipeline_up_json_file_in_another_namespace_prints_the_api_answer(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "hello.json"
    file.write_text(json.dumps(canned.CONFIG))
    status, body = up_answer("created")
    plan_on(api, "team")
    api.on("POST", "/namespaces/team/pipelines", (status, body))

    done = invoke("pipeline", "up", str(file), "-n", "team", "-o", "json", "-y")

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == body
    assert api.bodies("POST", "/namespaces/team/pipelines") == [
        {"config": canned.CONFIG, "planned_against": 1}
    ]


def test_pipeline_up_takes_the_namespace_from_the_environment(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "hello.yml"
    file.write_text(HELLO_YAML)
    plan_on(api, "team")
    api.on("POST", "/namespaces/team/pipelines", up_answer("created"))
    monkeypatch.setenv("HOSTLER_NAMESPACE", "team")

    done = invoke("pipeline", "up", str(file), "-y")

    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[-1].startswith("pipeline 'team/hello'")


def test_pipeline_up_malformed_yaml_names_line_and_column(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text("id: hello\ntasks:\n  - id: fetch\n    image: [busybox\n")

    done = invoke("pipeline", "up", str(file))

    assert done.exit_code == 1
    assert done.stderr.startswith(f"error: {file} line 5, column 1: ")
    assert "Traceback" not in done.output
    assert api.requests == []


def test_pipeline_up_malformed_json_names_line_and_column(
    invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "broken.json"
    file.write_text('{\n  "id": "hello",\n  "tasks": [,]\n}\n')

    done = invoke("pipeline", "up", str(file))

    assert done.exit_code == 1
    assert done.stderr.startswith(f"error: {file} line 3, column 13: ")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("hello.txt", "id: hello", "unknown type '.txt'"),
        ("list.yaml", "- a\n- b\n", "a pipeline must be a mapping, found list"),
        ("empty.yaml", "", "a pipeline must be a mapping, found nothing"),
    ],
)
def test_pipeline_up_rejects_files_that_hold_no_pipeline(
    invoke: Invoke, tmp_path: pathlib.Path, name: str, content: str, message: str
) -> None:
    file = tmp_path / name
    file.write_text(content)

    done = invoke("pipeline", "up", str(file))

    assert done.exit_code == 1
    assert done.stderr.startswith(f"error: file '{file}': {message}")


def test_pipeline_up_missing_file_is_an_error(invoke: Invoke, tmp_path: pathlib.Path) -> None:
    done = invoke("pipeline", "up", str(tmp_path / "nope.yaml"))

    assert done.exit_code == 1
    assert "not found" in done.stderr


def test_pipeline_up_python_file_sends_what_the_script_prints(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "hello.py"
    file.write_text(
        textwrap.dedent(
            """\
            from hostler.sdk import Pipeline, Task

            pipeline = Pipeline("hello").add(
                Task("fetch", "busybox:stable", ["echo", "hi"])
            )

            if __name__ == "__main__":
                pipeline.main()
            """
        )
    )
    plan_on(api)
    api.on("POST", UP, up_answer("created"))

    done = invoke("pipeline", "up", str(file), "-y")

    assert done.exit_code == 0, done.output
    [body] = api.bodies("POST", UP)
    assert body["config"]["id"] == "hello"
    assert body["config"]["tasks"][0]["image"] == "busybox:stable"


def test_pipeline_up_python_file_that_fails_shows_its_stderr(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "broken.py"
    file.write_text("import sys\nprint('it broke', file=sys.stderr)\nsys.exit(3)\n")

    done = invoke("pipeline", "up", str(file))

    assert done.exit_code == 1
    assert done.stderr == f"error: pipeline script '{file}': exited with status 3\nit broke\n"
    assert api.requests == []


def test_pipeline_up_python_file_printing_no_json_is_an_error(
    invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "chatty.py"
    file.write_text("print('hello there')\n")

    done = invoke("pipeline", "up", str(file))

    assert done.exit_code == 1
    assert done.stderr.startswith(f"error: output of pipeline script '{file}' line 1, column 1:")


def test_pipeline_up_invalid_pipeline_shows_the_servers_detail_and_field(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "hello.yaml"
    file.write_text(HELLO_YAML)
    problem = canned.problem(
        422, "invalid_argument", "pipeline 'hello': image must not be empty", field="tasks.0.image"
    )
    api.on("POST", f"{UP}/hello/plan", (422, problem))

    done = invoke("pipeline", "up", str(file), "-y")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: pipeline 'hello': image must not be empty (field 'tasks.0.image')\n"
    )


def test_pipeline_list_and_get(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", UP, (200, canned.page(canned.PIPELINE)))
    api.on("GET", f"{UP}/hello", (200, canned.PIPELINE))

    listed = invoke("pipeline", "list")
    got = invoke("pipeline", "get", "hello")
    got_json = invoke("pipeline", "get", "hello", "-o", "json")

    assert listed.exit_code == 0, listed.output
    assert "LIVE VERSION" in listed.stdout
    assert "Says hello" in listed.stdout
    assert got.exit_code == 0, got.output
    assert "live_version" in got.stdout
    assert json.loads(got_json.stdout) == canned.PIPELINE


def test_pipeline_get_unknown_is_an_error(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(404, "not_found", "pipeline 'default/nope': not found")
    api.on("GET", f"{UP}/nope", (404, problem))

    done = invoke("pipeline", "get", "nope")

    assert done.exit_code == 1
    assert done.stderr == "error: pipeline 'default/nope': not found\n"


def test_pipeline_plan_prints_the_servers_plan_and_changes_nothing(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "hello.yaml"
    file.write_text(HELLO_YAML)
    api.on("POST", f"{UP}/hello/plan", (200, PLAN_ANSWER))

    done = invoke("pipeline", "plan", str(file))
    as_json = invoke("pipeline", "plan", str(file), "-o", "json")

    assert done.exit_code == 0, done.output
    assert done.stdout == "\n".join(PLAN_TEXT) + "\n"
    assert json.loads(as_json.stdout) == PLAN_ANSWER
    assert api.bodies("POST", f"{UP}/hello/plan") == [{"config": canned.CONFIG}] * 2
    assert [r.method for r in api.requests] == ["POST", "POST"]


def test_pipeline_plan_of_a_file_without_an_id_says_so(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "nameless.yaml"
    file.write_text("tasks: []\n")

    done = invoke("pipeline", "plan", str(file))

    assert done.exit_code == 1
    assert "the pipeline has no 'id'" in done.stderr
    assert "Traceback" not in done.stderr
    assert api.requests == []
