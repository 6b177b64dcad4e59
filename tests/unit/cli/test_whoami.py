"""``hostler whoami``: who the server takes the caller for."""

from __future__ import annotations

import json

from . import canned
from .conftest import Invoke, lines
from .fakeapi import FakeApi

CALLER = {
    "name": "ci",
    "token": "0123456789ab",
    "grants": [
        canned.grant(["read", "run"], ["pipelines", "runs"], "team-*"),
        canned.grant(["read"], ["namespaces"], "*"),
    ],
}


def test_whoami_shows_the_name_token_id_and_grants_one_a_line(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/whoami", (200, CALLER))

    done = invoke("whoami")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        " name    ci",
        " token   0123456789ab",
        " grants  read,run on pipelines,runs in team-*",
        "         read on namespaces in *",
    ]


def test_whoami_json_is_the_api_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/whoami", (200, CALLER))

    done = invoke("whoami", "-o", "json")

    assert json.loads(done.stdout) == CALLER


def test_whoami_in_development_mode_says_no_token_is_needed(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/whoami", (200, {"name": "anonymous", "token": None, "grants": []}))

    done = invoke("whoami")

    assert lines(done.stdout) == [
        " name    anonymous",
        " token   none (the server is in development mode)",
        " grants  -",
    ]


def test_whoami_without_a_token_shows_the_servers_hint(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(
        401,
        "unauthenticated",
        "request: carries no token",
        hint="send 'Authorization: Bearer <token>'; with the CLI, 'hostler context add' or "
        "HOSTLER_TOKEN",
    )
    api.on("GET", "/whoami", (401, problem))

    done = invoke("whoami")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: request: carries no token\n"
        "hint: send 'Authorization: Bearer <token>'; with the CLI, 'hostler context add' or "
        "HOSTLER_TOKEN\n"
    )
