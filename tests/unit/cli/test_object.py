"""``hostler object``: put (from a file or stdin), get (to stdout or a file), list, delete, for a
pipeline's objects and a run's; against the real API app in-process, and against a fake server
for a download whose digest does not match."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from collections.abc import Callable, Iterator

import httpx
import pytest
import typer.testing

from hostler.cli import common, main
from hostler.cli import object as cli_object

from ..sdk.test_objects import RUN_LIMIT, serving
from .conftest import TerminalRunner, lines
from .fakeapi import FakeApi

CONTENT = bytes(range(256)) * 300
"""Binary content: every byte value, line ends and NUL among them."""
DIGEST = f"sha256:{hashlib.sha256(CONTENT).hexdigest()}"

Run = Callable[..., typer.testing.Result]


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[httpx.BaseTransport]:
    """Return a transport to the API app, with default/hello live and its run 1 started."""
    with serving(tmp_path / "data") as transport:
        yield transport


@pytest.fixture
def hostler(server: httpx.BaseTransport) -> Run:
    """Run the CLI against the API app; ``input`` (bytes) is standard input, a pipe."""
    state = common.State(transport=server)

    def run(*args: str, input: bytes | None = None) -> typer.testing.Result:
        return typer.testing.CliRunner().invoke(main.app, list(args), obj=state, input=input)

    return run


@pytest.fixture
def data_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "data.bin"
    path.write_bytes(CONTENT)
    return path


def test_put_then_get_round_trips_binary_content(hostler: Run, data_file: pathlib.Path) -> None:
    put = hostler("object", "put", "hello", "data.bin", str(data_file))
    got = hostler("object", "get", "hello", "data.bin")

    assert put.exit_code == 0, put.output
    assert put.stdout == (
        f"object 'data.bin' of pipeline 'default/hello': stored, 75.0 KiB "
        f"({len(CONTENT)} bytes), {DIGEST}\n"
    )
    assert got.exit_code == 0, got.output
    assert got.stdout_bytes == CONTENT


def test_get_output_writes_the_file_whole_and_leaves_no_temporary_file(
    hostler: Run, data_file: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    hostler("object", "put", "hello", "data.bin", str(data_file))
    out = tmp_path / "out"
    out.mkdir()
    target = out / "copy.bin"

    got = hostler("object", "get", "hello", "data.bin", "--file", str(target))

    assert got.exit_code == 0, got.output
    assert target.read_bytes() == CONTENT
    assert os.listdir(out) == ["copy.bin"]
    assert got.stdout == (
        f"object 'data.bin' of pipeline 'default/hello': written to '{target}', 75.0 KiB "
        f"({len(CONTENT)} bytes), {DIGEST}\n"
    )


def test_get_output_keeps_the_mode_of_a_file_it_replaces(
    hostler: Run, data_file: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    hostler("object", "put", "hello", "data.bin", str(data_file))
    target = tmp_path / "copy.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)

    got = hostler("object", "get", "hello", "data.bin", "--file", str(target))

    assert got.exit_code == 0, got.output
    assert target.read_bytes() == CONTENT
    assert target.stat().st_mode & 0o777 == 0o640


def test_get_of_a_missing_object_leaves_the_output_file_alone(
    hostler: Run, tmp_path: pathlib.Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / "copy.bin"
    target.write_bytes(b"old")

    got = hostler("object", "get", "hello", "nothing", "--file", str(target))

    assert got.exit_code == 1
    assert got.stderr.startswith("error: ")
    assert "Traceback" not in got.output
    assert target.read_bytes() == b"old"
    assert os.listdir(out) == ["copy.bin"]


def test_run_objects_are_put_listed_and_got_with_run(hostler: Run, tmp_path: pathlib.Path) -> None:
    report = tmp_path / "report.txt"
    report.write_bytes(b"passed\r\n" * 200)
    digest = f"sha256:{hashlib.sha256(report.read_bytes()).hexdigest()}"

    put = hostler("object", "put", "hello", "report.txt", str(report), "--run", "1")
    of_pipeline = hostler("object", "list", "hello")
    of_run = hostler("object", "list", "hello", "--run", "1")
    got = hostler("object", "get", "hello", "report.txt", "--run", "1")

    assert put.exit_code == 0, put.output
    assert put.stdout == (
        f"object 'report.txt' of run 'default/hello#1': stored, 1.6 KiB (1600 bytes), {digest}\n"
    )
    assert lines(of_pipeline.stdout)[2:] == []
    assert lines(of_run.stdout)[2].split()[:4] == ["report.txt", "1.6", "KiB", f"{digest[:19]}…"]
    assert got.stdout_bytes == report.read_bytes()


def test_list_shows_a_table_and_json_with_o_json(hostler: Run) -> None:
    hostler("object", "put", "hello", "b.txt", "-", input=b"bee\n")
    hostler("object", "put", "hello", "a.txt", "-", input=b"a" * 2048)

    table = hostler("object", "list", "hello")
    as_json = hostler("object", "list", "hello", "-o", "json")

    assert table.exit_code == 0, table.output
    rows = lines(table.stdout)
    assert rows[0].split() == ["KEY", "SIZE", "DIGEST", "CREATED", "CREATED", "BY"]
    assert [row.split()[:3] for row in rows[2:]] == [["a.txt", "2.0", "KiB"], ["b.txt", "4", "B"]]
    assert all(row.split()[-1] == "anonymous" for row in rows[2:])
    page = json.loads(as_json.stdout)
    assert [o["key"] for o in page["items"]] == ["a.txt", "b.txt"]
    bee = hashlib.sha256(b"bee\n").hexdigest()
    assert page["items"][1]["digest"] == f"sha256:{bee}"
    assert page["next_cursor"] is None


def test_list_all_walks_every_page(hostler: Run) -> None:
    for key in ("a", "b", "c"):
        hostler("object", "put", "hello", key, "-", input=key.encode())

    one_page = hostler("object", "list", "hello", "--limit", "2")
    every = hostler("object", "list", "hello", "--limit", "2", "--all", "-o", "json")

    assert "more: add --cursor" in one_page.stdout
    assert [o["key"] for o in json.loads(every.stdout)["items"]] == ["a", "b", "c"]


def test_put_reads_standard_input_for_dash(hostler: Run) -> None:
    put = hostler("object", "put", "hello", "piped", "-", "-o", "json", input=CONTENT)
    got = hostler("object", "get", "hello", "piped")

    assert put.exit_code == 0, put.output
    answer = json.loads(put.stdout)
    assert (answer["key"], answer["size"], answer["digest"]) == ("piped", len(CONTENT), DIGEST)
    assert got.stdout_bytes == CONTENT


def test_put_refuses_standard_input_on_a_terminal(server: httpx.BaseTransport) -> None:
    state = common.State(transport=server)
    done = TerminalRunner().invoke(
        main.app, ["object", "put", "hello", "data", "-"], obj=state, input=""
    )

    assert done.exit_code == 1
    assert "error: standard input is a terminal, not the content to upload" in done.stderr


def test_put_of_a_missing_file_is_an_error(hostler: Run, tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "missing.bin"

    done = hostler("object", "put", "hello", "data", str(missing))

    assert done.exit_code == 1
    assert done.stderr == f"error: file '{missing}': cannot be read (No such file or directory)\n"


def test_a_bad_key_is_a_clear_error_before_anything_is_sent(
    api: FakeApi, data_file: pathlib.Path
) -> None:
    state = common.State(transport=api.transport)

    done = typer.testing.CliRunner().invoke(
        main.app, ["object", "put", "hello", "../etc", str(data_file)], obj=state
    )

    assert done.exit_code == 1
    assert lines(done.stderr) == [
        "error: object key '../etc': not a valid key",
        "hint: use 1 to 128 letters, digits, '_', '-' or '.', starting with a letter, digit or "
        "'_', without '/' or '..'",
    ]
    assert api.requests == []


def test_content_over_the_run_limit_is_refused_with_the_setting_to_raise(hostler: Run) -> None:
    done = hostler("object", "put", "hello", "big", "-", "--run", "1", input=b"x" * (RUN_LIMIT + 1))
    listed = hostler("object", "list", "hello", "--run", "1", "-o", "json")

    assert done.exit_code == 1
    assert lines(done.stderr) == [
        f"error: object 'big': larger than the limit of {RUN_LIMIT} bytes (field 'body')",
        "hint: send less, or raise objects.max_run_object_bytes in the server's configuration",
    ]
    assert json.loads(listed.stdout)["items"] == []


def test_delete_removes_the_object_once_confirmed_with_yes(hostler: Run) -> None:
    hostler("object", "put", "hello", "data", "-", "--run", "1", input=b"x")

    refused = hostler("object", "delete", "hello", "data", "--run", "1")
    deleted = hostler("object", "delete", "hello", "data", "--run", "1", "--yes")
    again = hostler("object", "delete", "hello", "data", "--run", "1", "--yes")

    assert refused.exit_code == 1
    assert "not deleting it without confirmation" in refused.stderr
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout == "object 'data' of run 'default/hello#1': deleted\n"
    assert again.exit_code == 1
    assert again.stderr.startswith("error: ")


def test_namespace_option_chooses_the_namespace(api: FakeApi) -> None:
    state = common.State(transport=api.transport)
    path = "/namespaces/team-a/pipelines/web/runs/2/objects"
    api.on("GET", path, (200, {"items": [], "next_cursor": None}))

    done = typer.testing.CliRunner().invoke(
        main.app, ["object", "list", "web", "--run", "2", "-n", "team-a"], obj=state
    )

    assert done.exit_code == 0, done.output
    assert len(api.queries("GET", path)) == 1


def damaged_download(request: httpx.Request) -> httpx.Response:
    """A download whose content is not what its digest says."""
    return httpx.Response(200, content=b"damaged", headers={"X-Hostler-Digest": DIGEST})


def test_get_output_with_a_digest_mismatch_fails_and_leaves_the_file_alone(
    api: FakeApi, tmp_path: pathlib.Path
) -> None:
    api.on("GET", "/namespaces/default/pipelines/hello/objects/data", damaged_download)
    state = common.State(transport=api.transport)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "copy.bin"
    target.write_bytes(b"old")

    done = typer.testing.CliRunner().invoke(
        main.app, ["object", "get", "hello", "data", "--file", str(target)], obj=state
    )

    assert done.exit_code == 1
    assert f"but the server announced {DIGEST}" in done.stderr
    assert "hint: download it again" in done.stderr
    assert target.read_bytes() == b"old"
    assert os.listdir(out) == ["copy.bin"]


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (200 * 1024**2, "200.0 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (5 * 1024**5, "5120.0 TiB"),
    ],
)
def test_human_size_uses_binary_units(size: int, shown: str) -> None:
    assert cli_object.human_size(size) == shown
