"""How a task's environment is put together: built-ins < task env < run variables."""

from __future__ import annotations

from collections.abc import Mapping

from hostler.core import variables

BUILTINS = {
    "HOSTLER_NAMESPACE": "default",
    "HOSTLER_PIPELINE": "build",
    "HOSTLER_RUN": "42",
    "HOSTLER_TASK": "test",
    "HOSTLER_ATTEMPT": "1",
}


def resolve(task_env: Mapping[str, str], run_variables: Mapping[str, str]) -> dict[str, str]:
    return variables.resolve(
        namespace="default",
        pipeline="build",
        run=42,
        task="test",
        task_env=task_env,
        run_variables=run_variables,
    )


def test_builtins_name_the_namespace_pipeline_run_and_task() -> None:
    assert variables.builtins("default", "build", 42, "test") == BUILTINS


def test_builtins_give_the_attempt_number() -> None:
    assert variables.builtins("default", "build", 42, "test", 3)["HOSTLER_ATTEMPT"] == "3"


def test_builtins_are_present_when_nothing_else_is_given() -> None:
    assert resolve({}, {}) == BUILTINS


def test_task_env_is_added_to_the_builtins() -> None:
    assert resolve({"LEVEL": "3"}, {}) == {**BUILTINS, "LEVEL": "3"}


def test_task_env_overrides_builtins() -> None:
    assert resolve({"HOSTLER_TASK": "mine"}, {})["HOSTLER_TASK"] == "mine"


def test_run_variables_override_task_env() -> None:
    env = resolve({"LEVEL": "3", "KEEP": "yes"}, {"LEVEL": "9"})
    assert env == {**BUILTINS, "LEVEL": "9", "KEEP": "yes"}


def test_resolve_leaves_its_inputs_unchanged() -> None:
    task_env = {"A": "1"}
    run_variables = {"A": "2"}
    resolve(task_env, run_variables)
    assert (task_env, run_variables) == ({"A": "1"}, {"A": "2"})
