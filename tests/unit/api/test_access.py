"""Access on every route: tokens, the isolation matrix between namespaces, anchoring, 401s.

The matrix walks every operation of the served OpenAPI document, so a new route is covered the
day it is added.
"""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import testclient

from hostler import config
from hostler.api import app, permissions
from hostler.crypto import aesgcm
from hostler.services import namespaces, pipelines, runs, tokens
from hostler.services.context import Context

from .conftest import API, assert_problem, pipeline

STREAMS = {"stream_events"}
"""Routes that answer with a stream that never ends by itself: only their refusals are sent."""


@dataclasses.dataclass
class Setup:
    client: testclient.TestClient
    ctx: Context
    admin: str
    team_a: str
    teams: str


@pytest.fixture
def secure(ctx: Context, tmp_path: pathlib.Path) -> Iterator[Setup]:
    """The API with authentication on, namespaces with a pipeline and a run each, an admin token,
    a token that owns ``team-a`` and one that owns ``team-*``."""
    settings = config.Settings(data_dir=tmp_path)
    system = ctx.acting_as("setup")
    for name in ("team-a", "team-b", "xteam-a", "team"):
        namespaces.create(system, name)
        pipelines.up(system, name, pipeline())
        runs.start(system, name, "hello")
    admin = tokens.create(system, "root", ["admin"]).text
    owner = tokens.create(system, "owner-a", ["namespace-owner:team-a"]).text
    teams = tokens.create(system, "teams", ["namespace-owner:team-*"]).text
    with testclient.TestClient(app.create(ctx, settings)) as client:
        yield Setup(client, ctx, admin, owner, teams)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def operations(client: testclient.TestClient) -> list[tuple[str, str, str]]:
    """Return (operation id, method, path template) of every operation the API serves."""
    document = client.get(f"{API}/openapi.json").json()
    return [
        (operation["operationId"], method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def request(setup: Setup, method: str, path: str, namespace: str, token: str | None) -> Any:
    params = {
        "namespace": namespace,
        "pipeline": "hello",
        "run": "1",
        "task": "fetch",
        "version": "1",
        "token": "0123456789ab",
        "role": "nobody",
        "name": "API_TOKEN",
        "key": "report.txt",
        "trigger": "webhook",
    }
    url = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)
    query = {"namespace": namespace} if "/events" in path else {}
    body: dict[str, Any] | None = {} if method in ("post", "put", "patch") else None
    headers = bearer(token) if token else {}
    return setup.client.request(method, url, json=body, params=query, headers=headers)


def test_every_route_refuses_another_namespace_and_allows_its_own(secure: Setup) -> None:
    checked = 0
    for operation, method, path in operations(secure.client):
        needs = permissions.ROUTES[operation]
        if needs is permissions.PUBLIC:
            continue
        theirs = request(secure, method, path, "team-b", secure.team_a)
        if isinstance(needs, permissions.Needs) and needs.target in (
            permissions.Target.PATH,
            permissions.Target.QUERY,
        ):
            assert theirs.status_code == 403, (operation, theirs.text)
            assert "may not" in theirs.json()["detail"]
            if operation not in STREAMS:
                ours = request(secure, method, path, "team-a", secure.team_a)
                assert ours.status_code not in (401, 403), (operation, ours.text)
            checked += 1
        elif (
            isinstance(needs, permissions.Needs) and needs.target is permissions.Target.INSTALLATION
        ):
            assert theirs.status_code == 403, (operation, theirs.text)
            admin = request(secure, method, path, "team-b", secure.admin)
            assert admin.status_code not in (401, 403), (operation, admin.text)
            checked += 1
        else:
            assert theirs.status_code == 200, (operation, theirs.text)
    assert checked >= 43


def test_anonymous_requests_are_refused_everywhere_but_health(secure: Setup) -> None:
    for operation, method, path in operations(secure.client):
        answer = request(secure, method, path, "team-a", None)
        if permissions.ROUTES[operation] is permissions.PUBLIC:
            assert answer.status_code not in (401, 403), operation
        else:
            body = assert_problem(answer, 401, "unauthenticated", field=None)
            assert body["detail"] == "request: carries no token", operation


def test_listing_namespaces_shows_only_those_the_token_may_read(secure: Setup) -> None:
    answer = secure.client.get(f"{API}/namespaces", headers=bearer(secure.teams))
    assert [n["name"] for n in answer.json()["items"]] == ["team-a", "team-b"]
    one = secure.client.get(f"{API}/namespaces", params={"limit": 1}, headers=bearer(secure.teams))
    assert [n["name"] for n in one.json()["items"]] == ["team-a"]
    assert one.json()["next_cursor"] is not None


def test_patterns_are_anchored(secure: Setup) -> None:
    def status(namespace: str) -> int:
        url = f"{API}/namespaces/{namespace}/pipelines/hello/runs"
        return int(secure.client.get(url, headers=bearer(secure.teams)).status_code)

    assert status("team-a") == 200
    assert status("team-b") == 200
    assert status("xteam-a") == 403
    assert status("team") == 403


def test_events_need_a_namespace_unless_the_token_reaches_everything(secure: Setup) -> None:
    everything = secure.client.get(f"{API}/events", headers=bearer(secure.team_a))
    assert everything.status_code == 403
    mine = secure.client.get(
        f"{API}/events", params={"namespace": "team-a"}, headers=bearer(secure.team_a)
    )
    assert mine.status_code == 200
    assert {e["namespace"] for e in mine.json()["items"]} == {"team-a"}
    assert secure.client.get(f"{API}/events", headers=bearer(secure.admin)).status_code == 200


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer nonsense", "token: not a Hostler token"),
        ("Bearer hst_0123456789ab_" + "a" * 43, "token: not valid"),
    ],
)
def test_a_wrong_token_is_a_clear_401(secure: Setup, header: str, detail: str) -> None:
    answer = secure.client.get(f"{API}/whoami", headers={"Authorization": header})
    assert_problem(answer, 401, "unauthenticated", field=None, detail=detail)


def test_a_token_with_a_wrong_secret_is_not_valid(secure: Setup) -> None:
    forged = secure.team_a[:-1] + ("A" if secure.team_a[-1] != "A" else "B")
    answer = secure.client.get(f"{API}/whoami", headers=bearer(forged))
    assert_problem(answer, 401, "unauthenticated", field=None, detail="token: not valid")


def test_disabled_expired_and_deleted_tokens_are_refused(secure: Setup) -> None:
    system = secure.ctx.acting_as("setup")
    made = tokens.create(
        system,
        "short",
        ["namespace-reader:team-a"],
        expires=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )
    headers = bearer(made.text)
    assert secure.client.get(f"{API}/whoami", headers=headers).json()["name"] == "short"

    tokens.set_disabled(system, made.token.id, True)
    answer = secure.client.get(f"{API}/whoami", headers=headers)
    assert_problem(answer, 401, "unauthenticated", field=None, detail="token 'short': disabled")

    tokens.set_disabled(system, made.token.id, False)
    later = dataclasses.replace(
        secure.ctx, clock=lambda: datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)
    )
    secure.client.app.state.context = later  # type: ignore[attr-defined]
    answer = secure.client.get(f"{API}/whoami", headers=headers)
    body = assert_problem(answer, 401, "unauthenticated", field=None)
    assert body["detail"].startswith("token 'short': expired at ")
    secure.client.app.state.context = secure.ctx  # type: ignore[attr-defined]

    tokens.delete(system, made.token.id)
    answer = secure.client.get(f"{API}/whoami", headers=headers)
    assert_problem(answer, 401, "unauthenticated", field=None, detail="token: not valid")


def test_tokens_are_made_by_admins_and_their_secret_is_shown_once(secure: Setup) -> None:
    made = secure.client.post(
        f"{API}/tokens",
        json={"name": "ci", "roles": ["namespace-reader:team-*"]},
        headers=bearer(secure.admin),
    )
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["secret"].startswith(f"hst_{answer['token']['id']}_")
    listed = secure.client.get(f"{API}/tokens", headers=bearer(secure.admin)).text
    assert answer["secret"] not in listed and "digest" not in listed
    whoami = secure.client.get(f"{API}/whoami", headers=bearer(answer["secret"])).json()
    assert whoami["name"] == "ci"
    assert whoami["grants"][0]["pattern"] == "team-*"
    history = secure.client.get(
        f"{API}/history", params={"kind": "token"}, headers=bearer(secure.admin)
    ).json()["items"]
    assert (history[0]["kind"], history[0]["actor"], history[0]["target"]) == (
        "token.create",
        "root",
        "ci",
    )
    assert answer["secret"] not in str(history)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad Name", "roles": ["admin"]}, "name"),
        ({"name": "anonymous", "roles": ["admin"]}, "name"),
        ({"name": "extension-cron", "roles": ["admin"]}, "name"),
        ({"name": "run-0123", "roles": ["admin"]}, "name"),
        ({"name": "x", "roles": []}, "roles"),
        ({"name": "x", "roles": ["namespace-owner"]}, "roles"),
        ({"name": "x", "roles": ["namespace-owner:Team"]}, "roles"),
        ({"name": "x", "roles": ["admin"], "expires": "2000-01-01T00:00:00Z"}, "expires"),
    ],
)
def test_bad_token_requests_are_refused_and_leave_nothing(
    secure: Setup, body: dict[str, Any], field: str
) -> None:
    before = secure.client.get(f"{API}/tokens", headers=bearer(secure.admin)).json()
    answer = secure.client.post(f"{API}/tokens", json=body, headers=bearer(secure.admin))
    assert_problem(answer, 422, "invalid_argument", field=field)
    assert secure.client.get(f"{API}/tokens", headers=bearer(secure.admin)).json() == before


def test_a_token_for_a_missing_custom_role_is_refused(secure: Setup) -> None:
    answer = secure.client.post(
        f"{API}/tokens", json={"name": "x", "roles": ["ghost"]}, headers=bearer(secure.admin)
    )
    assert_problem(answer, 404, "not_found", field="role")


def test_custom_roles_grant_exactly_their_grants(secure: Setup) -> None:
    role = {
        "name": "runner",
        "grants": [{"kinds": ["runs"], "actions": ["read", "run"], "pattern": "team-a"}],
    }
    made = secure.client.post(f"{API}/roles", json=role, headers=bearer(secure.admin))
    assert made.status_code == 201, made.text
    token = secure.client.post(
        f"{API}/tokens", json={"name": "runner", "roles": ["runner"]}, headers=bearer(secure.admin)
    ).json()["secret"]
    runs_url = f"{API}/namespaces/team-a/pipelines/hello/runs"
    assert secure.client.post(runs_url, json={}, headers=bearer(token)).status_code == 201
    pipeline_url = f"{API}/namespaces/team-a/pipelines/hello"
    assert secure.client.get(pipeline_url, headers=bearer(token)).status_code == 403
    other = f"{API}/namespaces/team-b/pipelines/hello/runs"
    assert secure.client.post(other, json={}, headers=bearer(token)).status_code == 403

    secure.client.delete(f"{API}/roles/runner", headers=bearer(secure.admin))
    assert secure.client.post(runs_url, json={}, headers=bearer(token)).status_code == 403


def test_built_in_roles_cannot_be_made_or_deleted(secure: Setup) -> None:
    made = secure.client.post(
        f"{API}/roles",
        json={
            "name": "admin",
            "grants": [{"kinds": ["runs"], "actions": ["read"], "pattern": "*"}],
        },
        headers=bearer(secure.admin),
    )
    assert_problem(made, 409, "already_exists", field="name")
    gone = secure.client.delete(f"{API}/roles/admin", headers=bearer(secure.admin))
    assert_problem(gone, 409, "failed_precondition", field="role")


def test_only_an_admin_who_asks_gets_a_secret_value(secure: Setup) -> None:
    keys = aesgcm.Keyring(aesgcm.parse_key(aesgcm.new_key()))
    secure.client.app.state.context = dataclasses.replace(secure.ctx, cipher=keys)  # type: ignore[attr-defined]
    url = f"{API}/namespaces/team-a/pipelines/hello/secrets/PW"
    put = secure.client.put(url, json={"value": "hunter2-xyz"}, headers=bearer(secure.team_a))
    assert put.status_code == 200, put.text
    assert "hunter2-xyz" not in put.text and put.json()["value"] is None

    plain = secure.client.get(url, headers=bearer(secure.team_a))
    assert plain.status_code == 200 and plain.json()["value"] is None
    refused = secure.client.get(url, params={"reveal": "true"}, headers=bearer(secure.team_a))
    assert refused.status_code == 403
    assert "hunter2-xyz" not in refused.text
    revealed = secure.client.get(url, params={"reveal": "true"}, headers=bearer(secure.admin))
    assert revealed.json()["value"] == "hunter2-xyz"

    other = f"{API}/namespaces/team-b/pipelines/hello/secrets/PW"
    assert (
        secure.client.put(other, json={"value": "x" * 8}, headers=bearer(secure.team_a)).status_code
        == 403
    )
    glob = secure.client.put(
        f"{API}/secrets/SHARED",
        json={"value": "v" * 8, "namespaces": ["*"]},
        headers=bearer(secure.team_a),
    )
    assert glob.status_code == 403


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/namespaces/team-a/pipelines/hello/secrets/bad-name", {"value": "v"}, "name"),
        ("/namespaces/team-a/pipelines/hello/secrets/PW", {"value": ""}, "value"),
        ("/secrets/SHARED", {"value": "v"}, "namespaces"),
    ],
)
def test_bad_secrets_are_refused_with_the_field(
    secure: Setup, url: str, body: dict[str, Any], field: str
) -> None:
    keys = aesgcm.Keyring(aesgcm.parse_key(aesgcm.new_key()))
    secure.client.app.state.context = dataclasses.replace(secure.ctx, cipher=keys)  # type: ignore[attr-defined]
    answer = secure.client.put(f"{API}{url}", json=body, headers=bearer(secure.admin))
    assert_problem(answer, 422, "invalid_argument", field=field)
    assert secure.ctx.store.list_secrets("team-a", "hello", None, 10) == []


def test_a_subscription_made_by_hand_follows_another_namespace_only_when_its_runs_are_readable(
    secure: Setup,
) -> None:
    url = f"{API}/namespaces/team-a/pipelines/hello/subscriptions"

    def follow(upstream: str, key: str, token: str) -> Any:
        body = {"id": key, "extension": "pipeline", "settings": {"pipeline": upstream}}
        return secure.client.post(url, json=body, headers=bearer(token))

    refused = follow("team-b/hello", "after-b", secure.team_a)
    assert_problem(refused, 403, "permission_denied", field="settings.pipeline")
    assert "may not follow pipelines of namespace 'team-b'" in refused.json()["detail"]
    assert secure.ctx.store.list_subscriptions("team-a", "hello", None, 10) == []

    for key, upstream in (("own", "hello"), ("own-too", "team-a/hello")):
        made = follow(upstream, key, secure.team_a)
        assert made.status_code == 201, made.text
    made = follow("team-b/hello", "after-b", secure.teams)
    assert made.status_code == 201, made.text


def test_a_pipeline_may_follow_another_namespaces_pipeline_only_when_its_runs_are_readable(
    secure: Setup,
) -> None:
    def follower(upstream: str) -> dict[str, Any]:
        trigger = {"extension": "pipeline", "settings": {"pipeline": upstream}}
        return {"config": {**pipeline("after"), "triggers": [trigger]}}

    url = f"{API}/namespaces/team-a/pipelines"
    refused = secure.client.post(url, json=follower("team-b/hello"), headers=bearer(secure.team_a))
    assert_problem(refused, 403, "permission_denied", field="triggers[0].settings.pipeline")
    assert "may not follow pipelines of namespace 'team-b'" in refused.json()["detail"]
    versions = secure.client.get(f"{url}/after/versions", headers=bearer(secure.admin))
    assert versions.status_code == 404  # nothing registered
    plan = secure.client.post(
        f"{url}/after/plan", json=follower("team-b/hello"), headers=bearer(secure.team_a)
    )
    assert plan.status_code == 403

    # its own namespace, by either name, and a namespace the token reads
    for upstream in ("hello", "team-a/hello"):
        made = secure.client.post(url, json=follower(upstream), headers=bearer(secure.team_a))
        assert made.status_code in (200, 201), made.text
    made = secure.client.post(url, json=follower("team-b/hello"), headers=bearer(secure.teams))
    assert made.status_code in (200, 201), made.text
