"""``hostler namespace``, and what every command shares: output formats and errors."""

from __future__ import annotations

import json

import typer.testing
import yaml

from hostler.cli import main

from . import canned
from .conftest import Invoke
from .fakeapi import FakeApi, unused_port


def test_namespace_list_json_is_exactly_the_api_answer(api: FakeApi, invoke: Invoke) -> None:
    page = canned.page(canned.NAMESPACE, next_cursor="abc")
    api.on("GET", "/namespaces", (200, page))

    result = invoke("namespace", "list", "-o", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == page


def test_namespace_list_yaml_is_the_api_answer(api: FakeApi, invoke: Invoke) -> None:
    page = canned.page(canned.NAMESPACE)
    api.on("GET", "/namespaces", (200, page))

    result = invoke("namespace", "list", "--output", "yaml")

    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout) == page


def test_namespace_list_renders_a_table_and_how_to_get_more(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/namespaces", (200, canned.page(canned.NAMESPACE, next_cursor="abc")))

    result = invoke("namespace", "list")

    assert result.exit_code == 0, result.output
    assert "NAME" in result.stdout
    assert "Where everything starts" in result.stdout
    assert "2024-05-01 12:00:00" in result.stdout
    assert "--cursor abc" in result.stdout


def test_namespace_list_all_walks_every_page(api: FakeApi, invoke: Invoke) -> None:
    other = {**canned.NAMESPACE, "name": "team"}
    api.on(
        "GET",
        "/namespaces",
        (200, canned.page(canned.NAMESPACE, next_cursor="abc")),
        (200, canned.page(other)),
    )

    result = invoke("namespace", "list", "--all", "-o", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == canned.page(canned.NAMESPACE, other)


def test_table_cells_are_not_read_as_rich_markup(api: FakeApi, invoke: Invoke) -> None:
    tricky = {**canned.NAMESPACE, "description": "[bold]not bold[/bold]"}
    api.on("GET", "/namespaces", (200, canned.page(tricky)))

    result = invoke("namespace", "list")

    assert "[bold]not bold[/bold]" in result.stdout


def test_namespace_create_says_created_or_unchanged(api: FakeApi, invoke: Invoke) -> None:
    api.on(
        "POST",
        "/namespaces",
        (201, {"namespace": canned.NAMESPACE, "result": "created"}),
        (200, {"namespace": canned.NAMESPACE, "result": "unchanged"}),
    )

    first = invoke("namespace", "create", "team", "-d", "The team")
    second = invoke("namespace", "create", "team", "-d", "The team")

    assert first.stdout == "namespace 'team': created\n"
    assert second.stdout == "namespace 'team': unchanged (it exists)\n"
    assert api.bodies("POST", "/namespaces")[0] == {"name": "team", "description": "The team"}


def test_problem_answer_prints_error_and_hint_and_exits_1(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(
        409,
        "already_exists",
        "namespace 'team': exists with another description",
        hint="choose another name",
    )
    api.on("POST", "/namespaces", (409, problem))

    result = invoke("namespace", "create", "team", "-d", "other")

    assert result.exit_code == 1
    assert result.stderr == (
        "error: namespace 'team': exists with another description\nhint: choose another name\n"
    )
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_unreachable_server_says_how_to_start_it() -> None:
    url = f"http://127.0.0.1:{unused_port()}"

    result = typer.testing.CliRunner().invoke(
        main.app, ["namespace", "list"], env={"HOSTLER_URL": url}
    )

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: server at {url} is not reachable")
    assert "hostler service start" in result.stderr
    assert "Traceback" not in result.output
