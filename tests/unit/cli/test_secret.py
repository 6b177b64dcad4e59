"""``hostler secret``: set (from stdin or a file), list, get (--reveal), delete, rotate-key,
new-key; a value is never printed but by ``get --reveal``."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable

import httpx
import pytest
import typer.testing

from hostler.cli import common, main, secret
from hostler.crypto import aesgcm

from . import canned
from .conftest import Invoke, lines
from .fakeapi import FakeApi

HELLO = "/namespaces/default/pipelines/hello/secrets"
DB_PASSWORD = f"{HELLO}/DB_PASSWORD"
SHARED = "/secrets/SHARED"
VALUE = "s3cr3t-hunter2"
PIPELINE_SECRET = "secret 'DB_PASSWORD' of pipeline 'default/hello'"

Piped = Callable[..., typer.testing.Result]


@pytest.fixture
def piped(api: FakeApi) -> Piped:
    """Run the CLI with ``input`` on standard input as a pipe, not a terminal."""
    state = common.State(transport=api.transport)

    def run(*args: str, input: str = "") -> typer.testing.Result:
        return typer.testing.CliRunner().invoke(main.app, list(args), obj=state, input=input)

    return run


# -- set --------------------------------------------------------------------------------------


def test_secret_set_reads_the_value_from_piped_stdin_and_never_prints_it(
    api: FakeApi, piped: Piped
) -> None:
    api.on("PUT", DB_PASSWORD, (200, canned.secret()))

    done = piped("secret", "set", "DB_PASSWORD", "--pipeline", "hello", input=f"{VALUE}\n")

    assert done.exit_code == 0, done.output
    assert done.stdout == f"{PIPELINE_SECRET}: set\n"
    assert done.stderr == ""
    # The newline echo adds is not part of the value.
    assert api.bodies("PUT", DB_PASSWORD) == [{"value": VALUE}]


def test_secret_set_keeps_a_value_of_several_lines_but_one_final_newline(
    api: FakeApi, piped: Piped
) -> None:
    api.on("PUT", DB_PASSWORD, (200, canned.secret()))

    piped("secret", "set", "DB_PASSWORD", "-p", "hello", input="line 1\nline 2\n\n")
    piped("secret", "set", "DB_PASSWORD", "-p", "hello", input="windows\r\n")
    piped("secret", "set", "DB_PASSWORD", "-p", "hello", input=" spaced ")

    assert api.bodies("PUT", DB_PASSWORD) == [
        {"value": "line 1\nline 2\n"},
        {"value": "windows"},
        {"value": " spaced "},
    ]


def test_secret_set_reads_the_value_from_a_file_in_the_namespace_given(
    api: FakeApi, piped: Piped, tmp_path: pathlib.Path
) -> None:
    path = "/namespaces/team-a/pipelines/web/secrets/DB_PASSWORD"
    api.on("PUT", path, (200, canned.secret()))
    file = tmp_path / "password.txt"
    file.write_text(f"{VALUE}\n", encoding="utf-8")

    done = piped(
        "secret", "set", "DB_PASSWORD", "-p", "web", "-n", "team-a", "--value-file", str(file),
        input="not this\n",
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    assert done.stdout == "secret 'DB_PASSWORD' of pipeline 'team-a/web': set\n"
    assert api.bodies("PUT", path) == [{"value": VALUE}]


def test_secret_set_keeps_the_line_ends_inside_a_value_file(
    api: FakeApi, piped: Piped, tmp_path: pathlib.Path
) -> None:
    api.on("PUT", DB_PASSWORD, (200, canned.secret()))
    file = tmp_path / "key.pem"
    file.write_bytes(b"-----BEGIN KEY-----\r\nabc\r\n-----END KEY-----\r\n")

    done = piped("secret", "set", "DB_PASSWORD", "-p", "hello", "--value-file", str(file))

    assert done.exit_code == 0, done.output
    assert api.bodies("PUT", DB_PASSWORD) == [
        {"value": "-----BEGIN KEY-----\r\nabc\r\n-----END KEY-----"}
    ]


def test_secret_set_reads_standard_input_for_the_value_file_dash(
    api: FakeApi, piped: Piped
) -> None:
    api.on("PUT", DB_PASSWORD, (200, canned.secret()))

    done = piped("secret", "set", "DB_PASSWORD", "-p", "hello", "--value-file", "-", input=VALUE)

    assert done.exit_code == 0, done.output
    assert api.bodies("PUT", DB_PASSWORD) == [{"value": VALUE}]


def test_secret_set_asks_for_the_value_without_echo_on_a_terminal(
    api: FakeApi, invoke: Invoke
) -> None:
    api.on("PUT", DB_PASSWORD, (200, canned.secret()))

    done = invoke("secret", "set", "DB_PASSWORD", "--pipeline", "hello", input=f"{VALUE}\n")

    assert done.exit_code == 0, done.output
    assert done.stderr == f"Value of {PIPELINE_SECRET}:"
    assert VALUE not in done.output
    assert done.stdout.endswith(f"{PIPELINE_SECRET}: set\n")
    assert api.bodies("PUT", DB_PASSWORD) == [{"value": VALUE}]


def test_secret_set_of_a_global_secret_sends_its_namespace_patterns(
    api: FakeApi, piped: Piped
) -> None:
    api.on("PUT", SHARED, (200, canned.secret("SHARED", namespaces=("team-*", "ops"))))

    done = piped(
        "secret", "set", "SHARED", "--global",
        "--namespace-pattern", "team-*", "--namespace-pattern", "ops",
        input=VALUE,
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    assert done.stdout == "global secret 'SHARED': set, usable in team-*, ops\n"
    assert api.bodies("PUT", SHARED) == [{"value": VALUE, "namespaces": ["team-*", "ops"]}]


def test_secret_set_json_is_the_api_answer_without_the_value(api: FakeApi, piped: Piped) -> None:
    api.on("PUT", DB_PASSWORD, (200, canned.secret()))

    done = piped("secret", "set", "DB_PASSWORD", "-p", "hello", "-o", "json", input=VALUE)

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == canned.secret()
    assert VALUE not in done.output


@pytest.mark.parametrize("given", ["", "\n", "\r\n"])
def test_secret_set_refuses_an_empty_value_from_a_pipe_without_asking_the_server(
    api: FakeApi, piped: Piped, given: str
) -> None:
    done = piped("secret", "set", "DB_PASSWORD", "-p", "hello", input=given)

    assert done.exit_code == 1
    assert done.stderr == (
        f"error: {PIPELINE_SECRET}: the value is empty\n"
        "hint: pipe it in (hostler secret set NAME ... < FILE) or give --value-file FILE\n"
    )
    assert api.requests == []


def test_secret_set_refuses_an_empty_value_typed_or_in_a_file(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")

    typed = invoke("secret", "set", "DB_PASSWORD", "-p", "hello", input="\n")
    filed = invoke("secret", "set", "DB_PASSWORD", "-p", "hello", "--value-file", str(empty))

    assert typed.exit_code == filed.exit_code == 1
    assert f"error: {PIPELINE_SECRET}: the value is empty\n" in typed.stderr
    assert filed.stderr.startswith(f"error: {PIPELINE_SECRET}: the value is empty\n")
    assert api.requests == []


def test_secret_set_says_when_the_value_file_cannot_be_read(
    api: FakeApi, invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    missing = tmp_path / "missing"

    done = invoke("secret", "set", "DB_PASSWORD", "-p", "hello", "--value-file", str(missing))

    assert done.exit_code == 1
    assert done.stderr == (
        f"error: value file '{missing}': cannot be read (No such file or directory)\n"
    )
    assert api.requests == []


def test_secret_set_refuses_a_name_that_cannot_name_a_secret_before_reading_the_value(
    api: FakeApi, piped: Piped
) -> None:
    done = piped("secret", "set", "DB-PASSWORD", "-p", "hello", input=VALUE)

    assert done.exit_code == 1
    assert done.stderr == (
        "error: secret 'DB-PASSWORD': not a valid name\n"
        "hint: use letters, digits and '_', not starting with a digit, e.g. DB_PASSWORD\n"
    )
    assert api.requests == []


def test_secret_set_shows_the_servers_refusal_without_the_value(api: FakeApi, piped: Piped) -> None:
    problem = canned.problem(
        409,
        "conflict",
        "secrets: the server has no key to encrypt them with",
        field="secrets.key",
        hint="set secrets.key in the server's configuration ('hostler secret new-key' prints a "
        "new one) and restart it",
    )
    api.on("PUT", DB_PASSWORD, (409, problem))

    done = piped("secret", "set", "DB_PASSWORD", "-p", "hello", input=VALUE)

    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == (
        "error: secrets: the server has no key to encrypt them with (field 'secrets.key')\n"
        "hint: set secrets.key in the server's configuration ('hostler secret new-key' prints a "
        "new one) and restart it\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pipeline", "hello", "--global"], "give --pipeline or --global, not both"),
        ([], "give --pipeline PIPELINE for a pipeline's secret, or --global for a global one"),
        (
            ["--pipeline", "hello", "--namespace-pattern", "team-*"],
            "only a global secret has namespace patterns: add --global, or leave them out",
        ),
        (
            ["--namespace-pattern", "team-*"],
            "only a global secret has namespace patterns: add --global, or leave them out",
        ),
        (["--global"], "a global secret needs the namespaces that may use it"),
        (
            ["--global", "--namespace-pattern", "*", "-n", "team-a"],
            "a global secret belongs to no namespace",
        ),
    ],
    ids=["both", "neither", "patterns-of-a-pipeline", "patterns-alone", "global-alone", "global-n"],
)
def test_secret_set_with_options_that_do_not_fit_is_a_usage_error(
    api: FakeApi, piped: Piped, args: list[str], message: str
) -> None:
    done = piped("secret", "set", "DB_PASSWORD", *args, input=VALUE)

    assert done.exit_code == 2
    assert message in " ".join(done.stderr.replace("│", " ").split())
    assert api.requests == []


def test_a_global_secret_ignores_a_namespace_from_the_environment(
    api: FakeApi, piped: Piped, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTLER_NAMESPACE", "team-a")
    api.on("GET", "/secrets", (200, canned.page()))

    done = piped("secret", "list", "--global")

    assert done.exit_code == 0, done.output


@pytest.mark.parametrize(
    "command", [["list"], ["get", "DB_PASSWORD"], ["delete", "DB_PASSWORD", "-y"]]
)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pipeline", "hello", "--global"], "give --pipeline or --global, not both"),
        ([], "give --pipeline PIPELINE for a pipeline's secret, or --global for a global one"),
    ],
    ids=["both", "neither"],
)
def test_every_secret_command_needs_either_a_pipeline_or_global(
    api: FakeApi, invoke: Invoke, command: list[str], args: list[str], message: str
) -> None:
    done = invoke("secret", *command, *args)

    assert done.exit_code == 2
    assert message in " ".join(done.stderr.replace("│", " ").split())
    assert api.requests == []


# -- list -------------------------------------------------------------------------------------


def test_secret_list_shows_names_keys_and_when_they_were_set(api: FakeApi, invoke: Invoke) -> None:
    items = [canned.secret(), canned.secret("API_TOKEN", value=None)]
    api.on("GET", HELLO, (200, canned.page(*items, next_cursor="c2")))

    done = invoke("secret", "list", "--pipeline", "hello")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        "NAME          KEY                UPDATED",
        "─" * 52,
        "DB_PASSWORD   3f9c1a27b04e5d61   2024-05-02 08:30:00",
        "API_TOKEN     3f9c1a27b04e5d61   2024-05-02 08:30:00",
        "more: add --cursor c2 (or --all)",
    ]


def test_secret_list_of_global_secrets_shows_where_they_may_be_used(
    api: FakeApi, invoke: Invoke
) -> None:
    items = [
        canned.secret("SHARED", namespaces=("team-*", "ops")),
        canned.secret("ALL", namespaces=("*",)),
    ]
    api.on("GET", "/secrets", (200, canned.page(*items)))

    done = invoke("secret", "list", "--global")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        "NAME     KEY                UPDATED               NAMESPACES",
        "─" * 61,
        "SHARED   3f9c1a27b04e5d61   2024-05-02 08:30:00   team-*, ops",
        "ALL      3f9c1a27b04e5d61   2024-05-02 08:30:00   *",
    ]


def test_secret_list_json_is_the_api_answer_and_sends_the_page(
    api: FakeApi, invoke: Invoke
) -> None:
    page = canned.page(canned.secret())
    path = "/namespaces/team-a/pipelines/web/secrets"
    api.on("GET", path, (200, page))

    done = invoke(
        "secret", "list", "-p", "web", "-n", "team-a", "-o", "json", "--limit", "5",
        "--cursor", "c1",
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == page
    assert dict(api.queries("GET", path)[0]) == {"cursor": "c1", "limit": "5"}


def test_secret_list_all_walks_every_page_of_global_secrets(api: FakeApi, invoke: Invoke) -> None:
    first = canned.secret("A", namespaces=("*",))
    second = canned.secret("B", namespaces=("*",))
    api.on(
        "GET",
        "/secrets",
        (200, canned.page(first, next_cursor="c2")),
        (200, canned.page(second)),
    )

    done = invoke("secret", "list", "--global", "--all", "-o", "json")

    assert json.loads(done.stdout) == {"items": [first, second], "next_cursor": None}
    assert [dict(q) for q in api.queries("GET", "/secrets")] == [
        {"limit": "50"},
        {"cursor": "c2", "limit": "50"},
    ]


# -- get --------------------------------------------------------------------------------------


def test_secret_get_shows_its_metadata_and_asks_for_no_value(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", DB_PASSWORD, (200, canned.secret()))

    done = invoke("secret", "get", "DB_PASSWORD", "-p", "hello")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        " name       DB_PASSWORD",
        " scope      pipeline",
        " namespace  default",
        " pipeline   hello",
        " key        3f9c1a27b04e5d61",
        " created    2024-05-01 12:00:00",
        " updated    2024-05-02 08:30:00",
    ]
    assert dict(api.queries("GET", DB_PASSWORD)[0]) == {}


def test_secret_get_of_a_global_secret_shows_where_it_may_be_used(
    api: FakeApi, invoke: Invoke
) -> None:
    api.on("GET", SHARED, (200, canned.secret("SHARED", namespaces=("team-*", "ops"))))

    done = invoke("secret", "get", "SHARED", "--global")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        " name        SHARED",
        " scope       global",
        " namespaces  team-*, ops",
        " key         3f9c1a27b04e5d61",
        " created     2024-05-01 12:00:00",
        " updated     2024-05-02 08:30:00",
    ]


@pytest.mark.parametrize(
    ("args", "path"),
    [(["-p", "hello"], DB_PASSWORD), (["--global"], "/secrets/DB_PASSWORD")],
    ids=["pipeline", "global"],
)
def test_secret_get_reveal_prints_the_value_alone(
    api: FakeApi, invoke: Invoke, args: list[str], path: str
) -> None:
    api.on("GET", path, (200, canned.secret(value=f"{VALUE}\nline 2")))

    done = invoke("secret", "get", "DB_PASSWORD", *args, "--reveal")

    assert done.exit_code == 0, done.output
    assert done.stdout == f"{VALUE}\nline 2\n"
    assert done.stderr == ""
    assert dict(api.queries("GET", path)[0]) == {"reveal": "true"}


def test_secret_get_reveal_json_is_the_whole_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", DB_PASSWORD, (200, canned.secret(value=VALUE)))

    done = invoke("secret", "get", "DB_PASSWORD", "-p", "hello", "--reveal", "-o", "json")

    assert json.loads(done.stdout) == canned.secret(value=VALUE)


def test_secret_get_reveal_refused_to_a_non_admin_is_an_error(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(
        403,
        "permission_denied",
        "token 'ci': may not admin secrets in namespace 'default'",
        hint="ask an admin for a role that grants it",
    )
    api.on("GET", DB_PASSWORD, (403, problem))

    done = invoke("secret", "get", "DB_PASSWORD", "-p", "hello", "--reveal")

    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == (
        "error: token 'ci': may not admin secrets in namespace 'default'\n"
        "hint: ask an admin for a role that grants it\n"
    )


def test_secret_get_reveal_says_so_when_no_value_came_back(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", DB_PASSWORD, (200, canned.secret()))

    done = invoke("secret", "get", "DB_PASSWORD", "-p", "hello", "--reveal")

    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == f"error: {PIPELINE_SECRET}: the server did not reveal the value\n"


def test_secret_get_of_an_unknown_secret_is_an_error(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(404, "not_found", "global secret 'NOPE': not found")
    api.on("GET", "/secrets/NOPE", (404, problem))

    done = invoke("secret", "get", "NOPE", "--global")

    assert done.exit_code == 1
    assert done.stderr == "error: global secret 'NOPE': not found\n"


# -- delete -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "path", "ref"),
    [
        (["-p", "hello"], DB_PASSWORD, PIPELINE_SECRET),
        (["--global"], "/secrets/DB_PASSWORD", "global secret 'DB_PASSWORD'"),
    ],
    ids=["pipeline", "global"],
)
def test_secret_delete_with_yes_deletes_and_says_so(
    api: FakeApi, invoke: Invoke, args: list[str], path: str, ref: str
) -> None:
    api.on("DELETE", path, httpx.Response(204))

    done = invoke("secret", "delete", "DB_PASSWORD", *args, "-y")

    assert done.exit_code == 0, done.output
    assert done.stdout == f"{ref}: deleted\n"
    assert [(r.method, r.url.path) for r in api.requests] == [("DELETE", f"/api/v1{path}")]


def test_secret_delete_asks_on_a_terminal(api: FakeApi, invoke: Invoke) -> None:
    api.on("DELETE", DB_PASSWORD, httpx.Response(204))

    declined = invoke("secret", "delete", "DB_PASSWORD", "-p", "hello", input="n\n")
    assert api.requests == []
    accepted = invoke("secret", "delete", "DB_PASSWORD", "-p", "hello", input="y\n")

    question = f"Delete {PIPELINE_SECRET}? Tasks that refer to it will fail. [y/N]: "
    assert declined.exit_code == 0
    assert declined.output == f"{question}n\nNothing deleted.\n"
    assert accepted.exit_code == 0
    assert accepted.output == f"{question}y\n{PIPELINE_SECRET}: deleted\n"
    assert len(api.requests) == 1


def test_secret_delete_without_yes_and_without_a_terminal_deletes_nothing(
    api: FakeApi, piped: Piped
) -> None:
    done = piped("secret", "delete", "SHARED", "--global", input="y\n")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: global secret 'SHARED': not deleting it without confirmation\n"
        "hint: add --yes to delete it without asking\n"
    )
    assert api.requests == []


# -- rotate-key and new-key -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "said"),
    [(3, "3 encrypted again"), (1, "1 encrypted again"), (0, "none needed it")],
)
def test_secret_rotate_key_says_how_many_and_under_which_key(
    api: FakeApi, invoke: Invoke, count: int, said: str
) -> None:
    api.on("POST", "/secrets/rotate-key", (200, {"secrets": count, "key": canned.KEY}))

    done = invoke("secret", "rotate-key")

    assert done.exit_code == 0, done.output
    assert done.stdout == f"secrets: {said}; every secret is under key '{canned.KEY}' now\n"
    assert done.stderr == (
        "note: the keys of secrets.previous_keys are no longer needed\n"
        "hint: remove them from the server's configuration and restart it\n"
    )


def test_secret_rotate_key_json_is_the_api_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", "/secrets/rotate-key", (200, {"secrets": 2, "key": canned.KEY}))

    done = invoke("secret", "rotate-key", "-o", "json")

    assert json.loads(done.stdout) == {"secrets": 2, "key": canned.KEY}
    assert done.stderr == ""


def test_secret_rotate_key_without_a_key_on_the_server_is_an_error(
    api: FakeApi, invoke: Invoke
) -> None:
    problem = canned.problem(
        409, "conflict", "secrets: the server has no key to encrypt them with", hint="set one"
    )
    api.on("POST", "/secrets/rotate-key", (409, problem))

    done = invoke("secret", "rotate-key")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: secrets: the server has no key to encrypt them with\nhint: set one\n"
    )


def test_secret_new_key_prints_a_key_the_server_accepts_without_asking_it(
    api: FakeApi, invoke: Invoke
) -> None:
    first = invoke("secret", "new-key")
    second = invoke("secret", "new-key")

    assert first.exit_code == second.exit_code == 0
    key = first.stdout.removesuffix("\n")
    assert "\n" not in key
    assert len(aesgcm.parse_key(key)) == aesgcm.KEY_BYTES
    assert first.stdout != second.stdout
    assert first.stderr == (
        "a new key: set it as secrets.key in the server's configuration, or as "
        "HOSTLER_SECRETS__KEY, and restart the server. Keep it as safely as the database.\n"
        "hint: to replace a key in use, move the old one to secrets.previous_keys, then run "
        "'hostler secret rotate-key'\n"
    )
    assert api.requests == []


def test_new_key_is_written_as_the_server_writes_its_keys() -> None:
    made = secret.new_key()

    assert aesgcm.parse_key(made, field="secrets.key")
    assert len(made) == len(aesgcm.new_key())
    assert made.endswith("=") == aesgcm.new_key().endswith("=")
