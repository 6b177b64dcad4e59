"""``hostler object``: a pipeline's objects and a run's (``--run N``): put from a file or stdin,
get to stdout or a file, list, delete. Content is streamed both ways, never held whole."""

from __future__ import annotations

import contextlib
import os
import pathlib
import sys
import tempfile
from collections.abc import Callable
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import RenderableType

from hostler.cli import common, output
from hostler.cli.pipeline import short_digest
from hostler.core import objects as core_objects
from hostler.sdk import client as sdk

app = typer.Typer(
    help="Objects: files a pipeline keeps, and files the tasks of one run hand each other "
    "(--run N). Tasks read them as pipeline_object{{KEY}} and run_object{{KEY}}, in their env "
    "or as files; the same content is stored once."
)

PipelineId = Annotated[str, typer.Argument(help="Identifier of the pipeline.", show_default=False)]
Key = Annotated[
    str,
    typer.Argument(
        help="Key of the object: 1 to 128 letters, digits, '_', '-' or '.', e.g. report.txt.",
        show_default=False,
    ),
]
Run = Annotated[
    int | None,
    typer.Option(
        "--run",
        min=1,
        metavar="N",
        help="An object of run N of the pipeline, instead of one of the pipeline's own.",
        show_default=False,
    ),
]

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_size(size: int | None) -> str | None:
    """Return a size in bytes for people: ``512 B``, ``1.5 KiB``, ``200.0 MiB``."""
    if size is None:
        return None
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            break
    return f"{value:.1f} {unit}"


def ref(namespace: str, pipeline: str, run: int | None, key: str) -> str:
    """Return an object written for people: ``object 'data' of pipeline 'default/hello'`` or
    ``object 'report.txt' of run 'default/hello#4'``."""
    if run is None:
        return f"object '{key}' of pipeline '{namespace}/{pipeline}'"
    return f"object '{key}' of run '{namespace}/{pipeline}#{run}'"


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["KEY", "SIZE", "DIGEST", "CREATED", "CREATED BY"],
        (
            [
                o.get("key"),
                human_size(o.get("size")),
                short_digest(o.get("digest")),
                output.when(o.get("created")),
                o.get("created_by"),
            ]
            for o in items
        ),
    )


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _source(file: pathlib.Path) -> contextlib.AbstractContextManager[BinaryIO]:
    """Return what ``put`` uploads: ``file`` opened, or standard input (left open) for ``-``."""
    if str(file) == "-":
        if sys.stdin.isatty():
            raise common.Failure(
                "standard input is a terminal, not the content to upload",
                hint="pipe it in (... | hostler object put PIPELINE KEY -), or give a file",
            )
        return contextlib.nullcontext(sys.stdin.buffer)
    try:
        return file.open("rb")
    except OSError as exc:
        raise common.Failure(f"file '{file}': cannot be read ({_reason(exc)})") from None


@app.command()
@common.handles_errors
def put(
    ctx: typer.Context,
    pipeline: PipelineId,
    key: Key,
    file: Annotated[
        pathlib.Path,
        typer.Argument(
            metavar="FILE",
            help="The file to upload; '-' reads standard input.",
            show_default=False,
        ),
    ],
    run: Run = None,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Store FILE as the object KEY of PIPELINE (or of its run --run N), replacing it.

    The content is streamed: a file of any size takes little memory.
    Prints the object's size and digest (sha256 of the content).
    Example: tar c build | hostler object put hello build.tar - --run 4
    """
    core_objects.check_key(key)
    name = ref(namespace, pipeline, run, key)
    with _source(file) as source, common.client(ctx) as api:
        try:
            answer = api.put_object(namespace, pipeline, key, source, run=run)
        except OSError as exc:
            # The network's errors arrive as ApiError: an OSError here is the source's.
            where = "standard input" if str(file) == "-" else f"file '{file}'"
            raise common.Failure(f"{where}: cannot be read ({_reason(exc)})") from None
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
        return
    size = answer.get("size")
    output.say(f"{name}: stored, {human_size(size)} ({size} bytes), {answer.get('digest')}")


@app.command()
@common.handles_errors
def get(
    ctx: typer.Context,
    pipeline: PipelineId,
    key: Key,
    run: Run = None,
    namespace: common.Namespace = "default",
    target: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--file",
            metavar="FILE",
            help="Write the content to FILE instead of standard output ('-'). FILE appears "
            "whole, once the digest is checked, or is left as it was.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the object KEY of PIPELINE (or of its run --run N) to stdout, or to a file (--file).

    The digest of the content is checked as it arrives; a mismatch is an error (exit status 1).
    Standard output gets the content as it arrives, so a mismatch there comes after it.
    """
    core_objects.check_key(key)
    with common.client(ctx) as api:
        if target is None or str(target) == "-":
            sys.stdout.flush()
            api.get_object(namespace, pipeline, key, sys.stdout.buffer, run=run)
            sys.stdout.buffer.flush()
            return
        answer = _download_to(
            target, lambda file: api.get_object(namespace, pipeline, key, file, run=run)
        )
    size = answer.get("size")
    output.say(
        f"{ref(namespace, pipeline, run, key)}: written to '{target}', {human_size(size)} "
        f"({size} bytes), {answer.get('digest')}"
    )


def _download_to(target: pathlib.Path, download: Callable[[BinaryIO], sdk.Json]) -> sdk.Json:
    """Run ``download`` into a temporary file beside ``target``, then rename it to ``target``;
    on any failure remove the temporary file and leave ``target`` as it was."""
    directory = target.parent
    try:
        mode = target.stat().st_mode & 0o7777 if target.exists() else _default_mode()
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=directory
        )
    except OSError as exc:
        raise common.Failure(f"file '{target}': cannot be written ({_reason(exc)})") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            answer = download(file)
            file.flush()
            os.fsync(file.fileno())
            os.fchmod(file.fileno(), mode)
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise common.Failure(f"file '{target}': cannot be written ({_reason(exc)})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return answer


def _default_mode() -> int:
    """Return the mode a new file gets here: 0o666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@app.command("list")
@common.handles_errors
def list_(
    ctx: typer.Context,
    pipeline: PipelineId,
    run: Run = None,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List the objects of PIPELINE (or of its run --run N) by key: never their content."""
    with common.client(ctx) as api:
        page = common.page(
            api,
            api.list_objects,
            namespace,
            pipeline,
            run=run,
            limit=limit,
            cursor=cursor,
            every=every,
        )
    output.show_page(page, fmt, _table)


@app.command()
@common.handles_errors
def delete(
    ctx: typer.Context,
    pipeline: PipelineId,
    key: Key,
    run: Run = None,
    namespace: common.Namespace = "default",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking for confirmation.")
    ] = False,
) -> None:
    """Delete the object KEY of PIPELINE (or of its run --run N).

    Tasks that refer to it fail before they start from now on.
    """
    core_objects.check_key(key)
    name = ref(namespace, pipeline, run, key)
    if not yes and not common.confirm(
        f"Delete {name}? Tasks that refer to it will fail.",
        refused=f"{name}: not deleting it without confirmation",
        hint="add --yes to delete it without asking",
        declined="Nothing deleted.",
    ):
        return
    with common.client(ctx) as api:
        api.delete_object(namespace, pipeline, key, run=run)
    output.say(f"{name}: deleted")
