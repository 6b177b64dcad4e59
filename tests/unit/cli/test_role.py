"""``hostler role``: list, get, create from grants, delete."""

from __future__ import annotations

import json

import httpx
import pytest
import typer

from hostler.cli import role

from . import canned
from .conftest import Invoke, lines
from .fakeapi import FakeApi


def row(name: str, builtin: str, grants: str, description: str = "") -> str:
    """Return a line of the table of roles as it shows 200 columns wide."""
    return f"{name:<18}{builtin:<10}{grants:<87}{description}".rstrip()


def test_role_list_shows_each_grant_on_its_own_line(api: FakeApi, invoke: Invoke) -> None:
    custom = canned.role(
        "deployers",
        canned.grant(["read", "run"], ["pipelines", "runs"], "team-*"),
        canned.grant(["read"], ["logs"], "*"),
    )
    api.on("GET", "/roles", (200, [*canned.BUILTIN_ROLES, custom]))

    done = invoke("role", "list")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        row("NAME", "BUILTIN", "GRANTS", "DESCRIPTION"),
        "─" * 200,
        row("admin", "yes", "read,write,delete,run,admin on", "Everything, everywhere."),
        row(
            "",
            "",
            "namespaces,pipelines,runs,logs,secrets,objects,tokens,extensions,events,history in *",
        ),
        row(
            "namespace-owner",
            "yes",
            "-",
            "Every action on the namespaced kinds of the namespaces its pattern matches (given as",
        ),
        row("", "", "", "namespace-owner:PATTERN)."),
        row(
            "deployers", "no", "read,run on pipelines,runs in team-*", "Deploy the team's pipelines"
        ),
        row("", "", "read on logs in *"),
    ]


def test_role_list_json_is_the_api_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/roles", (200, canned.BUILTIN_ROLES))

    done = invoke("role", "list", "-o", "json")

    assert json.loads(done.stdout) == canned.BUILTIN_ROLES


def test_role_get_shows_its_fields_and_grants(api: FakeApi, invoke: Invoke) -> None:
    found = canned.role(
        "deployers",
        canned.grant(["read", "run"], ["pipelines", "runs"], "team-*"),
        canned.grant(["read"], ["logs"], "*"),
    )
    api.on("GET", "/roles/deployers", (200, found))

    done = invoke("role", "get", "deployers")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        " name         deployers",
        " description  Deploy the team's pipelines",
        " builtin      no",
        " grants       read,run on pipelines,runs in team-*",
        "              read on logs in *",
    ]


def test_role_get_of_an_unknown_role_is_an_error(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(404, "not_found", "role 'nope': not found")
    api.on("GET", "/roles/nope", (404, problem))

    done = invoke("role", "get", "nope")

    assert done.exit_code == 1
    assert done.stderr == "error: role 'nope': not found\n"


def test_role_create_sends_the_parsed_grants(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", "/roles", (201, canned.role()))

    done = invoke(
        "role",
        "create",
        "deployers",
        "--grant",
        "read,run:pipelines,runs:team-*",
        "--grant",
        "read:logs:*",
        "-d",
        "Deploy the team's pipelines",
    )

    assert done.exit_code == 0, done.output
    assert done.stdout == "role 'deployers': created\n"
    assert api.bodies("POST", "/roles") == [
        {
            "name": "deployers",
            "description": "Deploy the team's pipelines",
            "grants": [
                {"kinds": ["pipelines", "runs"], "actions": ["read", "run"], "pattern": "team-*"},
                {"kinds": ["logs"], "actions": ["read"], "pattern": "*"},
            ],
        }
    ]


def test_role_create_json_is_the_api_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", "/roles", (201, canned.role()))

    done = invoke("role", "create", "deployers", "--grant", "read:runs:*", "-o", "json")

    assert json.loads(done.stdout) == canned.role()
    assert api.bodies("POST", "/roles")[0]["description"] == ""


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        ("read:pipelines", "'read:pipelines' is not ACTIONS:KINDS:PATTERN"),
        ("read:pipelines:team:x", "'read:pipelines:team:x' is not ACTIONS:KINDS:PATTERN"),
        (":pipelines:*", "':pipelines:*' is not ACTIONS:KINDS:PATTERN"),
        (
            "reed:pipelines:*",
            "'reed:pipelines:*': 'reed' is not an action (read, write, delete, run, admin)",
        ),
        ("read:pipes:*", "'read:pipes:*': 'pipes' is not a kind (namespaces, pipelines,"),
        ("read,:pipelines:*", "'read,:pipelines:*': '' is not an action"),
    ],
)
def test_parse_grant_refuses_what_is_not_a_grant(grant: str, message: str) -> None:
    with pytest.raises(typer.BadParameter) as caught:
        role.parse_grant(grant)

    assert str(caught.value.message).startswith(message)
    assert caught.value.param_hint == "'--grant'"


def test_role_create_with_a_bad_grant_is_a_usage_error_naming_the_flag(
    api: FakeApi, invoke: Invoke
) -> None:
    done = invoke("role", "create", "deployers", "--grant", "read:pipelines")

    assert done.exit_code == 2
    assert "Invalid value for '--grant'" in done.stderr
    assert "'read:pipelines' is not ACTIONS:KINDS:PATTERN" in done.stderr
    assert api.requests == []


def test_role_create_needs_a_grant(api: FakeApi, invoke: Invoke) -> None:
    done = invoke("role", "create", "deployers")

    assert done.exit_code == 2
    assert "--grant" in done.stderr
    assert api.requests == []


def test_role_create_of_an_existing_role_shows_the_conflict(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(
        409, "already_exists", "role 'deployers': exists", hint="choose another name"
    )
    api.on("POST", "/roles", (409, problem))

    done = invoke("role", "create", "deployers", "--grant", "read:runs:*")

    assert done.exit_code == 1
    assert done.stderr == "error: role 'deployers': exists\nhint: choose another name\n"


def test_role_delete_with_yes_deletes_and_says_so(api: FakeApi, invoke: Invoke) -> None:
    api.on("DELETE", "/roles/deployers", httpx.Response(204))

    done = invoke("role", "delete", "deployers", "--yes")

    assert done.exit_code == 0, done.output
    assert done.stdout == "role 'deployers': deleted\n"


def test_role_delete_asks_on_a_terminal(api: FakeApi, invoke: Invoke) -> None:
    api.on("DELETE", "/roles/deployers", httpx.Response(204))

    declined = invoke("role", "delete", "deployers", input="n\n")
    accepted = invoke("role", "delete", "deployers", input="y\n")

    question = "Delete role 'deployers'? Tokens that have it lose what it grants. [y/N]: "
    assert declined.output == f"{question}n\nNothing deleted.\n"
    assert accepted.output == f"{question}y\nrole 'deployers': deleted\n"
    assert [r.method for r in api.requests] == ["DELETE"]


def test_role_delete_without_yes_and_without_a_terminal_deletes_nothing(
    api: FakeApi, invoke: Invoke
) -> None:
    done = invoke("role", "delete", "deployers")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: role 'deployers': not deleting it without confirmation\n"
        "hint: add --yes to delete it without asking\n"
    )
    assert api.requests == []


def test_role_delete_of_a_builtin_role_shows_the_servers_refusal(
    api: FakeApi, invoke: Invoke
) -> None:
    problem = canned.problem(
        409,
        "failed_precondition",
        "role 'admin': is built in",
        hint="only roles an admin made can be deleted",
    )
    api.on("DELETE", "/roles/admin", (409, problem))

    done = invoke("role", "delete", "admin", "-y")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: role 'admin': is built in\nhint: only roles an admin made can be deleted\n"
    )
