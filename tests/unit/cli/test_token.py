"""``hostler token``: create (the secret shown once), list, get, disable, enable, delete."""

from __future__ import annotations

import datetime
import json
import re

import httpx
import pytest
import typer

from hostler.cli import token

from . import canned
from .conftest import Invoke, lines
from .fakeapi import FakeApi

TOKEN = "/tokens/0123456789ab"
FUTURE = "2999-01-01T00:00:00Z"
PAST = "2024-06-01T00:00:00Z"


def created(**changes: object) -> dict[str, object]:
    return {"token": {**canned.token(), **changes}, "secret": canned.SECRET}


# -- create -----------------------------------------------------------------------------------


def test_token_create_prints_the_secret_alone_and_says_it_is_shown_once(
    api: FakeApi, invoke: Invoke
) -> None:
    api.on("POST", "/tokens", (201, created()))

    done = invoke("token", "create", "ci", "--role", "namespace-owner:team-*", "--role", "admin")

    assert done.exit_code == 0, done.output
    assert done.stdout == f"{canned.SECRET}\n"
    assert done.stderr == (
        "token 'ci' (id 0123456789ab): created, does not expire. It is shown this once: store it "
        "now.\nhint: keep it in a context: hostler context add NAME --url URL --token-file FILE\n"
    )
    assert api.bodies("POST", "/tokens") == [
        {"name": "ci", "roles": ["namespace-owner:team-*", "admin"]}
    ]


def test_token_create_json_is_the_whole_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", "/tokens", (201, created(expires=FUTURE)))

    done = invoke("token", "create", "ci", "--role", "admin", "--expires", FUTURE, "-o", "json")

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == created(expires=FUTURE)
    assert done.stderr == ""


def test_token_create_says_when_it_expires(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", "/tokens", (201, created(expires="2030-01-01T10:00:00Z")))

    done = invoke("token", "create", "ci", "--role", "admin", "--expires", "2030-01-01T10:00:00")

    assert done.stderr.startswith(
        "token 'ci' (id 0123456789ab): created, expires 2030-01-01 10:00:00 UTC."
    )
    # A time without a zone is UTC.
    assert api.bodies("POST", "/tokens")[0]["expires"] == "2030-01-01T10:00:00+00:00"


def test_token_create_expires_after_a_duration_from_now(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", "/tokens", (201, created()))

    before = datetime.datetime.now(datetime.UTC)
    done = invoke("token", "create", "ci", "--role", "admin", "--expires", "30d")
    after = datetime.datetime.now(datetime.UTC)

    assert done.exit_code == 0, done.output
    sent = datetime.datetime.fromisoformat(api.bodies("POST", "/tokens")[0]["expires"])
    month = datetime.timedelta(days=30)
    assert before + month <= sent <= after + month


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)),
        ("1d12h", datetime.datetime(2024, 5, 2, 12, tzinfo=datetime.UTC)),
        ("2024-12-01", datetime.datetime(2024, 12, 1, tzinfo=datetime.UTC)),
        ("2024-12-01 10:30:00", datetime.datetime(2024, 12, 1, 10, 30, tzinfo=datetime.UTC)),
        (
            "2024-12-01T10:30:00+02:00",
            datetime.datetime(2024, 12, 1, 8, 30, tzinfo=datetime.UTC),
        ),
        ("2024-12-01T10:30:00Z", datetime.datetime(2024, 12, 1, 10, 30, tzinfo=datetime.UTC)),
    ],
)
def test_expiry_reads_durations_and_times(text: str, expected: datetime.datetime) -> None:
    now = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)

    assert token.expiry(text, now=now) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30", "'30' has no unit; write a duration such as '30d' or '12h'"),
        ("soon", "'soon' is neither a duration (30d, 12h) nor a time"),
        ("2024-13-01", "'2024-13-01' is neither a duration (30d, 12h) nor a time"),
    ],
)
def test_expiry_refuses_what_is_neither_a_duration_nor_a_time(text: str, message: str) -> None:
    with pytest.raises(typer.BadParameter, match=re.escape(message)):
        token.expiry(text)


def test_token_create_with_a_bad_expiry_is_a_usage_error_naming_the_flag(
    api: FakeApi, invoke: Invoke
) -> None:
    done = invoke("token", "create", "ci", "--role", "admin", "--expires", "soon")

    assert done.exit_code == 2
    assert "'--expires'" in done.stderr
    assert "'soon' is neither a duration" in done.stderr
    assert api.requests == []


def test_token_create_needs_a_role(api: FakeApi, invoke: Invoke) -> None:
    done = invoke("token", "create", "ci")

    assert done.exit_code == 2
    assert "--role" in done.stderr
    assert api.requests == []


def test_token_create_shows_the_servers_refusal(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(
        422,
        "invalid_argument",
        "role 'namespace-owner': needs the namespaces it applies to",
        field="roles",
        hint="give it as 'namespace-owner:PATTERN', e.g. 'namespace-owner:team-*'",
    )
    api.on("POST", "/tokens", (422, problem))

    done = invoke("token", "create", "ci", "--role", "namespace-owner")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: role 'namespace-owner': needs the namespaces it applies to (field 'roles')\n"
        "hint: give it as 'namespace-owner:PATTERN', e.g. 'namespace-owner:team-*'\n"
    )
    assert done.stdout == ""


# -- list and get ---------------------------------------------------------------------------


def test_token_list_renders_roles_and_whether_each_works(api: FakeApi, invoke: Invoke) -> None:
    items = [
        canned.token("0123456789ab", "ci", expires=FUTURE),
        canned.token("111111111111", "old", roles=("admin",), expires=PAST),
        canned.token("222222222222", "paused", disabled=True),
        canned.token(
            "333333333333", "readers", roles=("namespace-reader:*", "deployers"), expires=None
        ),
    ]
    api.on("GET", "/tokens", (200, canned.page(*items, next_cursor="c2")))

    done = invoke("token", "list")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        "ID             NAME      ROLES                           STATE      EXPIRES"
        "               CREATED               BY",
        "─" * 117,
        "0123456789ab   ci        namespace-owner:team-*          active     2999-01-01 00:00:00"
        "   2024-05-01 12:00:00   admin",
        "111111111111   old       admin                           expired    2024-06-01 00:00:00"
        "   2024-05-01 12:00:00   admin",
        "222222222222   paused    namespace-owner:team-*          disabled   never"
        "                 2024-05-01 12:00:00   admin",
        "333333333333   readers   namespace-reader:*, deployers   active     never"
        "                 2024-05-01 12:00:00   admin",
        "more: add --cursor c2 (or --all)",
    ]


def test_token_list_json_is_the_api_answer_and_sends_the_page(api: FakeApi, invoke: Invoke) -> None:
    page = canned.page(canned.token())
    api.on("GET", "/tokens", (200, page))

    done = invoke("token", "list", "-o", "json", "--limit", "5", "--cursor", "c1")

    assert json.loads(done.stdout) == page
    assert dict(api.queries("GET", "/tokens")[0]) == {"cursor": "c1", "limit": "5"}


def test_token_get_shows_its_fields(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", TOKEN, (200, canned.token(expires=PAST)))

    done = invoke("token", "get", "0123456789ab")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        " id          0123456789ab",
        " name        ci",
        " roles       namespace-owner:team-*",
        " state       expired",
        " expires     2024-06-01 00:00:00",
        " created     2024-05-01 12:00:00",
        " created_by  admin",
    ]


def test_token_commands_take_the_id_from_a_token_text(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", TOKEN, (200, canned.token()))

    masked = invoke("token", "get", "hst_0123456789ab_…", "-o", "json")
    whole = invoke("token", "get", canned.SECRET, "-o", "json")

    assert masked.exit_code == whole.exit_code == 0
    assert [r.url.path for r in api.requests] == [f"/api/v1{TOKEN}"] * 2


def test_token_get_of_an_unknown_token_is_an_error(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(404, "not_found", "token 'ffffffffffff': not found")
    api.on("GET", "/tokens/ffffffffffff", (404, problem))

    done = invoke("token", "get", "ffffffffffff")

    assert done.exit_code == 1
    assert done.stderr == "error: token 'ffffffffffff': not found\n"


# -- disable, enable, delete ----------------------------------------------------------------


@pytest.mark.parametrize("action", ["disable", "enable"])
def test_token_disable_and_enable_say_changed_or_unchanged(
    api: FakeApi, invoke: Invoke, action: str
) -> None:
    answer = {"token": canned.token(disabled=action == "disable")}
    api.on(
        "POST",
        f"{TOKEN}/{action}",
        (200, {**answer, "result": "changed"}),
        (200, {**answer, "result": "unchanged"}),
    )

    first = invoke("token", action, "0123456789ab")
    again = invoke("token", action, "0123456789ab", "-o", "json")

    assert first.stdout == f"token '0123456789ab' (ci): {action}d\n"
    assert json.loads(again.stdout) == {**answer, "result": "unchanged"}
    unchanged = invoke("token", action, "0123456789ab")
    assert unchanged.stdout == f"token '0123456789ab' (ci): unchanged (already {action}d)\n"


def test_token_delete_with_yes_deletes_and_says_so(api: FakeApi, invoke: Invoke) -> None:
    api.on("DELETE", TOKEN, httpx.Response(204))

    done = invoke("token", "delete", "0123456789ab", "-y")

    assert done.exit_code == 0, done.output
    assert done.stdout == "token '0123456789ab': deleted\n"
    assert [r.method for r in api.requests] == ["DELETE"]


def test_token_delete_asks_on_a_terminal(api: FakeApi, invoke: Invoke) -> None:
    api.on("DELETE", TOKEN, httpx.Response(204))

    declined = invoke("token", "delete", "0123456789ab", input="n\n")
    assert api.requests == []
    accepted = invoke("token", "delete", "0123456789ab", input="y\n")

    question = "Delete token '0123456789ab'? Requests carrying it will be refused. [y/N]: "
    assert declined.exit_code == 0
    assert declined.output == f"{question}n\nNothing deleted.\n"
    assert accepted.exit_code == 0
    assert accepted.output == f"{question}y\ntoken '0123456789ab': deleted\n"
    assert len(api.requests) == 1


def test_token_delete_without_yes_and_without_a_terminal_deletes_nothing(
    api: FakeApi, invoke: Invoke
) -> None:
    done = invoke("token", "delete", "0123456789ab")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: token '0123456789ab': not deleting it without confirmation\n"
        "hint: add --yes to delete it without asking\n"
    )
    assert api.requests == []
