"""How a task's environment is put together from built-ins, the task's env and run variables."""

from __future__ import annotations

from collections.abc import Mapping


def builtins(
    namespace: str, pipeline: str, run: int, task: str, attempt: int = 1
) -> dict[str, str]:
    """Return the variables Hostler gives every task."""
    return {
        "HOSTLER_NAMESPACE": namespace,
        "HOSTLER_PIPELINE": pipeline,
        "HOSTLER_RUN": str(run),
        "HOSTLER_TASK": task,
        "HOSTLER_ATTEMPT": str(attempt),
    }


def resolve(
    *,
    namespace: str,
    pipeline: str,
    run: int,
    task: str,
    attempt: int = 1,
    task_env: Mapping[str, str],
    run_variables: Mapping[str, str],
) -> dict[str, str]:
    """Return a task's environment: built-ins, then the task's env, then the run's variables.

    A later source overrides an earlier one, so a run variable (``--var``) beats the task's env.
    """
    return {
        **builtins(namespace, pipeline, run, task, attempt),
        **task_env,
        **run_variables,
    }
