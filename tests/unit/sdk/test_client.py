"""The SDK's HTTP client for versions, deployments, canaries, the audit history, and access."""

from __future__ import annotations

import datetime

import httpx
import pytest

from hostler.sdk import client

from ..cli import canned
from ..cli.fakeapi import FakeApi

HELLO = "/namespaces/default/pipelines/hello"
DEPLOYMENTS = f"{HELLO}/deployments"
PLAN = {"pipeline": "hello", "action": "upgrade", "from_version": 3, "to_version": 4, "text": []}


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


def make(api: FakeApi) -> client.Client:
    return client.Client("http://hostler.test", transport=api.transport)


def test_deploy_sends_the_version_and_only_the_options_given(api: FakeApi) -> None:
    api.on("POST", DEPLOYMENTS, (201, canned.deploy_result(PLAN, canned.deployment(3))))

    with make(api) as hostler:
        answer = hostler.deploy("default", "hello", 4)
        hostler.deploy("default", "hello", 4, dry_run=True, force_same_version=True)
        hostler.deploy("default", "hello", 4, planned_against=3)
        hostler.deploy("default", "hello", 1, planned_against=None)

    assert answer == canned.deploy_result(PLAN, canned.deployment(3))
    assert api.bodies("POST", DEPLOYMENTS) == [
        {"version": 4, "force_same_version": False, "dry_run": False},
        {"version": 4, "force_same_version": True, "dry_run": True},
        {"version": 4, "force_same_version": False, "dry_run": False, "planned_against": 3},
        # None says that no version was live when the plan was made; it is sent.
        {"version": 1, "force_same_version": False, "dry_run": False, "planned_against": None},
    ]


def test_deploy_canary_sends_its_share_and_abort_rule(api: FakeApi) -> None:
    api.on("POST", DEPLOYMENTS, (200, canned.deploy_result(PLAN)))

    with make(api) as hostler:
        hostler.deploy("default", "hello", 4, canary=25, auto_abort=(20, 10), dry_run=True)
        hostler.deploy("default", "hello", 4, canary=25)

    assert api.bodies("POST", DEPLOYMENTS) == [
        {
            "version": 4,
            "force_same_version": False,
            "dry_run": True,
            "canary": 25,
            "auto_abort": {"max_failure_rate": 20, "window": 10},
        },
        {"version": 4, "force_same_version": False, "dry_run": False, "canary": 25},
    ]


def test_promote_and_abort_post_to_their_canary_route_with_the_candidate(api: FakeApi) -> None:
    api.on("POST", f"{HELLO}/canary/promote", (200, canned.deploy_result(PLAN)))
    api.on("POST", f"{HELLO}/canary/abort", (200, canned.deploy_result(PLAN)))

    with make(api) as hostler:
        hostler.promote_canary("default", "hello", dry_run=True)
        hostler.promote_canary("default", "hello", candidate=4)
        hostler.abort_canary("default", "hello", dry_run=True)
        hostler.abort_canary("default", "hello", candidate=4)

    for action in ("promote", "abort"):
        assert api.bodies("POST", f"{HELLO}/canary/{action}") == [
            {"dry_run": True},
            {"dry_run": False, "candidate": 4},
        ]


def test_a_refused_deploy_raises_the_servers_problem(api: FakeApi) -> None:
    problem = canned.problem(
        409,
        "conflict",
        "pipeline 'default/hello': the live version is v5 now, not v3 as planned",
        field="planned_against",
        hint="someone deployed meanwhile: plan again and review the new plan",
    )
    api.on("POST", DEPLOYMENTS, (409, problem))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        hostler.deploy("default", "hello", 4, planned_against=3)

    error = caught.value
    assert (error.status, error.code, error.field) == (409, "conflict", "planned_against")
    assert error.detail == problem["detail"]
    assert error.hint == problem["hint"]


def test_list_deployments_and_diff_versions_send_their_query(api: FakeApi) -> None:
    page = canned.page({**canned.deployment(3), "tallies": [canned.tally(4, 2, 2)]})
    api.on("GET", DEPLOYMENTS, (200, page))
    api.on("GET", f"{HELLO}/diff", (200, PLAN))

    with make(api) as hostler:
        assert hostler.list_deployments("default", "hello") == page
        assert hostler.list_deployments("default", "hello", cursor="c2", limit=1) == page
        assert hostler.diff_versions("default", "hello", 3, 4) == PLAN

    assert [dict(query) for query in api.queries("GET", DEPLOYMENTS)] == [
        {},
        {"cursor": "c2", "limit": "1"},
    ]
    assert [dict(query) for query in api.queries("GET", f"{HELLO}/diff")] == [
        {"from": "3", "to": "4"}
    ]


def test_list_history_sends_times_in_iso_8601_and_each_kind(api: FakeApi) -> None:
    api.on("GET", "/history", (200, canned.page(canned.record(1))))
    since = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC)

    with make(api) as hostler:
        assert hostler.list_history() == canned.page(canned.record(1))
        hostler.list_history(since=since, until="2024-05-02", kind=["pipeline.deploy", "namespace"])
        hostler.list_history(since=datetime.datetime(2024, 5, 1), kind=[], limit=5)

    first, second, third = api.queries("GET", "/history")
    assert dict(first) == {}
    assert second["since"] == "2024-05-01T12:30:00+00:00"
    assert second["until"] == "2024-05-02"
    assert second.get_list("kind") == ["pipeline.deploy", "namespace"]
    # A time without a zone goes as it is: the server reads it as UTC.
    assert dict(third) == {"since": "2024-05-01T00:00:00", "limit": "5"}


def test_iterate_walks_the_history_with_its_filters(api: FakeApi) -> None:
    api.on(
        "GET",
        "/history",
        (200, canned.page(canned.record(2), next_cursor="c1")),
        (200, canned.page(canned.record(1))),
    )

    with make(api) as hostler:
        records = list(hostler.iterate(hostler.list_history, kind=["pipeline"], limit=1))

    assert [record["id"] for record in records] == [2, 1]
    assert [query.get_list("kind") for query in api.queries("GET", "/history")] == [
        ["pipeline"],
        ["pipeline"],
    ]


# -- access: whoami, tokens and roles ------------------------------------------------------------


def test_whoami_and_token_reads_use_their_routes(api: FakeApi) -> None:
    caller = {"name": "ci", "token": "0123456789ab", "grants": []}
    api.on("GET", "/whoami", (200, caller))
    api.on("GET", "/tokens", (200, canned.page(canned.token())))
    api.on("GET", "/tokens/0123456789ab", (200, canned.token()))

    with make(api) as hostler:
        assert hostler.whoami() == caller
        assert hostler.list_tokens() == canned.page(canned.token())
        assert hostler.list_tokens(cursor="c1", limit=5) == canned.page(canned.token())
        assert hostler.get_token("0123456789ab") == canned.token()

    assert [dict(query) for query in api.queries("GET", "/tokens")] == [
        {},
        {"cursor": "c1", "limit": "5"},
    ]


def test_create_token_sends_roles_and_expiry_in_iso_8601(api: FakeApi) -> None:
    answer = {"token": canned.token(), "secret": canned.SECRET}
    api.on("POST", "/tokens", (201, answer))
    expires = datetime.datetime(2030, 1, 1, 10, tzinfo=datetime.UTC)

    with make(api) as hostler:
        assert hostler.create_token("ci", ["admin"]) == answer
        hostler.create_token("ci", ("namespace-owner:team-*",), expires)
        hostler.create_token("ci", ["admin"], expires="2030-01-01")

    assert api.bodies("POST", "/tokens") == [
        {"name": "ci", "roles": ["admin"]},
        {"name": "ci", "roles": ["namespace-owner:team-*"], "expires": "2030-01-01T10:00:00+00:00"},
        {"name": "ci", "roles": ["admin"], "expires": "2030-01-01"},
    ]


def test_disable_and_enable_token_post_to_their_routes(api: FakeApi) -> None:
    for action in ("disable", "enable"):
        api.on(
            "POST",
            f"/tokens/0123456789ab/{action}",
            (200, {"token": canned.token(), "result": action}),
        )

    with make(api) as hostler:
        assert hostler.disable_token("0123456789ab")["result"] == "disable"
        assert hostler.enable_token("0123456789ab")["result"] == "enable"


def test_deletes_answered_204_without_a_body_succeed(api: FakeApi) -> None:
    api.on("DELETE", "/tokens/0123456789ab", httpx.Response(204))
    api.on("DELETE", "/roles/deployers", httpx.Response(204))

    with make(api) as hostler:
        hostler.delete_token("0123456789ab")
        hostler.delete_role("deployers")

    assert [(r.method, r.url.path) for r in api.requests] == [
        ("DELETE", "/api/v1/tokens/0123456789ab"),
        ("DELETE", "/api/v1/roles/deployers"),
    ]


def test_an_answer_with_a_body_that_is_not_json_is_still_an_error(api: FakeApi) -> None:
    api.on("GET", "/whoami", httpx.Response(200, content=b"<html>"))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        hostler.whoami()

    assert caught.value.code == "internal"
    assert "a body that is not JSON" in caught.value.detail


def test_roles_are_listed_made_read_and_quoted_in_paths(api: FakeApi) -> None:
    api.on("GET", "/roles", (200, canned.BUILTIN_ROLES))
    api.on("POST", "/roles", (201, canned.role()))
    api.on("GET", "/roles/deployers", (200, canned.role()))
    grant = canned.grant(["read", "run"], ["pipelines", "runs"], "team-*")

    with make(api) as hostler:
        assert hostler.list_roles() == canned.BUILTIN_ROLES
        assert hostler.create_role("deployers", [grant]) == canned.role()
        hostler.create_role("deployers", [grant], description="Deploy")
        assert hostler.get_role("deployers") == canned.role()
        with pytest.raises(client.ApiError):
            hostler.get_role("a/b")

    assert api.bodies("POST", "/roles") == [
        {"name": "deployers", "description": "", "grants": [grant]},
        {"name": "deployers", "description": "Deploy", "grants": [grant]},
    ]
    assert api.requests[-1].url.raw_path == b"/api/v1/roles/a%2Fb"


def test_a_refused_token_raises_unauthenticated(api: FakeApi) -> None:
    problem = canned.problem(401, "unauthenticated", "token: not valid", hint="ask for another")
    api.on("GET", "/whoami", (401, problem))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        hostler.whoami()

    assert (caught.value.status, caught.value.code) == (401, "unauthenticated")
    assert caught.value.hint == "ask for another"


# -- secrets ------------------------------------------------------------------------------------

SECRETS = f"{HELLO}/secrets"


def test_pipeline_secrets_are_listed_set_read_and_deleted_on_their_routes(api: FakeApi) -> None:
    api.on("GET", SECRETS, (200, canned.page(canned.secret())))
    api.on("PUT", f"{SECRETS}/DB_PASSWORD", (200, canned.secret()))
    api.on("GET", f"{SECRETS}/DB_PASSWORD", (200, canned.secret()))
    api.on("DELETE", f"{SECRETS}/DB_PASSWORD", httpx.Response(204))

    with make(api) as hostler:
        assert hostler.list_secrets("default", "hello") == canned.page(canned.secret())
        hostler.list_secrets("default", "hello", cursor="c1", limit=5)
        assert hostler.put_secret("default", "hello", "DB_PASSWORD", "hunter2") == canned.secret()
        assert hostler.get_secret("default", "hello", "DB_PASSWORD") == canned.secret()
        hostler.delete_secret("default", "hello", "DB_PASSWORD")

    assert [dict(query) for query in api.queries("GET", SECRETS)] == [
        {},
        {"cursor": "c1", "limit": "5"},
    ]
    # A pipeline's secret has no namespace patterns: only the value is sent.
    assert api.bodies("PUT", f"{SECRETS}/DB_PASSWORD") == [{"value": "hunter2"}]
    assert [dict(query) for query in api.queries("GET", f"{SECRETS}/DB_PASSWORD")] == [{}]
    assert (api.requests[-1].method, api.requests[-1].url.path) == (
        "DELETE",
        f"/api/v1{SECRETS}/DB_PASSWORD",
    )


def test_global_secrets_are_listed_set_read_and_deleted_on_their_routes(api: FakeApi) -> None:
    shared = canned.secret("SHARED", namespaces=("team-*",))
    api.on("GET", "/secrets", (200, canned.page(shared)))
    api.on("PUT", "/secrets/SHARED", (200, shared))
    api.on("GET", "/secrets/SHARED", (200, shared))
    api.on("DELETE", "/secrets/SHARED", httpx.Response(204))

    with make(api) as hostler:
        assert hostler.list_global_secrets() == canned.page(shared)
        hostler.list_global_secrets(cursor="c1", limit=5)
        assert hostler.put_global_secret("SHARED", "hunter2", ("team-*", "ops")) == shared
        assert hostler.get_global_secret("SHARED") == shared
        hostler.delete_global_secret("SHARED")

    assert [dict(query) for query in api.queries("GET", "/secrets")] == [
        {},
        {"cursor": "c1", "limit": "5"},
    ]
    assert api.bodies("PUT", "/secrets/SHARED") == [
        {"value": "hunter2", "namespaces": ["team-*", "ops"]}
    ]
    assert (api.requests[-1].method, api.requests[-1].url.path) == (
        "DELETE",
        "/api/v1/secrets/SHARED",
    )


def test_get_secret_asks_for_the_value_only_with_reveal(api: FakeApi) -> None:
    revealed = canned.secret(value="hunter2")
    api.on("GET", f"{SECRETS}/DB_PASSWORD", (200, revealed))
    api.on("GET", "/secrets/SHARED", (200, revealed))

    with make(api) as hostler:
        assert hostler.get_secret("default", "hello", "DB_PASSWORD", reveal=True) == revealed
        hostler.get_secret("default", "hello", "DB_PASSWORD", reveal=False)
        assert hostler.get_global_secret("SHARED", reveal=True) == revealed

    assert [dict(q) for q in api.queries("GET", f"{SECRETS}/DB_PASSWORD")] == [
        {"reveal": "true"},
        {},
    ]
    assert [dict(q) for q in api.queries("GET", "/secrets/SHARED")] == [{"reveal": "true"}]


def test_secret_names_and_places_are_quoted_in_paths(api: FakeApi) -> None:
    with make(api) as hostler:
        with pytest.raises(client.ApiError):
            hostler.get_secret("team a", "web/x", "A/B")
        with pytest.raises(client.ApiError):
            hostler.get_global_secret("A/B")

    assert [r.url.raw_path for r in api.requests] == [
        b"/api/v1/namespaces/team%20a/pipelines/web%2Fx/secrets/A%2FB",
        b"/api/v1/secrets/A%2FB",
    ]


def test_rotate_secret_key_posts_and_returns_how_many_and_the_key(api: FakeApi) -> None:
    answer = {"secrets": 3, "key": canned.KEY}
    api.on("POST", "/secrets/rotate-key", (200, answer))

    with make(api) as hostler:
        assert hostler.rotate_secret_key() == answer

    assert [(r.method, r.url.path, r.content) for r in api.requests] == [
        ("POST", "/api/v1/secrets/rotate-key", b"")
    ]


def test_a_refused_reveal_raises_permission_denied(api: FakeApi) -> None:
    problem = canned.problem(403, "permission_denied", "token 'ci': may not admin secrets")
    api.on("GET", "/secrets/SHARED", (403, problem))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        hostler.get_global_secret("SHARED", reveal=True)

    assert (caught.value.status, caught.value.code) == (403, "permission_denied")
    assert caught.value.detail == "token 'ci': may not admin secrets"


SUBSCRIPTIONS = f"{HELLO}/subscriptions"


def test_subscriptions_are_listed_made_with_only_the_id_given_and_deleted(api: FakeApi) -> None:
    made = {"key": "nightly", "extension": "cron", "source": "manual"}
    api.on("GET", SUBSCRIPTIONS, (200, {"items": [made]}))
    api.on("POST", SUBSCRIPTIONS, (201, made))
    api.on("DELETE", f"{SUBSCRIPTIONS}/nightly", httpx.Response(204))

    with make(api) as hostler:
        assert hostler.list_subscriptions("default", "hello") == {"items": [made]}
        assert hostler.subscribe("default", "hello", "cron", {"schedule": "0 2 * * *"}) == made
        hostler.subscribe("default", "hello", "cron", {"schedule": "0 3 * * *"}, key="nightly")
        hostler.subscribe("default", "hello", "webhook")
        hostler.unsubscribe("default", "hello", "nightly")

    assert api.bodies("POST", SUBSCRIPTIONS) == [
        {"extension": "cron", "settings": {"schedule": "0 2 * * *"}},
        {"id": "nightly", "extension": "cron", "settings": {"schedule": "0 3 * * *"}},
        {"extension": "webhook", "settings": {}},
    ]
    assert [(r.method, r.url.path) for r in api.requests][-1] == (
        "DELETE",
        f"/api/v1{SUBSCRIPTIONS}/nightly",
    )


def test_a_refused_subscription_raises_the_servers_problem(api: FakeApi) -> None:
    problem = {
        "status": 409,
        "code": "already_exists",
        "detail": "subscription 'webhook' of pipeline 'default/hello': already exists",
        "field": "id",
        "hint": "give it another id with --id, or unsubscribe the one there first",
    }
    api.on("POST", SUBSCRIPTIONS, (409, problem))

    with make(api) as hostler, pytest.raises(client.ApiError) as caught:
        hostler.subscribe("default", "hello", "webhook")
    assert (caught.value.status, caught.value.code, caught.value.field) == (
        409,
        "already_exists",
        "id",
    )
