"""Objects over the API: streamed uploads and downloads, limits, eviction, expiry, run tokens."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import testclient

from hostler import config
from hostler.api import app
from hostler.core import runs, tokens
from hostler.engine import runtokens
from hostler.services import namespaces, pipelines
from hostler.services import runs as run_service
from hostler.services import tokens as token_service
from hostler.services.context import Context

from .conftest import OBJECT_LIMITS, PIPELINES, assert_problem, pipeline

OBJECTS = f"{PIPELINES}/hello/objects"


def run_objects(run: int) -> str:
    return f"{PIPELINES}/hello/runs/{run}/objects"


def files_under(root: pathlib.Path, part: str) -> list[pathlib.Path]:
    """Return the files below ``root/part`` (names, blobs, incoming uploads)."""
    return sorted(p for p in (root / part).rglob("*") if p.is_file())


def test_an_object_goes_up_and_comes_down_whole(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    content = bytes(range(256)) * 20
    put = client.put(f"{OBJECTS}/data.bin", content=content)
    assert put.status_code == 200, put.text
    stored = put.json()
    assert (stored["scope"], stored["key"], stored["size"], stored["run"]) == (
        "pipeline",
        "data.bin",
        len(content),
        None,
    )
    assert stored["created_by"] == "anonymous"
    got = client.get(f"{OBJECTS}/data.bin")
    assert got.content == content
    assert got.headers["x-hostler-digest"] == stored["digest"]
    assert got.headers["content-type"] == "application/octet-stream"
    listed = client.get(OBJECTS).json()["items"]
    assert [o["key"] for o in listed] == ["data.bin"]
    assert client.delete(f"{OBJECTS}/data.bin").status_code == 204
    assert_problem(client.get(f"{OBJECTS}/data.bin"), 404, "not_found", field="key")


def test_putting_a_key_again_replaces_its_content(
    client: testclient.TestClient, hello: dict[str, Any], settings: config.Settings
) -> None:
    client.put(f"{OBJECTS}/notes", content=b"first")
    client.put(f"{OBJECTS}/notes", content=b"second")
    assert client.get(f"{OBJECTS}/notes").content == b"second"
    assert len(files_under(settings.objects_dir, "names/objects")) == 1


def test_the_same_content_is_stored_once_whatever_its_scope(
    client: testclient.TestClient, run: dict[str, Any], settings: config.Settings
) -> None:
    content = b"the same bytes" * 100
    for url in (f"{OBJECTS}/a", f"{OBJECTS}/b", f"{run_objects(1)}/a"):
        assert client.put(url, content=content).status_code == 200
    assert len(files_under(settings.objects_dir, "blobs")) == 1
    assert len(files_under(settings.objects_dir, "names/objects")) == 3
    # the same key in the pipeline and in a run are two objects
    client.put(f"{run_objects(1)}/a", content=b"other")
    assert client.get(f"{OBJECTS}/a").content == content
    assert client.get(f"{run_objects(1)}/a").content == b"other"


def test_a_pipeline_keeps_its_newest_objects_and_says_which_it_evicted(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    keep = OBJECT_LIMITS.keep_pipeline_objects
    for n in range(keep + 1):
        assert client.put(f"{OBJECTS}/o{n}", content=f"{n}".encode()).status_code == 200
    keys = [o["key"] for o in client.get(OBJECTS).json()["items"]]
    assert keys == [f"o{n}" for n in range(1, keep + 1)]
    events = client.get(
        "/api/v1/events", params={"namespace": "default", "kind": "object.evicted"}
    ).json()["items"]
    assert [(e["kind"], e["data"]["key"]) for e in events] == [("object.evicted", "o0")]


def test_a_runs_objects_expire_once_it_is_old_enough(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    assert client.put(f"{run_objects(1)}/out", content=b"x").status_code == 200
    for _ in range(OBJECT_LIMITS.keep_runs - 1):
        client.post(f"{PIPELINES}/hello/runs", json={})
    assert client.get(f"{run_objects(1)}/out").status_code == 200
    client.post(f"{PIPELINES}/hello/runs", json={})
    assert_problem(client.get(f"{run_objects(1)}/out"), 404, "not_found", field="key")


@pytest.mark.parametrize("key", [".hidden", "a..b", "-x", "x" * 129, "sp ace"])
def test_a_bad_key_is_refused_and_stores_nothing(
    client: testclient.TestClient, hello: dict[str, Any], settings: config.Settings, key: str
) -> None:
    answer = client.put(f"{OBJECTS}/{key}", content=b"data")
    body = assert_problem(answer, 422, "invalid_argument", field="key")
    assert "'..'" in body["hint"]
    assert client.get(OBJECTS).json()["items"] == []
    assert files_under(settings.objects_dir, "blobs") == []


def test_a_key_with_a_slash_never_reaches_another_scope(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    answer = client.put(f"{OBJECTS}/..%2Fruns%2F1%2Fobjects%2Fx", content=b"data")
    assert answer.status_code in (404, 422), answer.text
    assert client.get(run_objects(1)).json()["items"] == []


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(
    client: testclient.TestClient, run: dict[str, Any], settings: config.Settings
) -> None:
    limit = OBJECT_LIMITS.max_run_object_bytes
    declared = client.put(f"{run_objects(1)}/big", content=b"x" * (limit + 1))
    assert_problem(declared, 413, "too_large", field="body")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is found while reading
        for _ in range(limit // 512 + 2):
            yield b"y" * 512

    streamed = client.put(f"{run_objects(1)}/big", content=chunks())
    body = assert_problem(streamed, 413, "too_large", field="body")
    assert "objects.max_run_object_bytes" in body["hint"]
    assert client.get(run_objects(1)).json()["items"] == []
    for part in ("blobs", "names", "incoming"):
        if (settings.objects_dir / part).exists():
            assert files_under(settings.objects_dir, part) == [], part
    # a pipeline object may be larger: each route has its own limit
    assert client.put(f"{OBJECTS}/big", content=b"x" * (limit + 1)).status_code == 200


def test_an_upload_to_a_missing_pipeline_or_run_is_refused(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    assert_problem(
        client.put(f"{PIPELINES}/ghost/objects/k", content=b"x"), 404, "not_found", field="pipeline"
    )
    assert_problem(client.put(f"{run_objects(9)}/k", content=b"x"), 404, "not_found", field="run")


# -- run tokens --------------------------------------------------------------------------------


@pytest.fixture
def secure(ctx: Context, tmp_path: pathlib.Path) -> Iterator[testclient.TestClient]:
    """The API with authentication on, and runs 1 and 2 of default/hello and of default/other."""
    system = ctx.acting_as("setup")
    namespaces.create(system, "team-b")
    for name in ("hello", "other"):
        pipelines.up(system, "default", pipeline(name))
        run_service.start(system, "default", name)
        run_service.start(system, "default", name)
    pipelines.up(system, "team-b", pipeline())
    run_service.start(system, "team-b", "hello")
    with testclient.TestClient(app.create(ctx, config.Settings(data_dir=tmp_path))) as client:
        yield client


def run_token(ctx: Context, run: int = 1) -> tuple[tokens.Token, dict[str, str]]:
    execution = ctx.store.list_executions("default", "hello", run)[0]
    token, text = runtokens.issue(ctx.store, execution, ctx.clock())
    return token, {"Authorization": f"Bearer {text}"}


def test_a_run_token_reaches_its_own_runs_objects_only(
    secure: testclient.TestClient, ctx: Context
) -> None:
    _, mine = run_token(ctx)
    own = run_objects(1)
    stored = secure.put(f"{own}/result.txt", content=b"42", headers=mine)
    assert stored.status_code == 200, stored.text
    assert stored.json()["created_by"] == "run default/hello#1"
    assert secure.get(f"{own}/result.txt", headers=mine).content == b"42"
    assert [o["key"] for o in secure.get(own, headers=mine).json()["items"]] == ["result.txt"]
    assert secure.get(f"{PIPELINES}/hello", headers=mine).status_code == 200
    assert secure.get(f"{PIPELINES}/hello/versions", headers=mine).status_code == 200
    started = secure.post(f"{PIPELINES}/other/runs", json={}, headers=mine)
    assert started.status_code == 201, started.text
    assert started.json()["trigger"] == "run:default/hello#1"

    refused = [
        ("get", f"{run_objects(2)}/result.txt"),
        ("put", f"{run_objects(2)}/x"),
        ("get", f"{PIPELINES}/other/runs/1/objects"),
        ("get", OBJECTS),
        ("put", f"{OBJECTS}/x"),
        ("get", f"{PIPELINES}/other"),
        ("get", "/api/v1/namespaces/team-b/pipelines/hello/runs/1/objects"),
        ("post", "/api/v1/namespaces/team-b/pipelines/hello/runs"),
        ("get", "/api/v1/namespaces"),
        ("get", f"{PIPELINES}/hello/secrets"),
        ("get", "/api/v1/tokens"),
        ("post", f"{PIPELINES}/hello/runs/1/cancel"),
    ]
    for method, url in refused:
        answer = secure.request(method, url, headers=mine, content=b"{}")
        assert_problem(answer, 403, "permission_denied", field=None), (method, url)


def test_a_run_token_is_refused_once_its_run_has_ended_and_goes_with_it(
    secure: testclient.TestClient, ctx: Context
) -> None:
    token, mine = run_token(ctx)
    assert secure.get(run_objects(1), headers=mine).status_code == 200
    current = ctx.store.get_run("default", "hello", 1)
    ctx.store.update_run(
        current.evolve(state=runs.State.COMPLETE, status=runs.Status.SUCCESSFUL, ended=ctx.clock()),
        current.revision,
    )
    answer = secure.get(run_objects(1), headers=mine)
    body = assert_problem(answer, 401, "unauthenticated", field=None)
    assert body["detail"] == f"token '{token.name}': its run default/hello#1 has ended"
    runtokens.revoke_run(ctx.store, "default", "hello", 1)
    assert token.id not in {t.id for t in ctx.store.list_tokens(None, 100)}
    answer = secure.get(run_objects(1), headers=mine)
    assert_problem(answer, 401, "unauthenticated", field=None, detail="token: not valid")


def test_run_tokens_are_listed_as_such_and_made_only_by_the_engine(
    secure: testclient.TestClient, ctx: Context
) -> None:
    token, _ = run_token(ctx)
    admin = token_service.create(ctx.acting_as("setup"), "root", ["admin"]).text
    listed = secure.get("/api/v1/tokens", headers={"Authorization": f"Bearer {admin}"}).json()
    run_entry = next(t for t in listed["items"] if t["id"] == token.id)
    assert run_entry["run"] == "default/hello#1"
    assert run_entry["created_by"] == "hostler"
