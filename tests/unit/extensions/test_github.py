"""The github trigger: a correctly signed GitHub webhook starts exactly one run carrying the
GITHUB_* variables of its event, unless its filters leave the event out (answered 200, saying
why) or it is refused (a problem document); the runs it started are reported back to their
commit, as commit statuses with a token or as check runs as a GitHub App, by a GitHub served
over HTTP on 127.0.0.1 (``githubfake``)."""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime
import hashlib
import hmac
import json
import logging
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import pydantic
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hostler.core import errors
from hostler.extensions import github, githubapi
from hostler.sdk.extension import contract, server

from . import KEY, eventually, system
from .githubfake import GitHub, Runs, load

SUB = "default/hello/github"
SECRET = "gh-webhook-secret-0123456789abcdef"
TOKEN = "github_pat_11AAAAAAA0aBcDeFgHiJkL_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
APP_ID = "123456"
INSTALLATION = 2311213
LINK = "https://hostler.example.com"
REPO = "octo-org/hello-world"
PUSH_SHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
PR_SHA = "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc"
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
CONTEXT = "hostler/default/hello"
RUN_1 = f"{LINK}/api/v1/namespaces/default/pipelines/hello/runs/1"
ROUTE = "/api/v1/extensions/github/events/default/hello/github"


@dataclasses.dataclass(frozen=True)
class Key:
    """A GitHub App's RSA key pair, PEM."""

    private: str
    public: str


@pytest.fixture(scope="module")
def key() -> Key:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Key(pem, public.decode())


@pytest.fixture
def gh(key: Key) -> Iterator[GitHub]:
    fake = GitHub(token=TOKEN, app_id=APP_ID, public_key=key.public, installation=INSTALLATION)
    yield fake
    fake.close()


@pytest.fixture
def hostler() -> Runs:
    return Runs()


Build = Callable[..., github.Trigger]


@pytest.fixture
def build(gh: GitHub, hostler: Runs) -> Iterator[Build]:
    """Return a maker of triggers configured with ``Admin`` fields, against the fakes."""
    made: list[github.Trigger] = []

    def make(**admin: Any) -> github.Trigger:
        admin.setdefault("link", LINK)
        config = github.Admin(api_url=gh.url, **admin)
        trigger = github.Trigger(system(), config, api=hostler.client())
        made.append(trigger)
        return trigger

    yield make
    for trigger in made:
        trigger.close()


@pytest.fixture
def plain(build: Build) -> github.Trigger:
    """A trigger without credentials: it reports nothing."""
    return build()


@pytest.fixture
def with_token(build: Build) -> github.Trigger:
    """A trigger with a token: it reports commit statuses."""
    return build(token=pydantic.SecretStr(TOKEN))


@pytest.fixture
def as_app(build: Build, key: Key) -> github.Trigger:
    """A trigger configured with a GitHub App: it reports check runs."""
    return build(app_id=APP_ID, private_key=pydantic.SecretStr(key.private))


@pytest.fixture
def slow_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the reporter look by itself only at subscribing and when a run starts, else when
    a test calls ``look``."""
    monkeypatch.setattr(githubapi, "POLL", datetime.timedelta(hours=1))


@pytest.fixture
def fast_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the reporter's timer look every 20 ms, so that tests wait little."""
    monkeypatch.setattr(githubapi, "POLL", datetime.timedelta(milliseconds=20))


# -- driving the trigger as Hostler and GitHub do ---------------------------------------------


def sign(body: bytes, secret: str = SECRET) -> str:
    """Return X-Hub-Signature-256 for ``body``, computed here independently."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def forwarded(
    body: bytes,
    headers: Mapping[str, str],
    *,
    subscription: str | None = SUB,
    method: str = "POST",
) -> contract.ExternalEvent:
    """Return the request Hostler forwards for a delivery sent to ``subscription``."""
    return contract.ExternalEvent.model_validate(
        {
            "subscription": subscription,
            "method": method,
            "path": "/",
            "query": {},
            "headers": dict(headers),
            "body": base64.b64encode(body).decode(),
        }
    )


def hook_headers(
    event: str | None,
    body: bytes,
    secret: str | None = SECRET,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Return the headers GitHub sends a delivery of ``event`` with, signed with ``secret``."""
    headers = {
        "Accept": "*/*",
        "Content-Type": content_type,
        "User-Agent": "GitHub-Hookshot/8e03811",
        "X-GitHub-Delivery": DELIVERY,
        "X-GitHub-Hook-ID": "109948940",
        "X-GitHub-Hook-Installation-Target-ID": "186853002",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
    }
    if event is not None:
        headers["X-GitHub-Event"] = event
    if secret is not None:
        sha1 = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        headers["X-Hub-Signature"] = f"sha1={sha1}"
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return headers


def delivery(
    event: str,
    data: Any,
    *,
    secret: str | None = SECRET,
    subscription: str | None = SUB,
    method: str = "POST",
) -> contract.ExternalEvent:
    """Return the request for a JSON delivery of ``event`` with payload ``data``."""
    body = json.dumps(data, indent=2).encode()
    headers = hook_headers(event, body, secret)
    return forwarded(body, headers, subscription=subscription, method=method)


def subscribe(
    trigger: github.Trigger, *, subscription: str = SUB, **settings: Any
) -> contract.Subscribed:
    """Subscribe pipeline ``default/hello`` to ``trigger`` with the secret and ``settings``."""
    request = contract.Subscribe(
        namespace="default",
        pipeline="hello",
        subscription=subscription,
        settings={"secret": SECRET, **settings},
    )
    return trigger.handle_subscribe(request)


def settle(trigger: github.Trigger) -> None:
    """Return once every timer of ``trigger`` due by now has run: the reporter's first look
    at subscribing, the look ``Reporter.watch`` asks for when a run starts (the timers run
    their callbacks one at a time, in the order of their times)."""
    on_time(trigger, lambda: None)


def look(trigger: github.Trigger) -> None:
    """Make the reporter look at the runs of ``SUB`` now, on its timers' thread as its own
    looks are, once every look due before has run; return when it is done."""
    sub = trigger.subscriptions[SUB]
    on_time(trigger, lambda: trigger.reporter.look(sub))


def on_time(trigger: github.Trigger, call: Callable[[], None]) -> None:
    """Run ``call`` on ``trigger``'s timers after what is due by now; wait for it."""
    done = threading.Event()

    def run() -> None:
        try:
            call()
        finally:
            done.set()

    trigger.timers.at("test", trigger.timers.now(), run)
    assert done.wait(10), "the timers did not run in time"


def problem(answer: contract.Answer, status: int, code: str) -> dict[str, Any]:
    """Check that ``answer`` is a problem document of ``status`` and ``code``; return it."""
    assert answer.status == status
    assert isinstance(answer.body, dict)
    found = contract.Problem.model_validate(answer.body)
    assert (found.status, found.code) == (status, code)
    assert found.detail
    assert found.hint
    return answer.body


def ignored(answer: contract.Answer) -> str:
    """Check that ``answer`` says the event was left out; return why."""
    assert answer.status == 200
    assert isinstance(answer.body, dict)
    assert set(answer.body) == {"run", "ignored"}
    assert answer.body["run"] is None
    return str(answer.body["ignored"])


def push(**changes: Any) -> dict[str, Any]:
    """Return the push of ``push.json`` with ``changes``."""
    return {**load("push"), **changes}


def files_push(count: int, names: list[str]) -> dict[str, Any]:
    """Return a push of ``count`` commits that each modify ``names``."""
    data = load("push")
    commit = data["commits"][0]
    data["commits"] = [
        {**commit, "id": f"{i:040x}", "added": [], "removed": [], "modified": names}
        for i in range(count)
    ]
    return data


# -- subscribing ------------------------------------------------------------------------------


def test_subscribing_describes_the_route_and_how_runs_are_reported(
    plain: github.Trigger, with_token: github.Trigger, as_app: github.Trigger
) -> None:
    descriptions = [subscribe(t).description for t in (plain, with_token, as_app)]

    assert descriptions == [
        f"github push, pull_request at POST {ROUTE}",
        f"github push, pull_request at POST {ROUTE}, reported as status",
        f"github push, pull_request at POST {ROUTE}, reported as check",
    ]


@pytest.mark.parametrize(
    ("trigger", "report", "says"),
    [
        ("plain", "status", "commit statuses need a token"),
        ("plain", "check", "check runs need a GitHub App"),
        ("with_token", "check", "check runs need a GitHub App"),
    ],
)
def test_a_report_the_credentials_cannot_make_is_refused_with_422_naming_settings_report(
    request: pytest.FixtureRequest, trigger: str, report: str, says: str
) -> None:
    extension: github.Trigger = request.getfixturevalue(trigger)
    body = {
        "namespace": "default",
        "pipeline": "hello",
        "subscription": SUB,
        "settings": {"secret": SECRET, "report": report},
    }

    with (
        server.Server(extension, key=KEY) as served,
        httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {KEY}"}) as api,
    ):
        answers = [
            api.post("/api/subscribe", json={**body, "dry_run": True}),
            api.post("/api/subscribe", json=body),
        ]

    for answer in answers:
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "invalid_argument"
        assert answer.json()["field"] == "settings.report"
        assert says in answer.json()["detail"]
        assert answer.json()["hint"]
        assert SECRET not in answer.text
    assert extension.subscriptions == {}


@pytest.mark.parametrize(
    "private_key",
    [
        pytest.param("not-a-private-key-at-all", id="garbage"),
        pytest.param(
            "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
            id="pem-not-a-key",
        ),
        pytest.param(
            "public",
            id="public-key",
        ),
    ],
)
def test_a_private_key_that_is_not_one_is_refused_naming_its_environment_variable(
    hostler: Runs, key: Key, private_key: str
) -> None:
    value = key.public if private_key == "public" else private_key
    config = github.Admin(app_id=APP_ID, private_key=pydantic.SecretStr(value))

    with pytest.raises(errors.InvalidArgument) as refused:
        github.Trigger(system(), config, api=hostler.client())

    assert refused.value.field == "HOSTLER_EXTENSION_CONFIG_PRIVATE_KEY"
    assert "HOSTLER_EXTENSION_CONFIG_PRIVATE_KEY" in str(refused.value)
    assert refused.value.hint
    shown = str(refused.value)
    assert all(line not in shown for line in value.splitlines() if "-----" not in line)


@pytest.mark.parametrize("given", ["app_id", "private_key"])
def test_half_a_github_app_is_refused_naming_the_missing_half(
    hostler: Runs, key: Key, given: str
) -> None:
    half = (
        github.Admin(app_id=APP_ID)
        if given == "app_id"
        else github.Admin(private_key=pydantic.SecretStr(key.private))
    )
    missing = "PRIVATE_KEY" if given == "app_id" else "APP_ID"

    with pytest.raises(errors.InvalidArgument) as refused:
        github.Trigger(system(), half, api=hostler.client())

    assert refused.value.field == f"HOSTLER_EXTENSION_CONFIG_{missing}"
    assert key.private.splitlines()[1] not in str(refused.value)


def test_a_private_key_from_the_environment_may_write_its_newlines_as_backslash_n(
    key: Key,
) -> None:
    environ = {
        contract.SYSTEM_PREFIX + "PORT": "0",
        contract.SYSTEM_PREFIX + "KEY": KEY,
        contract.SYSTEM_PREFIX + "URL": "http://hostler.invalid",
        contract.CONFIG_PREFIX + "APP_ID": APP_ID,
        contract.CONFIG_PREFIX + "PRIVATE_KEY": key.private.replace("\n", "\\n"),
    }
    trigger = github.Trigger.from_environ(environ)
    try:
        described = subscribe(trigger, report="none")
        assert trigger.mode(github.Settings(secret=pydantic.SecretStr(SECRET))) == "check"
        assert described.description.endswith(ROUTE)
    finally:
        trigger.close()

    environ[contract.CONFIG_PREFIX + "PRIVATE_KEY"] = "-----BEGIN RSA PRIVATE KEY-----\\nAAAA"
    with pytest.raises(errors.InvalidArgument) as refused:
        github.Trigger.from_environ(environ)
    assert refused.value.field == "HOSTLER_EXTENSION_CONFIG_PRIVATE_KEY"


# -- what a delivery starts -------------------------------------------------------------------


def test_a_correctly_signed_push_starts_exactly_one_run_with_the_variables_of_the_push(
    plain: github.Trigger, hostler: Runs, gh: GitHub
) -> None:
    subscribe(plain)

    answer = plain.handle_event(delivery("push", load("push")))

    assert answer.status == 202
    assert answer.body == {"run": 1, "pipeline": "default/hello"}
    assert len(hostler.started) == 1
    assert hostler.started[0]["variables"] == {
        "GITHUB_EVENT": "push",
        "GITHUB_DELIVERY": DELIVERY,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_CLONE_URL": "https://github.com/octo-org/hello-world.git",
        "GITHUB_SENDER": "octocat",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": PUSH_SHA,
        "GITHUB_BRANCH": "main",
        "GITHUB_INSTALLATION_ID": str(INSTALLATION),
        "HOSTLER_TRIGGER": "github",
        "HOSTLER_SUBSCRIPTION": SUB,
    }
    assert gh.requests == []  # no credentials: nothing asked of GitHub, nothing reported


def test_an_opened_pull_request_starts_a_run_of_its_head_commit(
    plain: github.Trigger, hostler: Runs, gh: GitHub
) -> None:
    subscribe(plain)

    answer = plain.handle_event(delivery("pull_request", load("pull_request_opened")))

    assert answer.status == 202
    assert hostler.started[0]["variables"] == {
        "GITHUB_EVENT": "pull_request",
        "GITHUB_DELIVERY": DELIVERY,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_CLONE_URL": "https://github.com/octo-org/hello-world.git",
        "GITHUB_SENDER": "mona",
        "GITHUB_ACTION": "opened",
        "GITHUB_REF": "refs/pull/42/head",
        "GITHUB_SHA": PR_SHA,
        "GITHUB_BRANCH": "feature/passkey-login",
        "GITHUB_BASE_REF": "main",
        "GITHUB_PR_NUMBER": "42",
        "GITHUB_INSTALLATION_ID": str(INSTALLATION),
        "HOSTLER_TRIGGER": "github",
        "HOSTLER_SUBSCRIPTION": SUB,
    }
    assert gh.requests == []  # no paths filter: the files are not asked for


def test_a_published_release_starts_a_run_with_its_tag(
    plain: github.Trigger, hostler: Runs
) -> None:
    subscribe(plain, events=["release"])

    answer = plain.handle_event(delivery("release", load("release_published")))

    assert answer.status == 202
    assert hostler.started[0]["variables"] == {
        "GITHUB_EVENT": "release",
        "GITHUB_DELIVERY": DELIVERY,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_CLONE_URL": "https://github.com/octo-org/hello-world.git",
        "GITHUB_SENDER": "octocat",
        "GITHUB_ACTION": "published",
        "GITHUB_REF": "refs/tags/v1.2.0",
        "GITHUB_TAG": "v1.2.0",
        "HOSTLER_TRIGGER": "github",
        "HOSTLER_SUBSCRIPTION": SUB,
    }


def test_a_pushed_tag_starts_a_run_with_its_tag_and_no_branch(
    plain: github.Trigger, hostler: Runs
) -> None:
    subscribe(plain)

    answer = plain.handle_event(delivery("push", load("push_tag")))

    assert answer.status == 202
    variables = hostler.started[0]["variables"]
    assert (variables["GITHUB_REF"], variables["GITHUB_TAG"]) == ("refs/tags/v1.2.0", "v1.2.0")
    assert variables["GITHUB_SHA"] == PUSH_SHA
    assert "GITHUB_BRANCH" not in variables


def test_the_variables_setting_maps_more_fields_of_the_payload(
    plain: github.Trigger, hostler: Runs
) -> None:
    mapping = {
        "TITLE": "pull_request.title",
        "AUTHOR": "pull_request.user.login",
        "DRAFT": "pull_request.draft",
        "ADDITIONS": "pull_request.additions",
        "LABEL": "pull_request.labels.0.name",
    }
    subscribe(plain, variables=mapping)

    answer = plain.handle_event(delivery("pull_request", load("pull_request_opened")))

    assert answer.status == 202
    variables = hostler.started[0]["variables"]
    assert {name: variables[name] for name in mapping} == {
        "TITLE": "Sign in with a passkey",
        "AUTHOR": "mona",
        "DRAFT": "false",
        "ADDITIONS": "212",
        "LABEL": "enhancement",
    }
    assert variables["GITHUB_PR_NUMBER"] == "42"


def test_a_mapped_variable_missing_from_the_payload_is_refused_with_422(
    plain: github.Trigger, hostler: Runs
) -> None:
    subscribe(plain, variables={"TITLE": "pull_request.title"})

    answer = plain.handle_event(delivery("push", load("push")))

    found = problem(answer, 422, "invalid_argument")
    assert found["field"] == "pull_request.title"
    assert hostler.started == []


def test_a_form_encoded_delivery_is_read_from_its_payload_field(
    plain: github.Trigger, hostler: Runs
) -> None:
    subscribe(plain)
    body = urllib.parse.urlencode({"payload": json.dumps(load("push"))}).encode()
    headers = hook_headers("push", body, content_type="application/x-www-form-urlencoded")

    answer = plain.handle_event(forwarded(body, headers))

    assert answer.status == 202
    assert hostler.started[0]["variables"]["GITHUB_SHA"] == PUSH_SHA
    assert hostler.started[0]["variables"]["GITHUB_BRANCH"] == "main"


def test_a_ping_is_answered_pong_and_starts_nothing(plain: github.Trigger, hostler: Runs) -> None:
    subscribe(plain)

    answer = plain.handle_event(delivery("ping", load("ping")))

    assert (answer.status, answer.body) == (200, {"result": "pong"})
    assert hostler.started == []


def refused_deliveries() -> list[Any]:
    body = json.dumps(load("push")).encode()
    form = urllib.parse.urlencode({"zen": "Design for failure."}).encode()
    return [
        pytest.param(
            delivery("push", load("push"), secret="another-secret-0123456789abcdef"),
            401,
            "unauthenticated",
            "signature does not match the body (header 'x-hub-signature-256')",
            id="wrong-signature",
        ),
        pytest.param(
            forwarded(body, {**hook_headers("push", body), "X-Hub-Signature-256": sign(b"{}")}),
            401,
            "unauthenticated",
            "signature does not match the body",
            id="signature-of-another-body",
        ),
        pytest.param(
            delivery("push", load("push"), secret=None),
            401,
            "unauthenticated",
            "signature missing (header 'x-hub-signature-256')",
            id="missing-signature",
        ),
        pytest.param(
            forwarded(
                body,
                {
                    **hook_headers("push", body),
                    "X-Hub-Signature-256": "",
                },
            ),
            401,
            "unauthenticated",
            "signature missing",
            id="empty-signature",
        ),
        pytest.param(
            delivery("ping", load("ping"), secret="another-secret-0123456789abcdef"),
            401,
            "unauthenticated",
            "signature does not match the body",
            id="wrongly-signed-ping",
        ),
        pytest.param(
            forwarded(body, hook_headers(None, body)),
            400,
            "bad_request",
            "header 'X-GitHub-Event' missing",
            id="missing-event-header",
        ),
        pytest.param(
            forwarded(b"ref=refs/heads/main", hook_headers("push", b"ref=refs/heads/main")),
            400,
            "bad_request",
            "request body: not JSON (",
            id="not-json",
        ),
        pytest.param(
            delivery("push", [load("push")]),
            400,
            "bad_request",
            "a JSON array, not an object",
            id="json-array",
        ),
        pytest.param(
            forwarded(
                form,
                hook_headers("push", form, content_type="application/x-www-form-urlencoded"),
            ),
            400,
            "bad_request",
            "request body: not JSON (",
            id="form-without-payload",
        ),
        pytest.param(
            delivery("push", load("push"), method="GET"),
            405,
            "method_not_allowed",
            "method 'GET' not allowed",
            id="get",
        ),
        pytest.param(
            delivery("push", load("push"), subscription="default/hello/gone"),
            404,
            "not_found",
            "subscription 'default/hello/gone': not subscribed",
            id="unknown-subscription",
        ),
        pytest.param(
            delivery("push", load("push"), subscription=None),
            404,
            "not_found",
            "an event must name a subscription",
            id="no-subscription",
        ),
    ]


@pytest.mark.parametrize(("request_", "status", "code", "says"), refused_deliveries())
def test_a_refused_delivery_starts_nothing_and_says_why(
    with_token: github.Trigger,
    hostler: Runs,
    gh: GitHub,
    request_: contract.ExternalEvent,
    status: int,
    code: str,
    says: str,
) -> None:
    subscribe(with_token, report="none")

    answer = with_token.handle_event(request_)

    assert says in problem(answer, status, code)["detail"]
    assert hostler.started == []
    assert gh.requests == []


def test_the_secret_and_the_token_never_show_in_answers_or_logs(
    with_token: github.Trigger,
    hostler: Runs,
    gh: GitHub,
    caplog: pytest.LogCaptureFixture,
    slow_poll: None,
) -> None:
    body = json.dumps(load("push")).encode()
    signature = sign(body).removeprefix("sha256=")
    gh.fail("/statuses/", 401, times=1)
    with caplog.at_level(logging.DEBUG):
        answers: list[Any] = [
            github.Trigger.info(),
            subscribe(with_token, events=["push", "pull_request", "ping"]),
            with_token.handle_event(delivery("push", load("push"))),
            with_token.handle_event(delivery("ping", load("ping"))),
            with_token.handle_event(delivery("issues", load("issues_opened"))),
            with_token.handle_event(forwarded(body, {**hook_headers("push", body, "x" * 32)})),
            with_token.handle_event(forwarded(body, hook_headers("push", body, None))),
            repr(with_token.subscriptions),
            repr(with_token.config),
        ]
        settle(with_token)  # the first report of the run is refused
        look(with_token)

    assert len(hostler.started) == 1
    assert len(gh.statuses) == 1
    shown = " ".join(a if isinstance(a, str) else a.model_dump_json() for a in answers) + " ".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records
    )
    assert "run reported" in shown  # the logs were captured
    assert "run not reported" in shown
    for hidden in (SECRET, signature, TOKEN):
        assert hidden not in shown


# -- filters ----------------------------------------------------------------------------------


def tag_deleted() -> dict[str, Any]:
    return {**load("push_deleted"), "ref": "refs/tags/v0.9.0"}


def release(action: str) -> dict[str, Any]:
    return {**load("release_published"), "action": action}


@pytest.mark.parametrize(
    ("settings", "event", "data", "why"),
    [
        pytest.param(
            {},
            "issues",
            load("issues_opened"),
            "event 'issues' is not one of push, pull_request",
            id="event-not-in-events",
        ),
        pytest.param(
            {"events": ["pull_request"]},
            "push",
            load("push"),
            "event 'push' is not one of pull_request",
            id="push-not-in-events",
        ),
        pytest.param(
            {},
            "pull_request",
            load("pull_request_closed"),
            "action 'closed' of event 'pull_request' is not one of opened, synchronize, reopened",
            id="pull-request-closed-by-default",
        ),
        pytest.param(
            {"actions": ["closed"]},
            "pull_request",
            load("pull_request_opened"),
            "action 'opened' of event 'pull_request' is not one of closed",
            id="explicit-actions",
        ),
        pytest.param(
            {"events": ["release"]},
            "release",
            release("created"),
            "action 'created' of event 'release' is not one of published",
            id="release-created-by-default",
        ),
        pytest.param(
            {"branches": ["develop"]},
            "push",
            load("push"),
            "branch 'main' matches no pattern of 'branches'",
            id="branch-not-in-branches",
        ),
        pytest.param(
            {"branches": ["feature/*"]},
            "push",
            push(ref="refs/heads/feature/a/b"),
            "branch 'feature/a/b' matches no pattern of 'branches'",
            id="star-does-not-cross-slashes",
        ),
        pytest.param(
            {"branches": ["release/**"]},
            "push",
            push(ref="refs/heads/release"),
            "branch 'release' matches no pattern of 'branches'",
            id="double-star-needs-the-slash",
        ),
        pytest.param(
            {"tags": ["v*"]},
            "push",
            load("push"),
            "branch 'main' matches no pattern of 'branches'",
            id="tags-only-leave-out-branches",
        ),
        pytest.param(
            {"branches": ["main"]},
            "push",
            load("push_tag"),
            "tag 'v1.2.0' matches no pattern of 'tags'",
            id="branches-only-leave-out-tags",
        ),
        pytest.param(
            {"tags": ["v2.*"]},
            "push",
            load("push_tag"),
            "tag 'v1.2.0' matches no pattern of 'tags'",
            id="tag-not-in-tags",
        ),
        pytest.param(
            {},
            "push",
            load("push_deleted"),
            "ref 'refs/heads/feature/old-login' was deleted",
            id="deleted-branch",
        ),
        pytest.param(
            {"tags": ["v*"]},
            "push",
            tag_deleted(),
            "ref 'refs/tags/v0.9.0' was deleted",
            id="deleted-tag",
        ),
        pytest.param(
            {"branches": ["develop"]},
            "pull_request",
            load("pull_request_opened"),
            "branch 'main' matches no pattern of 'branches'",
            id="pull-request-base-not-in-branches",
        ),
        pytest.param(
            {"branches": ["feature/**"]},
            "pull_request",
            load("pull_request_opened"),
            "branch 'main' matches no pattern of 'branches'",
            id="pull-request-head-is-not-filtered",
        ),
        pytest.param(
            {"events": ["release"], "branches": ["main"]},
            "release",
            load("release_published"),
            "tag 'v1.2.0' matches no pattern of 'tags'",
            id="release-with-branches-only",
        ),
        pytest.param(
            {"paths": ["tests/**"]},
            "push",
            load("push"),
            "no changed file matches 'paths'",
            id="no-file-in-paths",
        ),
        pytest.param(
            {"paths_ignore": ["*.md", "docs/**", "src/**"]},
            "push",
            load("push"),
            "every changed file matches 'paths_ignore'",
            id="every-file-in-paths-ignore",
        ),
        pytest.param(
            {"paths": ["docs/**"], "paths_ignore": ["docs/**"]},
            "push",
            load("push"),
            "every changed file matches 'paths_ignore'",
            id="the-files-in-paths-all-ignored",
        ),
        pytest.param(
            {"paths": ["src/app/*.py"]},
            "push",
            files_push(19, ["docs/index.md"]),
            "no changed file matches 'paths'",
            id="nineteen-commits-tell-their-files",
        ),
    ],
)
def test_an_event_the_filters_leave_out_is_answered_200_saying_why_and_starts_nothing(
    plain: github.Trigger,
    hostler: Runs,
    gh: GitHub,
    settings: dict[str, Any],
    event: str,
    data: dict[str, Any],
    why: str,
) -> None:
    subscribe(plain, **settings)

    answer = plain.handle_event(delivery(event, data))

    assert ignored(answer) == why
    assert hostler.started == []
    assert gh.requests == []


@pytest.mark.parametrize(
    ("settings", "event", "data"),
    [
        pytest.param({"branches": ["main"]}, "push", load("push"), id="branch-in-branches"),
        pytest.param(
            {"branches": ["release/**"]},
            "push",
            push(ref="refs/heads/release/2026/q1"),
            id="double-star-crosses-slashes",
        ),
        pytest.param(
            {"branches": ["feature/*"]}, "push", push(ref="refs/heads/feature/a"), id="star"
        ),
        pytest.param({"tags": ["v*"]}, "push", load("push_tag"), id="tag-in-tags"),
        pytest.param(
            {"branches": ["main"], "tags": ["v1.*"]}, "push", load("push_tag"), id="both-tag"
        ),
        pytest.param(
            {"branches": ["main"], "tags": ["v1.*"]}, "push", load("push"), id="both-branch"
        ),
        pytest.param({}, "push", load("push_tag"), id="neither-tag"),
        pytest.param(
            {"branches": ["main"]},
            "pull_request",
            load("pull_request_opened"),
            id="pull-request-base-in-branches",
        ),
        pytest.param(
            {"actions": ["closed"]},
            "pull_request",
            load("pull_request_closed"),
            id="explicit-action",
        ),
        pytest.param(
            {},
            "pull_request",
            {**load("pull_request_opened"), "action": "synchronize"},
            id="pull-request-synchronize",
        ),
        pytest.param({"events": ["*"]}, "issues", load("issues_opened"), id="any-event"),
        pytest.param(
            {"events": ["release"], "tags": ["v1.*"]},
            "release",
            load("release_published"),
            id="release-tag-in-tags",
        ),
        pytest.param({"paths": ["src/**"]}, "push", load("push"), id="a-file-in-paths"),
        pytest.param(
            {"paths": ["src/app/old.py"]}, "push", load("push"), id="a-removed-file-counts"
        ),
        pytest.param(
            {"paths_ignore": ["docs/**"]}, "push", load("push"), id="not-every-file-ignored"
        ),
        pytest.param(
            {"paths": ["docs/**", "README.md"], "paths_ignore": ["docs/**"]},
            "push",
            load("push"),
            id="a-file-in-paths-not-ignored",
        ),
        pytest.param(
            {"paths": ["src/**"]},
            "push",
            files_push(20, ["docs/index.md"]),
            id="twenty-commits-files-unknown",
        ),
        pytest.param(
            {"paths": ["tests/**"]},
            "push",
            push(created=True),
            id="new-branch-files-unknown",
        ),
        pytest.param(
            {"paths": ["tests/**"]},
            "push",
            push(forced=True),
            id="forced-push-files-unknown",
        ),
    ],
)
def test_an_event_the_filters_let_through_starts_one_run(
    plain: github.Trigger,
    hostler: Runs,
    settings: dict[str, Any],
    event: str,
    data: dict[str, Any],
) -> None:
    subscribe(plain, **settings)

    answer = plain.handle_event(delivery(event, data))

    assert answer.status == 202
    assert len(hostler.started) == 1
    assert hostler.started[0]["variables"]["GITHUB_EVENT"] == event


# -- a pull request's files -------------------------------------------------------------------

PR_FILES = [f"docs/page-{i:03}.md" for i in range(149)]


@pytest.mark.parametrize(
    ("last", "settings", "why"),
    [
        ("src/login/passkey.py", {"paths": ["src/**"]}, None),
        ("docs/index.md", {"paths": ["src/**"]}, "no changed file matches 'paths'"),
        (
            "docs/index.md",
            {"paths_ignore": ["docs/**"]},
            "every changed file matches 'paths_ignore'",
        ),
        ("src/login/passkey.py", {"paths_ignore": ["docs/**"]}, None),
    ],
)
def test_a_pull_request_s_files_are_read_page_by_page_from_the_github_api(
    plain: github.Trigger,
    hostler: Runs,
    gh: GitHub,
    last: str,
    settings: dict[str, Any],
    why: str | None,
) -> None:
    gh.files[REPO, 42] = [*PR_FILES, last]  # 150 files, the last on the second page
    subscribe(plain, **settings)

    answer = plain.handle_event(delivery("pull_request", load("pull_request_opened")))

    if why is None:
        assert answer.status == 202
        assert len(hostler.started) == 1
    else:
        assert ignored(answer) == why
        assert hostler.started == []
    pages = gh.sent("GET", f"/repos/{REPO}/pulls/42/files")
    assert [dict(r.query) for r in pages] == [
        {"per_page": "100", "page": "1"},
        {"per_page": "100", "page": "2"},
    ]
    assert [r.auth for r in pages] == [None, None]  # no credentials: as for a public repository


def test_a_pull_request_of_exactly_one_page_of_files_asks_for_the_next_one(
    plain: github.Trigger, hostler: Runs, gh: GitHub
) -> None:
    gh.files[REPO, 42] = PR_FILES[:100]
    subscribe(plain, paths=["src/**"])

    answer = plain.handle_event(delivery("pull_request", load("pull_request_opened")))

    assert ignored(answer) == "no changed file matches 'paths'"
    assert [r.query["page"] for r in gh.sent("GET", "/files")] == ["1", "2"]


@pytest.mark.parametrize("status", [500, 404, 0], ids=["500", "404", "unreachable"])
def test_a_pull_request_whose_files_github_cannot_tell_starts_a_run(
    plain: github.Trigger,
    hostler: Runs,
    gh: GitHub,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    gh.files[REPO, 42] = ["docs/index.md"]
    gh.fail("/files", status)
    subscribe(plain, paths=["src/**"])

    answer = plain.handle_event(delivery("pull_request", load("pull_request_opened")))

    assert answer.status == 202
    assert len(hostler.started) == 1
    unknown = [r for r in caplog.records if r.getMessage() == "pull request files unknown"]
    assert [r.__dict__["repository"] for r in unknown] == [REPO]


def test_a_pull_request_whose_files_github_answers_with_a_page_not_json_starts_a_run(
    plain: github.Trigger, hostler: Runs, gh: GitHub
) -> None:
    gh.fail("/files", html=True)
    subscribe(plain, paths=["src/**"])

    answer = plain.handle_event(delivery("pull_request", load("pull_request_opened")))

    assert answer.status == 202
    assert len(hostler.started) == 1


def test_as_an_app_a_pull_request_s_files_are_read_with_the_installation_token(
    as_app: github.Trigger, hostler: Runs, gh: GitHub
) -> None:
    gh.files[REPO, 42] = ["src/login/passkey.py"]
    subscribe(as_app, paths=["src/**"], report="none")

    answer = as_app.handle_event(delivery("pull_request", load("pull_request_opened")))

    assert answer.status == 202
    [bought] = gh.sent("POST", "/access_tokens")
    assert bought.path == f"/app/installations/{INSTALLATION}/access_tokens"
    [token] = gh.sold
    assert [r.auth for r in gh.sent("GET", "/files")] == [f"Bearer {token}"]


# -- reporting as commit statuses -------------------------------------------------------------


def test_a_run_started_by_a_push_is_reported_as_a_commit_status_until_it_ends(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, fast_poll: None
) -> None:
    subscribe(with_token)
    settle(with_token)

    answer = with_token.handle_event(delivery("push", load("push")))
    eventually(lambda: len(gh.statuses) == 1)
    hostler.running(1)
    eventually(lambda: len(gh.statuses) == 2)
    hostler.complete(1, "successful")
    eventually(lambda: len(gh.statuses) == 3)

    assert answer.status == 202
    assert [(s["state"], s["description"]) for s in gh.statuses] == [
        ("pending", "Run #1 pending"),
        ("pending", "Run #1 running"),
        ("success", "Run #1 successful"),
    ]
    for status in gh.statuses:
        assert (status["repository"], status["sha"]) == (REPO, PUSH_SHA)
        assert status["context"] == CONTEXT
        assert status["target_url"] == RUN_1
    for sent in gh.sent("POST", "/statuses/"):
        assert sent.path == f"/repos/{REPO}/statuses/{PUSH_SHA}"
        assert sent.auth == f"Bearer {TOKEN}"
        assert sent.headers["accept"] == "application/vnd.github+json"
        assert sent.headers["x-github-api-version"] == "2022-11-28"


@pytest.mark.parametrize(
    ("status", "state"),
    [("successful", "success"), ("failed", "failure"), ("cancelled", "error")],
)
def test_a_complete_run_s_commit_status_tells_how_it_ended_and_the_run_is_then_dropped(
    with_token: github.Trigger,
    hostler: Runs,
    gh: GitHub,
    slow_poll: None,
    status: str,
    state: str,
) -> None:
    subscribe(with_token)
    settle(with_token)
    with_token.handle_event(delivery("push", load("push")))

    look(with_token)
    hostler.complete(1, status, reason="task 'build' exited with 1")
    look(with_token)
    gets = hostler.gets
    look(with_token)

    assert [s["state"] for s in gh.statuses] == ["pending", state]
    assert gh.statuses[-1]["description"] == f"Run #1 {status}"
    assert hostler.gets == gets  # complete and reported: no longer followed


def test_a_pull_request_s_run_is_reported_on_its_head_commit_under_the_context_setting(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    subscribe(with_token, context="ci/hostler")
    settle(with_token)
    with_token.handle_event(delivery("pull_request", load("pull_request_opened")))

    look(with_token)

    assert [(s["sha"], s["context"], s["state"]) for s in gh.statuses] == [
        (PR_SHA, "ci/hostler", "pending")
    ]


def test_without_a_link_a_status_links_nowhere(
    build: Build, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    trigger = build(token=pydantic.SecretStr(TOKEN), link=None)
    subscribe(trigger)
    settle(trigger)
    trigger.handle_event(delivery("push", load("push")))

    look(trigger)

    [sent] = gh.sent("POST", "/statuses/")
    assert "target_url" not in sent.body
    assert sent.body["state"] == "pending"


@pytest.mark.parametrize(
    ("trigger", "settings"),
    [
        pytest.param("with_token", {"report": "none"}, id="report-none"),
        pytest.param("as_app", {"report": "none"}, id="app-report-none"),
        pytest.param("plain", {}, id="no-credentials"),
    ],
)
def test_nothing_is_reported_with_report_none_or_without_credentials(
    request: pytest.FixtureRequest,
    hostler: Runs,
    gh: GitHub,
    trigger: str,
    settings: dict[str, Any],
) -> None:
    extension: github.Trigger = request.getfixturevalue(trigger)
    subscribe(extension, **settings)

    answer = extension.handle_event(delivery("push", load("push")))
    hostler.complete(1, "successful")
    look(extension)

    assert answer.status == 202
    assert extension.timers.pending(SUB) == []  # no timer follows the runs
    assert gh.requests == []


def test_a_run_of_an_event_without_a_commit_is_not_reported(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    subscribe(with_token, events=["*"])
    settle(with_token)

    answer = with_token.handle_event(delivery("issues", load("issues_opened")))
    look(with_token)

    assert answer.status == 202
    assert gh.requests == []


def test_a_status_github_refuses_is_logged_and_reported_at_the_next_look(
    with_token: github.Trigger,
    hostler: Runs,
    gh: GitHub,
    caplog: pytest.LogCaptureFixture,
    slow_poll: None,
) -> None:
    subscribe(with_token)
    settle(with_token)
    gh.fail("/statuses/", 500, times=1)

    with caplog.at_level(logging.INFO):
        with_token.handle_event(delivery("push", load("push")))
        settle(with_token)  # the look at the run's start: GitHub answers 500
        refused = [r for r in caplog.records if r.getMessage() == "run not reported"]
        assert gh.statuses == []
        look(with_token)
        hostler.complete(1, "failed")
        look(with_token)

    assert len(gh.sent("POST", "/statuses/")) == 3
    assert [s["state"] for s in gh.statuses] == ["pending", "failure"]
    assert [r.__dict__["run"] for r in refused] == ["default/hello#1"]
    assert "GitHub answered 500" in refused[0].__dict__["error"]
    assert refused[0].levelno == logging.WARNING


def test_reporting_goes_on_once_github_can_be_reached_again(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, fast_poll: None
) -> None:
    gh.fail("/statuses/", 0)  # the connection is dropped
    subscribe(with_token)
    settle(with_token)

    with_token.handle_event(delivery("push", load("push")))
    eventually(lambda: len(gh.sent("POST", "/statuses/")) >= 3)
    gh.heal()
    eventually(lambda: len(gh.statuses) == 1)
    hostler.complete(1, "successful")
    eventually(lambda: len(gh.statuses) == 2)

    assert [s["state"] for s in gh.statuses] == ["pending", "success"]


def test_reporting_goes_on_while_hostler_cannot_be_reached(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    subscribe(with_token)
    settle(with_token)
    with_token.handle_event(delivery("push", load("push")))

    hostler.unreachable = True
    look(with_token)
    hostler.unreachable = False
    look(with_token)

    assert [s["state"] for s in gh.statuses] == ["pending"]


def test_reporting_goes_on_after_github_answered_a_page_that_is_not_json(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    variables = {"GITHUB_REPOSITORY": REPO, "GITHUB_SHA": PUSH_SHA, "HOSTLER_SUBSCRIPTION": SUB}
    hostler.add(variables, state="running")
    gh.fail("/statuses/", html=True, times=1)

    subscribe(with_token)
    settle(with_token)  # the first look takes the run up; GitHub answers an HTML page

    assert len(gh.sent("POST", "/statuses/")) == 1
    assert with_token.timers.pending(SUB) != []  # the timer still follows the runs


def test_a_status_for_a_renamed_repository_follows_github_s_redirect(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    gh.renamed[REPO] = "octo-org/hello-universe"
    subscribe(with_token)
    settle(with_token)
    with_token.handle_event(delivery("push", load("push")))

    look(with_token)

    assert [(s["repository"], s["state"]) for s in gh.statuses] == [
        ("octo-org/hello-universe", "pending")
    ]


def test_a_run_deleted_from_hostler_is_no_longer_followed(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    subscribe(with_token)
    settle(with_token)
    with_token.handle_event(delivery("push", load("push")))
    look(with_token)

    hostler.delete(1)
    look(with_token)
    gets = hostler.gets
    look(with_token)

    assert [s["state"] for s in gh.statuses] == ["pending"]
    assert hostler.gets == gets


def test_unsubscribing_stops_reporting_the_subscription_s_runs(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    subscribe(with_token)
    settle(with_token)
    with_token.handle_event(delivery("push", load("push")))
    sub = with_token.subscriptions[SUB]
    look(with_token)

    with_token.handle_unsubscribe(
        contract.Unsubscribe(namespace="default", pipeline="hello", subscription=SUB)
    )
    hostler.complete(1, "successful")
    with_token.reporter.look(sub)

    assert with_token.timers.pending(SUB) == []
    assert [s["state"] for s in gh.statuses] == ["pending"]


def test_report_status_as_an_app_posts_statuses_with_the_installation_token(
    as_app: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    subscribe(as_app, report="status")
    settle(as_app)
    as_app.handle_event(delivery("push", load("push")))

    look(as_app)

    [token] = gh.sold
    assert [(s["state"], s["context"]) for s in gh.statuses] == [("pending", CONTEXT)]
    assert [r.auth for r in gh.sent("POST", "/statuses/")] == [f"Bearer {token}"]
    assert gh.sent("POST", "/check-runs") == []


# -- reporting as check runs ------------------------------------------------------------------


def test_as_an_app_a_run_is_reported_as_a_check_run_created_then_completed(
    as_app: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    subscribe(as_app)
    settle(as_app)
    as_app.handle_event(delivery("push", load("push")))

    look(as_app)
    hostler.running(1)
    look(as_app)
    hostler.complete(1, "failed", reason="task 'test' exited with 2")
    look(as_app)

    [bought] = gh.sent("POST", "/access_tokens")
    assert bought.path == f"/app/installations/{INSTALLATION}/access_tokens"
    assert bought.auth is not None and bought.auth.startswith("Bearer ey")  # a JWT, verified
    [token] = gh.sold
    assert gh.sold[token] == INSTALLATION
    repository = [r for r in gh.requests if r.path.startswith("/repos/")]
    assert {r.auth for r in repository} == {f"Bearer {token}"}  # bought once, reused
    [found] = gh.sent("GET", "/check-runs")
    assert found.path == f"/repos/{REPO}/commits/{PUSH_SHA}/check-runs"
    assert found.query == {"check_name": CONTEXT, "filter": "all"}
    [created] = gh.sent("POST", "/check-runs")
    assert created.path == f"/repos/{REPO}/check-runs"
    assert created.body == {
        "name": CONTEXT,
        "head_sha": PUSH_SHA,
        "external_id": "default/hello#1",
        "status": "queued",
        "details_url": RUN_1,
    }
    [check] = gh.checks.values()
    updates = gh.sent("PATCH", "/check-runs/")
    assert [r.path for r in updates] == [f"/repos/{REPO}/check-runs/{check['id']}"] * 2
    assert [r.body["status"] for r in updates] == ["in_progress", "completed"]
    assert updates[0].body["started_at"] == hostler.get(1)["started"]
    assert check["status"] == "completed"
    assert check["conclusion"] == "failure"
    assert check["completed_at"] == hostler.get(1)["ended"]
    assert check["output"] == {
        "title": "Run #1 failed",
        "summary": "task 'test' exited with 2",
    }
    assert gh.sent("POST", "/statuses/") == []


@pytest.mark.parametrize(
    ("status", "conclusion"),
    [("successful", "success"), ("failed", "failure"), ("cancelled", "cancelled")],
)
def test_a_complete_run_s_check_run_concludes_how_it_ended(
    as_app: github.Trigger,
    hostler: Runs,
    gh: GitHub,
    slow_poll: None,
    status: str,
    conclusion: str,
) -> None:
    subscribe(as_app)
    settle(as_app)
    as_app.handle_event(delivery("pull_request", load("pull_request_opened")))

    look(as_app)
    hostler.complete(1, status)
    look(as_app)

    [check] = gh.checks.values()
    assert (check["head_sha"], check["status"], check["conclusion"]) == (
        PR_SHA,
        "completed",
        conclusion,
    )
    assert check["output"]["summary"] == f"Run default/hello#1 {status}."


def test_the_installation_token_is_bought_once_for_many_runs(
    as_app: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    subscribe(as_app)
    settle(as_app)

    for _ in range(3):
        as_app.handle_event(delivery("push", load("push")))
        look(as_app)

    assert len(gh.checks) == 3
    assert len(gh.sent("POST", "/access_tokens")) == 1


def test_an_installation_token_about_to_expire_is_bought_again(
    as_app: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    gh.token_lifetime = datetime.timedelta(seconds=30)  # within the margin of a minute
    subscribe(as_app)
    settle(as_app)
    as_app.handle_event(delivery("push", load("push")))

    look(as_app)
    hostler.complete(1, "successful")
    look(as_app)

    assert len(gh.sent("POST", "/access_tokens")) >= 2
    assert [c["status"] for c in gh.checks.values()] == ["completed"]


def test_as_an_app_a_delivery_without_installation_finds_the_repository_s(
    as_app: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    subscribe(as_app)
    settle(as_app)
    data = load("push")
    del data["installation"]  # a repository's webhook, not the App's

    as_app.handle_event(delivery("push", data))
    settle(as_app)

    assert "GITHUB_INSTALLATION_ID" not in hostler.started[0]["variables"]
    lookups = gh.sent("GET", "/installation")
    assert lookups
    assert {r.path for r in lookups} == {f"/repos/{REPO}/installation"}
    assert all(r.auth is not None and r.auth.startswith("Bearer ey") for r in lookups)
    assert [r.path for r in gh.sent("POST", "/access_tokens")] == [
        f"/app/installations/{INSTALLATION}/access_tokens"
    ]
    assert [(c["head_sha"], c["status"]) for c in gh.checks.values()] == [(PUSH_SHA, "queued")]


def test_after_a_restart_the_check_run_of_a_run_still_going_is_updated_not_created_again(
    build: Build, key: Key, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    admin = {"app_id": APP_ID, "private_key": pydantic.SecretStr(key.private)}
    before = build(**admin)
    subscribe(before)
    settle(before)
    before.handle_event(delivery("push", load("push")))
    look(before)
    hostler.running(1)
    look(before)
    before.timers.close()  # the extension stops

    after = build(**admin)
    subscribe(after)
    settle(after)  # its first look takes up run 1
    hostler.complete(1, "successful")
    look(after)

    assert len(gh.sent("POST", "/check-runs")) == 1
    [check] = gh.checks.values()
    assert (check["external_id"], check["status"], check["conclusion"]) == (
        "default/hello#1",
        "completed",
        "success",
    )
    updates = gh.sent("PATCH", f"/check-runs/{check['id']}")
    assert [r.body["status"] for r in updates] == ["in_progress", "in_progress", "completed"]


def test_a_run_that_ended_while_the_extension_was_down_is_not_reported(
    build: Build, key: Key, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    admin = {"app_id": APP_ID, "private_key": pydantic.SecretStr(key.private)}
    before = build(**admin)
    subscribe(before)
    settle(before)
    before.handle_event(delivery("push", load("push")))
    look(before)
    before.timers.close()

    hostler.complete(1, "successful")
    after = build(**admin)
    subscribe(after)
    settle(after)
    look(after)

    assert [c["status"] for c in gh.checks.values()] == ["queued"]
    assert gh.sent("PATCH", "/check-runs/") == []


def test_after_a_restart_only_the_subscription_s_own_runs_are_taken_up(
    with_token: github.Trigger, hostler: Runs, gh: GitHub, slow_poll: None
) -> None:
    variables = {"GITHUB_REPOSITORY": REPO, "GITHUB_SHA": PUSH_SHA}
    hostler.add({**variables, "HOSTLER_SUBSCRIPTION": "default/hello/other"}, state="running")
    hostler.add({**variables, "HOSTLER_SUBSCRIPTION": SUB}, state="running")
    hostler.add({**variables, "HOSTLER_SUBSCRIPTION": SUB}, state="complete")

    subscribe(with_token)
    settle(with_token)

    assert [(s["description"], s["state"]) for s in gh.statuses] == [("Run #2 running", "pending")]


# -- patterns ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("main", "main", True),
        ("main", "main2", False),
        ("main", "xmain", False),
        ("main", "feature/main", False),
        ("*", "main", True),
        ("*", "feature/a", False),
        ("*", "", True),
        ("feature/*", "feature/a", True),
        ("feature/*", "feature/a/b", False),
        ("feature/*", "feature/", True),
        ("feature/*", "feature", False),
        ("release/**", "release/2026/q1", True),
        ("release/**", "release/v1", True),
        ("release/**", "release", False),
        ("**", "a/b/c.txt", True),
        ("**", "", True),
        ("**.js", "src/js/app.js", True),
        ("*.js", "app.js", True),
        ("*.js", "src/app.js", False),
        ("src/**/*.py", "src/app/login/main.py", True),
        ("src/**/*.py", "src/app/main.txt", False),
        ("docs/**", "docs/guide.md", True),
        ("docs/**", "documents/guide.md", False),
        ("v?.*", "v1.2.0", True),
        ("v?.*", "v10.2", False),
        ("a?c", "a/c", False),
        ("v1.*", "v1x2", False),  # a dot is a dot
        ("[abc]", "a", False),  # brackets are literal
        ("[abc]", "[abc]", True),
        ("a+b", "a+b", True),
        ("(x)|y", "y", False),
        ("src/$file^", "src/$file^", True),
    ],
)
def test_a_pattern_matches_as_a_glob(pattern: str, name: str, expected: bool) -> None:
    assert github.matches([pattern], name) is expected


def test_a_name_matches_when_any_pattern_does_and_none_when_there_is_none() -> None:
    assert github.matches(["develop", "release/**", "main"], "main")
    assert not github.matches(["develop", "release/**"], "main")
    assert not github.matches([], "main")


@pytest.mark.parametrize(
    ("pattern", "name"),
    [("**/README.md", "README.md"), ("docs/**/*.md", "docs/README.md")],
)
def test_a_double_star_slash_also_matches_no_directory_as_in_github_actions(
    pattern: str, name: str
) -> None:
    assert github.matches([pattern], name)


def test_facts_of_a_push_list_its_changed_files_once_each() -> None:
    found = github.facts("push", load("push"))

    assert found.files == ["README.md", "docs/guide.md", "src/app/main.py", "src/app/old.py"]
    assert found.deleted is False


def test_facts_of_a_push_do_not_tell_files_github_may_have_left_out() -> None:
    data = load("push")
    assert github.facts("push", {**data, "created": True}).files is None
    assert github.facts("push", {**data, "forced": True}).files is None
    assert github.facts("push", {**data, "before": "0" * 40}).files is None
    assert github.facts("push", files_push(20, ["a"])).files is None
    assert github.facts("push", files_push(19, ["a"])).files == ["a"]


def test_facts_of_a_payload_missing_fields_leave_them_unset() -> None:
    data = copy.deepcopy(load("pull_request_opened"))
    del data["pull_request"]["head"]
    del data["installation"]
    data["repository"]["full_name"] = 7

    found = github.facts("pull_request", data)

    assert (found.sha, found.branch, found.installation, found.repository) == (
        None,
        None,
        None,
        None,
    )
    assert found.number == 42
    assert found.base == "main"
