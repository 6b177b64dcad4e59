"""The webhook trigger: a correctly signed JSON payload starts one run with the variables it maps;
anything else starts nothing and is answered with a clear status, and the secret never shows."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from hostler.extensions import webhook
from hostler.sdk.extension import contract, server

from . import KEY, Hostler, at, system

SUB = "default/hello/push"
SECRET = "s3cr3t-webhook-key-0123456789abcdef"
VARIABLES = {
    "SHA": "after",
    "REF": "ref",
    "REPO": "repository.full_name",
    "REPO_ID": "repository.id",
    "PRIVATE": "repository.private",
    "FIRST": "commits.0.id",
    "AUTHOR": "commits.1.author.username",
    "BASE": "base_ref",
}
SETTINGS = {"secret": SECRET, "variables": VARIABLES}

# A push as GitHub sends it (trimmed of URLs): nested objects, a list, numbers, booleans, null.
PUSH: dict[str, Any] = {
    "ref": "refs/heads/main",
    "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
    "repository": {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": "hello-world",
        "full_name": "octo-org/hello-world",
        "private": False,
        "owner": {"login": "octo-org", "id": 6811672, "type": "Organization"},
        "default_branch": "main",
        "topics": ["ci", "demo"],
    },
    "pusher": {"name": "octocat", "email": "octocat@github.com"},
    "sender": {"login": "octocat", "id": 583231, "type": "User", "site_admin": False},
    "created": False,
    "deleted": False,
    "forced": False,
    "base_ref": None,
    "compare": "https://github.com/octo-org/hello-world/compare/6113728f27ae...0d1a26e67d8f",
    "commits": [
        {
            "id": "1481a2de7b2a7d8b0c1d5e8fa04f3c4a2e5b6c7d",
            "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
            "distinct": True,
            "message": "Update README.md",
            "timestamp": "2026-01-01T10:00:00+01:00",
            "author": {"name": "Mona Octocat", "email": "mona@github.com", "username": "mona"},
            "added": [],
            "removed": [],
            "modified": ["README.md"],
        },
        {
            "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "tree_id": "0a4e5a2c6b3f7d8e9f0a1b2c3d4e5f6a7b8c9d0e",
            "distinct": True,
            "message": "Fix the build",
            "timestamp": "2026-01-01T10:05:00+01:00",
            "author": {"name": "The Octocat", "email": "octocat@github.com", "username": "octocat"},
            "added": ["build.sh"],
            "removed": [],
            "modified": [],
        },
    ],
    "head_commit": {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "message": "Fix the build"},
}


def sign(body: bytes, secret: str = SECRET) -> str:
    """Return the signature header's value for ``body``, computed here independently."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event(
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    subscription: str | None = SUB,
    method: str = "POST",
) -> contract.ExternalEvent:
    """Return the request Hostler forwards for a webhook sent to ``subscription``."""
    return contract.ExternalEvent.model_validate(
        {
            "subscription": subscription,
            "method": method,
            "path": "/",
            "query": {},
            "headers": dict(headers or {}),
            "body": base64.b64encode(body).decode(),
        }
    )


def signed(data: Any, secret: str = SECRET, **options: Any) -> contract.ExternalEvent:
    """Return the request for ``data`` sent as JSON and signed with ``secret``."""
    body = json.dumps(data).encode()
    headers = {"content-type": "application/json", "x-hostler-signature-256": sign(body, secret)}
    return event(body, headers, **options)


def subscribe(
    trigger: webhook.Trigger,
    settings: Mapping[str, Any] = SETTINGS,
    subscription: str = SUB,
    *,
    dry_run: bool = False,
) -> contract.Subscribed:
    """Subscribe pipeline ``default/hello`` to ``trigger`` as Hostler does."""
    request = contract.Subscribe(
        namespace="default",
        pipeline="hello",
        subscription=subscription,
        settings=dict(settings),
        dry_run=dry_run,
    )
    return trigger.handle_subscribe(request)


def problem(answer: contract.Answer, status: int, code: str) -> dict[str, Any]:
    """Check that ``answer`` is a problem document of ``status`` and ``code``; return it."""
    assert answer.status == status
    assert isinstance(answer.body, dict)
    found = contract.Problem.model_validate(answer.body)
    assert (found.status, found.code) == (status, code)
    assert found.type == contract.PROBLEM_TYPE_BASE + code
    assert found.detail
    assert found.hint
    return answer.body


@pytest.fixture
def hostler() -> Hostler:
    return Hostler(lambda: at("2026-01-01 09:00"))


@pytest.fixture
def trigger(hostler: Hostler) -> Iterator[webhook.Trigger]:
    trigger = webhook.Trigger(system(), api=hostler.client())
    yield trigger
    trigger.close()


@pytest.fixture
def subscribed(trigger: webhook.Trigger) -> webhook.Trigger:
    subscribe(trigger)
    return trigger


def test_info_names_the_webhook_trigger_and_its_settings() -> None:
    info = webhook.Trigger.info()

    assert (info.name, info.version, info.kind) == ("webhook", "1.0.0", "trigger")
    schema = info.settings_schema
    assert set(schema["properties"]) == {"secret", "variables", "signature_header"}
    assert schema["required"] == ["secret"]
    assert schema["properties"]["secret"]["writeOnly"] is True
    assert schema["properties"]["secret"]["minLength"] == 16


def test_subscribe_describes_the_route_that_takes_the_events(trigger: webhook.Trigger) -> None:
    dry = subscribe(trigger, dry_run=True)
    answer = subscribe(trigger)

    for summary in (dry, answer):
        assert summary.description == (
            "webhook POST /api/v1/extensions/webhook/events/default/hello/push (signed)"
        )
        assert summary.next_fires == []
    assert (dry.result, answer.result) == ("created", "created")
    assert list(trigger.subscriptions) == [SUB]


def test_a_signed_push_starts_exactly_one_run_with_the_mapped_variables(
    subscribed: webhook.Trigger, hostler: Hostler
) -> None:
    answer = subscribed.handle_event(signed(PUSH))

    assert answer.status == 202
    assert answer.body == {"run": 1, "pipeline": "default/hello"}
    assert len(hostler.started) == 1
    run = hostler.started[0]
    assert (run.namespace, run.pipeline) == ("default", "hello")
    assert run.variables == {
        "SHA": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "REF": "refs/heads/main",
        "REPO": "octo-org/hello-world",
        "REPO_ID": "186853002",
        "PRIVATE": "false",
        "FIRST": "1481a2de7b2a7d8b0c1d5e8fa04f3c4a2e5b6c7d",
        "AUTHOR": "octocat",
        "BASE": "null",
        "HOSTLER_TRIGGER": "webhook",
        "HOSTLER_SUBSCRIPTION": SUB,
    }


def test_each_signed_event_starts_its_own_run(
    subscribed: webhook.Trigger, hostler: Hostler
) -> None:
    second = copy.deepcopy(PUSH)
    second["after"] = "fe3a1b2c"

    answers = [subscribed.handle_event(signed(PUSH)), subscribed.handle_event(signed(second))]

    assert [a.body for a in answers] == [
        {"run": 1, "pipeline": "default/hello"},
        {"run": 2, "pipeline": "default/hello"},
    ]
    assert [run.variables["SHA"] for run in hostler.started] == [PUSH["after"], "fe3a1b2c"]


def test_without_variables_the_run_carries_only_the_trigger_variables(
    trigger: webhook.Trigger, hostler: Hostler
) -> None:
    subscribe(trigger, {"secret": SECRET})

    answer = trigger.handle_event(signed({"anything": [1, 2]}))

    assert answer.status == 202
    assert hostler.started[0].variables == {
        "HOSTLER_TRIGGER": "webhook",
        "HOSTLER_SUBSCRIPTION": SUB,
    }


def test_a_signature_header_of_its_own_is_read_in_any_case(
    trigger: webhook.Trigger, hostler: Hostler
) -> None:
    subscribe(trigger, {"secret": SECRET, "signature_header": "X-Hub-Signature-256"})
    body = json.dumps(PUSH).encode()

    default = trigger.handle_event(event(body, {"x-hostler-signature-256": sign(body)}))
    own = trigger.handle_event(event(body, {"X-Hub-Signature-256": sign(body)}))

    assert problem(default, 401, "unauthenticated")["detail"].endswith(
        "signature missing (header 'x-hub-signature-256')"
    )
    assert own.status == 202
    assert len(hostler.started) == 1


def test_each_subscription_checks_its_own_secret(
    trigger: webhook.Trigger, hostler: Hostler
) -> None:
    other = "default/other/push"
    subscribe(trigger)
    subscribe(trigger, {"secret": "another-secret-of-32-characters!"}, other)

    answer = trigger.handle_event(signed(PUSH, subscription=other))

    problem(answer, 401, "unauthenticated")
    assert hostler.started == []


NOT_SIGNED = "signature missing (header 'x-hostler-signature-256')"
MISMATCH = "signature does not match the body (header 'x-hostler-signature-256')"


def refused_events() -> list[Any]:
    body = json.dumps(PUSH).encode()
    without = copy.deepcopy(PUSH)
    del without["repository"]["full_name"]
    nested = copy.deepcopy(PUSH)
    nested["after"] = {"sha": "0d1a26e6"}
    one_commit = copy.deepcopy(PUSH)
    one_commit["commits"] = one_commit["commits"][:1]
    return [
        pytest.param(
            signed(PUSH, "a-wrong-secret-of-enough-length"),
            401,
            "unauthenticated",
            MISMATCH,
            id="wrong-signature",
        ),
        pytest.param(
            event(body, {"x-hostler-signature-256": sign(body + b" ")}),
            401,
            "unauthenticated",
            MISMATCH,
            id="signature-of-another-body",
        ),
        pytest.param(
            event(body, {"x-hostler-signature-256": "sha256=é"}),
            401,
            "unauthenticated",
            MISMATCH,
            id="signature-not-ascii",
        ),
        pytest.param(event(body), 401, "unauthenticated", NOT_SIGNED, id="missing-signature"),
        pytest.param(
            event(body, {"x-hostler-signature-256": "  "}),
            401,
            "unauthenticated",
            NOT_SIGNED,
            id="empty-signature",
        ),
        pytest.param(
            event(b"ref=main", {"x-hostler-signature-256": sign(b"ref=main")}),
            400,
            "bad_request",
            "request body: not JSON (",
            id="not-json",
        ),
        pytest.param(
            event(b"\xff\xfe", {"x-hostler-signature-256": sign(b"\xff\xfe")}),
            400,
            "bad_request",
            "request body: not JSON (",
            id="not-utf-8",
        ),
        pytest.param(
            signed([PUSH]), 400, "bad_request", "a JSON array, not an object", id="json-array"
        ),
        pytest.param(
            signed("push"), 400, "bad_request", "a JSON string, not an object", id="json-string"
        ),
        pytest.param(
            signed(without),
            422,
            "invalid_argument",
            "variable 'REPO': path 'repository.full_name': not in the payload",
            id="missing-field",
        ),
        pytest.param(
            signed(nested),
            422,
            "invalid_argument",
            "variable 'SHA': path 'after': an object or a list",
            id="object-field",
        ),
        pytest.param(
            signed(one_commit),
            422,
            "invalid_argument",
            "variable 'AUTHOR': path 'commits.1.author.username': not in the payload",
            id="index-out-of-range",
        ),
        pytest.param(
            signed(PUSH, method="GET"),
            405,
            "method_not_allowed",
            "method 'GET' not allowed",
            id="wrong-method",
        ),
        pytest.param(
            signed(PUSH, subscription="default/hello/gone"),
            404,
            "not_found",
            "subscription 'default/hello/gone': not subscribed",
            id="unknown-subscription",
        ),
        pytest.param(
            signed(PUSH, subscription=None),
            404,
            "not_found",
            "an event must name a subscription",
            id="no-subscription",
        ),
    ]


@pytest.mark.parametrize(("request_", "status", "code", "says"), refused_events())
def test_a_refused_event_starts_nothing_and_says_why(
    subscribed: webhook.Trigger,
    hostler: Hostler,
    request_: contract.ExternalEvent,
    status: int,
    code: str,
    says: str,
) -> None:
    answer = subscribed.handle_event(request_)

    assert says in problem(answer, status, code)["detail"]
    assert hostler.started == []


def test_a_missing_field_is_named_with_how_many_more_are_missing(
    subscribed: webhook.Trigger, hostler: Hostler
) -> None:
    answer = subscribed.handle_event(signed({"after": "0d1a26e6"}))

    found = problem(answer, 422, "invalid_argument")
    assert found["field"] == "ref"
    assert found["detail"] == "variable 'REF': path 'ref': not in the payload (and 6 more)"
    assert hostler.started == []


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(event(b"ref=main"), id="unsigned-not-json"),
        pytest.param(signed([1], "a-wrong-secret-of-enough-length"), id="wrongly-signed-array"),
        pytest.param(signed({}, "a-wrong-secret-of-enough-length"), id="wrongly-signed-empty"),
    ],
)
def test_the_signature_is_checked_before_the_payload(
    subscribed: webhook.Trigger, hostler: Hostler, request_: contract.ExternalEvent
) -> None:
    answer = subscribed.handle_event(request_)

    problem(answer, 401, "unauthenticated")
    assert hostler.started == []


def test_the_method_is_checked_before_the_signature(
    subscribed: webhook.Trigger, hostler: Hostler
) -> None:
    answer = subscribed.handle_event(event(b"", method="PUT"))

    problem(answer, 405, "method_not_allowed")
    assert hostler.started == []


def test_an_event_after_unsubscribing_is_not_found(
    subscribed: webhook.Trigger, hostler: Hostler
) -> None:
    request = contract.Unsubscribe(namespace="default", pipeline="hello", subscription=SUB)
    subscribed.handle_unsubscribe(request)

    answer = subscribed.handle_event(signed(PUSH))

    problem(answer, 404, "not_found")
    assert hostler.started == []


def test_a_run_hostler_refuses_is_answered_502_with_its_reason(
    subscribed: webhook.Trigger, hostler: Hostler, caplog: pytest.LogCaptureFixture
) -> None:
    hostler.refuse = 1

    with caplog.at_level(logging.INFO):
        answer = subscribed.handle_event(signed(PUSH))

    found = problem(answer, 502, "bad_gateway")
    assert found["detail"] == "pipeline 'default/hello': run not started: store unavailable"
    assert hostler.started == []
    failed = [r for r in caplog.records if r.getMessage() == "run not started"]
    assert [r.__dict__["status"] for r in failed] == [503]


def test_a_hostler_that_cannot_be_reached_is_answered_502(
    subscribed: webhook.Trigger, hostler: Hostler
) -> None:
    hostler.unreachable = True

    answer = subscribed.handle_event(signed(PUSH))

    assert problem(answer, 502, "bad_gateway")["detail"].startswith(
        "pipeline 'default/hello': run not started: "
    )


def test_the_secret_never_shows_in_answers_or_logs(
    trigger: webhook.Trigger, hostler: Hostler, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(PUSH).encode()
    expected = sign(body).removeprefix("sha256=")
    with caplog.at_level(logging.DEBUG):
        answers: list[Any] = [
            webhook.Trigger.info(),
            subscribe(trigger, dry_run=True),
            subscribe(trigger),
            subscribe(trigger),
            trigger.handle_event(signed(PUSH)),
            trigger.handle_event(event(body, {"x-hostler-signature-256": "sha256=00"})),
            trigger.handle_event(event(body)),
            trigger.handle_event(signed({"after": 1})),
        ]
        hostler.refuse = 1
        answers.append(trigger.handle_event(signed(PUSH)))
        answers.append(repr(trigger.subscriptions))

    assert len(hostler.started) == 1
    shown = " ".join(a if isinstance(a, str) else a.model_dump_json() for a in answers) + " ".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records
    )
    assert "subscribed" in shown  # the logs were captured
    assert SECRET not in shown
    assert expected not in shown


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "settings.secret"),
        ({"secret": "too-short"}, "settings.secret"),
        ({"secret": 1234567890123456789}, "settings.secret"),
        ({"secret": SECRET, "variables": {"1SHA": "after"}}, "settings.variables"),
        ({"secret": SECRET, "variables": {"GIT-SHA": "after"}}, "settings.variables"),
        ({"secret": SECRET, "variables": {"HOSTLER_TRIGGER": "after"}}, "settings.variables"),
        ({"secret": SECRET, "variables": {"SHA": "head_commit..id"}}, "settings.variables"),
        ({"secret": SECRET, "variables": {"SHA": ""}}, "settings.variables"),
        ({"secret": SECRET, "variables": {"SHA": 1}}, "settings.variables.SHA"),
        ({"secret": SECRET, "variables": ["after"]}, "settings.variables"),
        ({"secret": SECRET, "signature_header": "x signature"}, "settings.signature_header"),
        ({"secret": SECRET, "events": ["push"]}, "settings.events"),
    ],
)
def test_bad_settings_are_refused_with_422_naming_the_setting(
    trigger: webhook.Trigger, settings: dict[str, Any], field: str
) -> None:
    body = {"namespace": "default", "pipeline": "hello", "subscription": SUB, "settings": settings}

    with (
        server.Server(trigger, key=KEY) as served,
        httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {KEY}"}) as hostler,
    ):
        answer = hostler.post("/api/subscribe", json=body)

    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_argument"
    assert answer.json()["field"] == field
    assert answer.json()["hint"]
    assert "too-short" not in answer.text
    assert trigger.subscriptions == {}


def test_over_http_the_base64_body_is_checked_and_the_answer_is_for_the_sender(
    trigger: webhook.Trigger, hostler: Hostler
) -> None:
    body = json.dumps(PUSH, indent=2).encode()  # signed as sent, whitespace included
    forwarded = {
        "subscription": SUB,
        "method": "POST",
        "path": "/",
        "query": {},
        "headers": {"Content-Type": "application/json", "X-Hostler-Signature-256": sign(body)},
        "body": base64.b64encode(body).decode(),
    }
    settings = {"namespace": "default", "pipeline": "hello", "subscription": SUB}

    with (
        server.Server(trigger, key=KEY) as served,
        httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {KEY}"}) as client,
    ):
        client.post("/api/subscribe", json={**settings, "settings": SETTINGS}).raise_for_status()
        accepted = client.post("/api/external-event", json=forwarded)
        forwarded["body"] = base64.b64encode(body + b"\n").decode()
        refused = client.post("/api/external-event", json=forwarded)

    assert accepted.status_code == 200
    assert accepted.json() == {"status": 202, "body": {"run": 1, "pipeline": "default/hello"}}
    assert refused.status_code == 200
    assert refused.json()["status"] == 401
    assert refused.json()["body"]["code"] == "unauthenticated"
    assert len(hostler.started) == 1
