"""The SDK's object methods: against the real API app in-process (dev mode, a SQLite store and a
file object store), and against fakes for what a sound server never does (a damaged download)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import pathlib
import warnings
from collections.abc import Iterator

import httpx
import pytest
from starlette import exceptions as starlette_exceptions

from hostler import config
from hostler.api import app
from hostler.logs import files as log_files
from hostler.objects import files as object_files
from hostler.sdk import client
from hostler.sdk import objects as sdk_objects
from hostler.services import context
from hostler.storage import database
from hostler.storage import store as sql_store

# As in tests/unit/api/conftest.py: Starlette warns that its TestClient wants httpx2.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", starlette_exceptions.StarletteDeprecationWarning)
    from fastapi import testclient

RUN_LIMIT = 4096
"""The server's ``objects.max_run_object_bytes`` in these tests: small, to pass it cheaply."""
PIPELINE = {"id": "hello", "tasks": [{"id": "a", "image": "busybox:stable", "command": ["true"]}]}
CONTENT = bytes(range(256)) * 10_000 + b"\r\n\x00end"
"""Every byte value, over two chunks of the SDK."""


class AppTransport(httpx.BaseTransport):
    """Sends each request to the API app through a Starlette test client."""

    def __init__(self, test_client: testclient.TestClient) -> None:
        self._client = test_client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self._client.send(request)
        return response


@contextlib.contextmanager
def serving(data_dir: pathlib.Path, *, run_limit: int = RUN_LIMIT) -> Iterator[httpx.BaseTransport]:
    """Serve the API app in development mode over a fresh data directory, with the pipeline
    ``default/hello`` live and its run 1 started; yield a transport to it for the SDK's client.

    No engine runs: the run stays pending, which is all its objects need.
    """
    settings = config.Settings(data_dir=data_dir, dev=True)
    database.migrate(settings.database_url)
    store = sql_store.Store(database.connect(settings.database_url))
    content = object_files.Store(settings.objects_dir)
    ctx = context.Context(
        store=store,
        logs=log_files.Store(settings.logs_dir, content),
        objects=content,
        limits=context.Limits(max_run_object_bytes=run_limit),
    )
    try:
        with testclient.TestClient(app.create(ctx, settings)) as test_client:
            transport = AppTransport(test_client)
            with client.Client("http://hostler.test", "", transport=transport) as api:
                api.up_pipeline("default", PIPELINE)
                api.start_run("default", "hello")
            yield transport
    finally:
        store.close()


@pytest.fixture
def api(tmp_path: pathlib.Path) -> Iterator[client.Client]:
    """Return a client of the API app (see ``serving``)."""
    with (
        serving(tmp_path / "data") as transport,
        client.Client("http://hostler.test", "", transport=transport) as api,
    ):
        yield api


def digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


class Unseekable(io.RawIOBase):
    """A binary stream that cannot tell its size, as a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


# -- against the API app -----------------------------------------------------------------------


def test_put_then_get_round_trips_binary_content_from_a_path(
    api: client.Client, tmp_path: pathlib.Path
) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(CONTENT)

    stored = api.put_object("default", "hello", "data.bin", source)
    target = io.BytesIO()
    got = api.get_object("default", "hello", "data.bin", target)

    assert target.getvalue() == CONTENT
    assert stored["digest"] == got["digest"] == digest(CONTENT)
    assert stored["size"] == got["size"] == len(CONTENT)
    assert stored["scope"] == "pipeline"
    assert stored["run"] is None
    assert got == {
        "namespace": "default",
        "pipeline": "hello",
        "run": None,
        "key": "data.bin",
        "digest": digest(CONTENT),
        "size": len(CONTENT),
    }


def test_put_reads_a_file_object_from_where_it_stands(api: client.Client) -> None:
    source = io.BytesIO(b"skip:keep")
    source.seek(5)

    stored = api.put_object("default", "hello", "data", source)

    assert stored["size"] == 4
    target = io.BytesIO()
    api.get_object("default", "hello", "data", target)
    assert target.getvalue() == b"keep"


def test_put_replaces_the_object_of_the_same_key(api: client.Client) -> None:
    api.put_object("default", "hello", "data", io.BytesIO(b"first"))
    api.put_object("default", "hello", "data", io.BytesIO(b"second"))

    target = io.BytesIO()
    api.get_object("default", "hello", "data", target)

    assert target.getvalue() == b"second"
    assert [o["key"] for o in api.list_objects("default", "hello")["items"]] == ["data"]


def test_run_objects_are_apart_from_the_pipeline_objects(api: client.Client) -> None:
    api.put_object("default", "hello", "report.txt", io.BytesIO(b"of the run"), run=1)
    api.put_object("default", "hello", "report.txt", io.BytesIO(b"of the pipeline"))

    of_run, of_pipeline = io.BytesIO(), io.BytesIO()
    api.get_object("default", "hello", "report.txt", of_run, run=1)
    api.get_object("default", "hello", "report.txt", of_pipeline)

    assert of_run.getvalue() == b"of the run"
    assert of_pipeline.getvalue() == b"of the pipeline"
    [listed] = api.list_objects("default", "hello", run=1)["items"]
    assert (listed["scope"], listed["run"], listed["key"]) == ("run", 1, "report.txt")


def test_list_objects_pages_by_key_and_iterate_walks_them_all(api: client.Client) -> None:
    for key in ("c", "a", "b"):
        api.put_object("default", "hello", key, io.BytesIO(key.encode()))

    first = api.list_objects("default", "hello", limit=2)
    every = list(api.iterate(api.list_objects, "default", "hello", limit=2))

    assert [o["key"] for o in first["items"]] == ["a", "b"]
    assert first["next_cursor"]
    assert [o["key"] for o in every] == ["a", "b", "c"]


def test_delete_object_removes_it(api: client.Client) -> None:
    api.put_object("default", "hello", "data", io.BytesIO(b"x"), run=1)

    api.delete_object("default", "hello", "data", run=1)

    assert api.list_objects("default", "hello", run=1)["items"] == []
    target = io.BytesIO()
    with pytest.raises(client.ApiError) as caught:
        api.get_object("default", "hello", "data", target, run=1)
    assert (caught.value.status, caught.value.code) == (404, "not_found")
    assert target.getvalue() == b""


def test_a_bad_key_is_refused_with_the_field_and_a_hint(api: client.Client) -> None:
    with pytest.raises(client.ApiError) as caught:
        api.put_object("default", "hello", ".hidden", io.BytesIO(b"x"))

    assert (caught.value.status, caught.value.code, caught.value.field) == (
        422,
        "invalid_argument",
        "key",
    )
    assert "'.hidden'" in caught.value.detail
    assert caught.value.hint


@pytest.mark.parametrize(
    "source",
    [io.BytesIO(b"x" * (RUN_LIMIT + 1)), Unseekable(b"x" * (RUN_LIMIT + 1))],
    ids=["size declared", "size unknown"],
)
def test_content_over_the_run_limit_is_refused_and_not_stored(
    api: client.Client, source: io.IOBase
) -> None:
    with pytest.raises(client.ApiError) as caught:
        api.put_object("default", "hello", "big", source, run=1)  # type: ignore[arg-type]

    assert (caught.value.status, caught.value.code) == (413, "too_large")
    assert f"{RUN_LIMIT} bytes" in caught.value.detail
    assert caught.value.hint is not None
    assert "objects.max_run_object_bytes" in caught.value.hint
    assert api.list_objects("default", "hello", run=1)["items"] == []


def test_content_at_the_run_limit_is_stored(api: client.Client) -> None:
    stored = api.put_object("default", "hello", "big", io.BytesIO(b"x" * RUN_LIMIT), run=1)

    assert stored["size"] == RUN_LIMIT


def test_an_object_of_a_missing_run_is_not_found(api: client.Client) -> None:
    with pytest.raises(client.ApiError) as caught:
        api.put_object("default", "hello", "data", io.BytesIO(b"x"), run=9)

    assert caught.value.status == 404


# -- against fakes -------------------------------------------------------------------------------


class Recording(httpx.BaseTransport):
    """Answers every upload with an object, keeping the chunks of its body as they came."""

    def __init__(self) -> None:
        self.headers: list[httpx.Headers] = []
        self.chunks: list[list[bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        chunks = list(request.stream)  # type: ignore[arg-type]
        self.chunks.append(chunks)
        data = b"".join(chunks)
        return httpx.Response(200, json={"key": "data", "digest": digest(data), "size": len(data)})


def test_put_sends_a_file_in_chunks_and_declares_its_size(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(CONTENT)
    recording = Recording()

    with client.Client("http://hostler.test", transport=recording) as api:
        api.put_object("team-a", "web", "data.bin", source, run=3)

    [headers] = recording.headers
    [chunks] = recording.chunks
    assert headers["content-length"] == str(len(CONTENT))
    assert headers["content-type"] == "application/octet-stream"
    assert "transfer-encoding" not in headers
    assert len(chunks) == 3
    assert all(len(chunk) <= sdk_objects.CHUNK_BYTES for chunk in chunks)
    assert b"".join(chunks) == CONTENT


def test_put_of_a_stream_of_unknown_size_is_sent_chunked() -> None:
    recording = Recording()

    with client.Client("http://hostler.test", transport=recording) as api:
        api.put_object("default", "hello", "data", Unseekable(b"piped"))  # type: ignore[arg-type]

    [headers] = recording.headers
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert b"".join(recording.chunks[0]) == b"piped"


def test_put_quotes_the_key_in_the_path() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(422, json={"detail": "bad key", "code": "invalid_argument"})

    with (
        client.Client("http://hostler.test", transport=httpx.MockTransport(answer)) as api,
        pytest.raises(client.ApiError),
    ):
        api.put_object("default", "hello", "a/b c", io.BytesIO(b"x"), run=2)

    assert seen == ["/api/v1/namespaces/default/pipelines/hello/runs/2/objects/a%2Fb%20c"]


def serve_download(body: bytes, headers: dict[str, str]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers=headers)

    return httpx.MockTransport(answer)


def test_get_raises_digest_mismatch_for_content_that_is_not_what_was_announced() -> None:
    announced = digest(b"the real content")
    transport = serve_download(b"damaged content!", {"X-Hostler-Digest": announced})
    target = io.BytesIO()

    with (
        client.Client("http://hostler.test", transport=transport) as api,
        pytest.raises(client.DigestMismatch) as caught,
    ):
        api.get_object("default", "hello", "data", target)

    mismatch = caught.value
    assert isinstance(mismatch, client.ApiError)
    assert mismatch.code == "digest_mismatch"
    assert mismatch.expected == announced
    assert mismatch.actual == digest(b"damaged content!")
    assert "default/hello:data" in mismatch.detail
    assert announced in mismatch.detail


def test_get_checks_the_etag_when_the_digest_header_is_missing() -> None:
    body = b"content"
    good = serve_download(body, {"ETag": f'"{digest(body)}"'})
    bad = serve_download(body, {"ETag": f'"{digest(b"other")}"'})

    with client.Client("http://hostler.test", transport=good) as api:
        assert api.get_object("default", "hello", "data", io.BytesIO())["digest"] == digest(body)
    with (
        client.Client("http://hostler.test", transport=bad) as api,
        pytest.raises(client.DigestMismatch),
    ):
        api.get_object("default", "hello", "data", io.BytesIO())


def test_get_refuses_a_download_that_announces_no_digest() -> None:
    transport = serve_download(b"content", {"ETag": 'W/"weak"'})

    with (
        client.Client("http://hostler.test", transport=transport) as api,
        pytest.raises(client.ApiError) as caught,
    ):
        api.get_object("default", "hello", "data", io.BytesIO())

    assert caught.value.code == "internal"
    assert "without the object's digest" in caught.value.detail


class Broken(httpx.SyncByteStream):
    """A body that breaks off after its first chunk."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"first"
        raise httpx.ReadError("connection reset by peer")


def test_get_says_how_far_a_download_came_when_it_breaks_off() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Broken(), headers={"X-Hostler-Digest": digest(b"x")})

    with (
        client.Client("http://hostler.test", transport=httpx.MockTransport(answer)) as api,
        pytest.raises(client.ApiError) as caught,
    ):
        api.get_object("default", "hello", "data", io.BytesIO(), run=4)

    assert (caught.value.status, caught.value.code) == (0, "unavailable")
    assert caught.value.detail == (
        "object 'default/hello#4:data': the download broke off after 5 bytes "
        "(connection reset by peer)"
    )
