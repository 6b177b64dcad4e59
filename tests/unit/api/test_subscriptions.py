"""A pipeline's subscriptions over the API: listed from both sources, made and deleted by hand,
every input checked, with problem answers that name the field."""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import testclient

from hostler import config
from hostler.api import app
from hostler.engine import runtokens
from hostler.services import pipelines
from hostler.services import runs as run_service
from hostler.services import subscriptions as subscription_service
from hostler.services.context import Context

from .conftest import PIPELINES, assert_problem, pipeline

SUBSCRIPTIONS = f"{PIPELINES}/hello/subscriptions"
EVERY = {"extension": "interval", "settings": {"every": "1m"}}


@pytest.fixture
def triggered(client: testclient.TestClient) -> None:
    """Deploy ``default/hello`` with an interval trigger and a notification ``tell``."""
    notify = {"extension": "notify", "id": "tell", "settings": {"on": ["failure"]}}
    data = pipeline(triggers=[EVERY], notifications=[notify])
    response = client.post(PIPELINES, json={"config": data})
    assert response.status_code == 201, response.text


def test_made_by_hand_it_is_listed_after_the_files_own_and_goes_when_deleted(
    client: testclient.TestClient, triggered: None
) -> None:
    made = client.post(
        SUBSCRIPTIONS,
        json={"id": "nightly", "extension": "cron", "settings": {"schedule": "0 2 * * *"}},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    created = datetime.datetime.fromisoformat(body.pop("created"))
    assert created.utcoffset() == datetime.timedelta(0)
    assert body == {
        "namespace": "default",
        "pipeline": "hello",
        "key": "nightly",
        "extension": "cron",
        "settings": {"schedule": "0 2 * * *"},
        "source": "manual",
        "version": None,
        "created_by": "anonymous",
        "missing_secrets": [],
    }
    plain = client.post(SUBSCRIPTIONS, json={"extension": "webhook"})
    assert plain.status_code == 201, plain.text
    assert (plain.json()["key"], plain.json()["settings"]) == ("webhook", {})

    listed = client.get(SUBSCRIPTIONS)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(s["key"], s["source"], s["version"]) for s in items] == [
        ("interval", "file", 1),
        ("tell", "file", 1),
        ("nightly", "manual", None),
        ("webhook", "manual", None),
    ]
    assert items[0]["created"] is None
    assert items[2]["created"] is not None

    assert client.delete(f"{SUBSCRIPTIONS}/nightly").status_code == 204
    again = client.delete(f"{SUBSCRIPTIONS}/nightly")
    assert_problem(
        again,
        404,
        "not_found",
        field="key",
        detail="subscription 'nightly' of pipeline 'default/hello': not found",
    )
    assert [s["key"] for s in client.get(SUBSCRIPTIONS).json()["items"]] == [
        "interval",
        "tell",
        "webhook",
    ]


def test_a_key_of_the_file_is_409_to_take_and_to_delete(
    client: testclient.TestClient, triggered: None
) -> None:
    taken = client.post(SUBSCRIPTIONS, json={"extension": "interval", "settings": {"every": "5m"}})
    body = assert_problem(taken, 409, "already_exists", field="id")
    assert "version 1 has that key" in body["detail"]
    assert body["hint"]
    kept = client.delete(f"{SUBSCRIPTIONS}/tell")
    body = assert_problem(kept, 409, "failed_precondition", field="key")
    assert "comes from the pipeline file" in body["detail"]
    assert "deploy" in body["hint"]


def test_a_file_taking_a_key_made_by_hand_is_409_naming_the_trigger(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    made = client.post(SUBSCRIPTIONS, json={"extension": "interval", "settings": {"every": "1m"}})
    assert made.status_code == 201, made.text
    answer = client.post(PIPELINES, json={"config": pipeline(triggers=[EVERY])})
    body = assert_problem(answer, 409, "already_exists", field="triggers[0].id")
    assert "unsubscribe" in body["hint"]
    plan = client.post(f"{PIPELINES}/hello/plan", json={"config": pipeline(triggers=[EVERY])})
    assert_problem(plan, 409, "already_exists", field="triggers[0].id")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "extension"),
        ({"extension": "webhook", "colour": "red"}, "colour"),
        ({"extension": "webhook", "settings": ["a"]}, "settings"),
        ({"extension": "webhook", "settings": "every=1m"}, "settings"),
        ({"extension": "webhook", "id": 3}, "id"),
        ({"extension": "Web Hook"}, "extension"),
        ({"extension": "webhook", "id": "Bad Id"}, "id"),
        ({"extension": "interval", "settings": {"every": "0s"}}, "settings.every"),
        ({"extension": "interval", "settings": {}}, "settings.every"),
        ({"extension": "cron", "settings": {"schedule": "soon"}}, "settings.schedule"),
        ({"extension": "cron", "settings": {"schedule": "* * * * *", "x": 1}}, "settings.x"),
    ],
)
def test_bad_bodies_are_422_naming_the_field_and_store_nothing(
    client: testclient.TestClient, hello: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    answer = client.post(SUBSCRIPTIONS, json=body)
    assert_problem(answer, 422, "invalid_argument", field=field)
    assert client.get(SUBSCRIPTIONS).json() == {"items": []}


def test_a_body_that_is_not_json_or_too_large_is_refused(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    answer = client.post(
        SUBSCRIPTIONS, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(answer, 422, "invalid_argument", field=None)
    big = {"extension": "webhook", "settings": {"x": "y" * 4096}}
    assert_problem(client.post(SUBSCRIPTIONS, json=big), 413, "too_large", field=None)


def test_a_missing_pipeline_or_namespace_is_404(client: testclient.TestClient) -> None:
    assert_problem(
        client.get(f"{PIPELINES}/nope/subscriptions"), 404, "not_found", field="pipeline"
    )
    assert_problem(
        client.post(f"{PIPELINES}/nope/subscriptions", json={"extension": "webhook"}),
        404,
        "not_found",
        field="pipeline",
    )
    assert_problem(
        client.delete("/api/v1/namespaces/nope/pipelines/hello/subscriptions/x"),
        404,
        "not_found",
        field="namespace",
    )


def test_the_subscriptions_made_by_hand_are_wanted_with_the_files(
    client: testclient.TestClient, triggered: None, ctx: Context
) -> None:
    client.post(SUBSCRIPTIONS, json={"extension": "webhook", "settings": {"n": 1}})
    assert [s.id for s in subscription_service.wanted(ctx)] == [
        "default/hello/interval",
        "default/hello/tell",
        "default/hello/webhook",
    ]


@pytest.fixture
def secure(ctx: Context, tmp_path: pathlib.Path) -> Iterator[testclient.TestClient]:
    """The API with authentication on, and run 1 of ``default/hello``."""
    system = ctx.acting_as("setup")
    pipelines.up(system, "default", pipeline())
    run_service.start(system, "default", "hello")
    with testclient.TestClient(app.create(ctx, config.Settings(data_dir=tmp_path))) as client:
        yield client


def test_a_run_token_may_not_read_or_change_its_pipelines_subscriptions(
    secure: testclient.TestClient, ctx: Context
) -> None:
    execution = ctx.store.list_executions("default", "hello", 1)[0]
    _, text = runtokens.issue(ctx.store, execution, ctx.clock())
    mine = {"Authorization": f"Bearer {text}"}
    assert_problem(secure.get(SUBSCRIPTIONS, headers=mine), 403, "permission_denied", field=None)
    made = secure.post(SUBSCRIPTIONS, json={"extension": "webhook"}, headers=mine)
    assert_problem(made, 403, "permission_denied", field=None)
    gone = secure.delete(f"{SUBSCRIPTIONS}/webhook", headers=mine)
    assert_problem(gone, 403, "permission_denied", field=None)
    assert ctx.store.list_subscriptions("default", "hello", None, 10) == []
