"""Container images built from the repository's examples, for tests and benchmarks.

``build_shellhook`` builds ``examples/extensions/shellhook``, an extension written in shell on
busybox, offline: its base image ``busybox:stable`` must be on the engine already, since nothing
is pulled. The examples are read from the checkout the package runs from (an editable install,
as ``scripts/lib/ensure-python`` makes), so these helpers work there only.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator

import docker
import docker.errors

from hostler.core import errors

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples" / "extensions"
"""The example extensions: ``examples/extensions`` at the root of the checkout."""

SHELLHOOK_REPOSITORY = "hostler-test-shellhook"
"""The repository ``build_shellhook`` tags its images in when given no tag."""


def build_shellhook(version: str, tag: str | None = None) -> str:
    """Build the example extension ``shellhook`` labelled with ``version`` and return its
    reference: ``tag``, by default ``hostler-test-shellhook:<version>``.

    Raises NotFound outside a checkout, and ``docker.errors.BuildError`` when the build fails
    (``busybox:stable`` missing from the engine, say).
    """
    context = EXAMPLES / "shellhook"
    if not (context / "Dockerfile").is_file():
        raise errors.NotFound(
            f"example 'shellhook': no Dockerfile in '{context}'",
            hint="build the examples from a checkout of Hostler, installed editable",
        )
    reference = tag or f"{SHELLHOOK_REPOSITORY}:{version}"
    client = docker.from_env()
    try:
        client.images.build(
            path=str(context),
            buildargs={"VERSION": version},
            tag=reference,
            pull=False,  # offline: FROM an image the engine has
            rm=True,
        )
    finally:
        client.close()
    return reference


def remove_image(reference: str) -> None:
    """Remove the image ``reference``, even if a container still uses it; one already gone is
    fine."""
    client = docker.from_env()
    try:
        client.images.remove(reference, force=True)
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()


@contextlib.contextmanager
def shellhooks(*versions: str, repository: str = SHELLHOOK_REPOSITORY) -> Iterator[dict[str, str]]:
    """Build ``shellhook`` in each of ``versions``, tagged ``REPOSITORY:VERSION``; yield their
    references by version, and remove them afterwards."""
    built: dict[str, str] = {}
    try:
        for version in versions:
            built[version] = build_shellhook(version, f"{repository}:{version}")
        yield built
    finally:
        for reference in built.values():
            remove_image(reference)
