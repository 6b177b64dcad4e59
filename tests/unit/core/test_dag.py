"""The rules of a pipeline's task graph, directly and through ``pipelines.parse``."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from hostler.core import dag, errors, pipelines

DIAMOND: dag.Graph = [
    ("fetch", []),
    ("test-a", ["fetch"]),
    ("test-b", ["fetch"]),
    ("report", ["test-a", "test-b"]),
]


def invalid(graph: dag.Graph, pipeline_id: str = "p") -> errors.InvalidArgument:
    with pytest.raises(errors.InvalidArgument) as caught:
        dag.validate(pipeline_id, graph)
    return caught.value


def config(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"id": "p", "tasks": [{"image": "busybox", **task} for task in tasks]}


def test_valid_fan_out_and_fan_in_passes() -> None:
    dag.validate("hello", DIAMOND)
    assert dag.find_cycle(DIAMOND) == []


def test_two_cycle_is_rejected_showing_the_path() -> None:
    error = invalid([("a", ["b"]), ("b", ["a"])])
    assert error.message == "pipeline 'p': dependency cycle a -> b -> a"
    assert error.field == "tasks[0].depends_on"


def test_three_cycle_is_rejected_showing_the_path() -> None:
    error = invalid([("start", []), ("a", ["c", "start"]), ("b", ["a"]), ("c", ["b"])])
    assert error.message == "pipeline 'p': dependency cycle a -> c -> b -> a"
    assert error.field == "tasks[1].depends_on"


def test_find_cycle_returns_the_cycle_with_its_first_task_repeated() -> None:
    assert dag.find_cycle([("x", ["y"]), ("y", ["z"]), ("z", ["x"])]) == ["x", "y", "z", "x"]


def test_a_chain_longer_than_the_recursion_limit_validates() -> None:
    length = sys.getrecursionlimit() * 2
    chain = [(f"t{i}", [f"t{i - 1}"] if i else []) for i in range(length)][::-1]
    dag.validate("p", chain)


def test_a_cycle_at_the_end_of_a_chain_longer_than_the_recursion_limit_is_found() -> None:
    n = sys.getrecursionlimit() * 2
    chain = [(f"t{i}", [f"t{i + 1}"]) for i in range(n)] + [(f"t{n}", [f"t{n - 2}"])]
    assert dag.find_cycle(chain) == [f"t{n - 2}", f"t{n - 1}", f"t{n}", f"t{n - 2}"]


def test_unknown_dependency_is_rejected_naming_it() -> None:
    error = invalid([("a", []), ("b", ["a", "nope"])])
    assert error.message == "task 'b': depends on unknown task 'nope'"
    assert error.field == "tasks[1].depends_on.nope"
    assert error.hint == "known tasks: a, b"


def test_self_dependency_is_rejected() -> None:
    error = invalid([("a", ["a"])])
    assert error.message == "task 'a': depends on itself"
    assert error.field == "tasks[0].depends_on.a"


def test_duplicate_task_id_is_rejected_naming_both_places() -> None:
    error = invalid([("a", []), ("b", []), ("a", [])])
    assert error.message == "task 'a': duplicate id (also tasks[0])"
    assert error.field == "tasks[2].id"


@pytest.mark.parametrize("task_id", ["Build", "1build", "a" * 64, "has space"])
def test_invalid_task_id_is_rejected_naming_its_field(task_id: str) -> None:
    error = invalid([("ok", []), (task_id, [])])
    assert error.message == f"task '{task_id}': not a valid identifier"
    assert error.field == "tasks[1].id"


def test_empty_task_id_is_rejected_naming_its_field() -> None:
    error = invalid([("", [])])
    assert error.message == "task: must not be empty"
    assert error.field == "tasks[0].id"


@pytest.mark.parametrize("pipeline_id", ["Hello", "9lives", "p" * 64, "", "my pipeline"])
def test_invalid_pipeline_id_is_rejected_naming_field_id(pipeline_id: str) -> None:
    assert invalid([("a", [])], pipeline_id).field == "id"


def test_empty_task_list_is_rejected() -> None:
    error = invalid([])
    assert error.message == "pipeline 'p': has no tasks"
    assert error.field == "tasks"


def test_order_puts_every_task_after_its_dependencies() -> None:
    graph: dag.Graph = [
        ("report", ["test-b", "test-a"]),
        ("test-b", ["fetch"]),
        ("test-a", ["fetch"]),
        ("fetch", []),
    ]
    ordered = dag.order(graph)
    assert sorted(ordered) == sorted(t for t, _ in graph)
    for task_id, deps in graph:
        assert all(ordered.index(dep) < ordered.index(task_id) for dep in deps)


def test_order_keeps_the_given_order_among_independent_tasks() -> None:
    assert dag.order(DIAMOND) == ["fetch", "test-a", "test-b", "report"]
    assert dag.order([("c", []), ("a", []), ("b", [])]) == ["c", "a", "b"]


def test_order_of_a_cycle_is_rejected() -> None:
    with pytest.raises(errors.InvalidArgument, match="cycle"):
        dag.order([("a", ["b"]), ("b", ["a"])])


# The same rules through the parser, as the server and the SDK reach them.


def test_parse_rejects_a_cycle_showing_the_path() -> None:
    data = config(
        {"id": "a", "depends_on": {"b": "success"}}, {"id": "b", "depends_on": {"a": "any"}}
    )
    with pytest.raises(errors.InvalidArgument, match=r"dependency cycle a -> b -> a"):
        pipelines.parse(data)


def test_parse_rejects_an_unknown_dependency_naming_its_field() -> None:
    with pytest.raises(errors.InvalidArgument, match="unknown task 'ghost'") as caught:
        pipelines.parse(config({"id": "a"}, {"id": "b", "depends_on": {"ghost": "success"}}))
    assert caught.value.field == "tasks[1].depends_on.ghost"


def test_parse_rejects_a_duplicate_task_id() -> None:
    with pytest.raises(errors.InvalidArgument, match="duplicate id") as caught:
        pipelines.parse(config({"id": "a"}, {"id": "a"}))
    assert caught.value.field == "tasks[1].id"


def test_parse_rejects_an_invalid_task_id() -> None:
    with pytest.raises(errors.InvalidArgument, match="not a valid identifier") as caught:
        pipelines.parse(config({"id": "Upper"}))
    assert caught.value.field == "tasks[0].id"


def test_parse_rejects_an_empty_task_list() -> None:
    with pytest.raises(errors.InvalidArgument, match="has no tasks") as caught:
        pipelines.parse({"id": "p", "tasks": []})
    assert caught.value.field == "tasks"
