"""Planning a deploy on the real server, through the real CLI: nothing changes until 'up'."""

from __future__ import annotations

import json
import pathlib

import pytest

from .conftest import Server
from .test_user_story import ok, write

pytestmark = pytest.mark.docker

FIRST = """
id: planned
tasks:
  - {id: build, image: "busybox:stable", command: ["true"], env: {TOKEN: "s3cr3t"}}
"""
SECOND = """
id: planned
parallelism: 1
tasks:
  - {id: build, image: "busybox:stable", command: ["echo", "built"], env: {TOKEN: "other"}}
  - {id: ship, image: "busybox:stable", command: ["true"], depends_on: {build: success}}
"""


def test_plan_shows_first_deploy_then_up_to_date_then_the_changes(
    server: Server, tmp_path: pathlib.Path
) -> None:
    first = write(tmp_path, "first.yaml", FIRST)
    second = write(tmp_path, "second.yaml", SECOND)

    planned = ok(server.cli("pipeline", "plan", first))
    assert planned.splitlines()[0] == "Deploy planned (first version) v1: 1 task added"
    assert server.cli("pipeline", "get", "planned").returncode != 0  # nothing was written

    ok(server.cli("pipeline", "up", first, "-y"))
    assert ok(server.cli("pipeline", "plan", first)).strip() == "Up-to-date."

    changes = ok(server.cli("pipeline", "plan", second))
    assert changes.splitlines()[0] == "Deploy planned v1 → v2: 1 task added, 1 changed, 0 removed"
    assert "command:" in changes
    assert "env.TOKEN: changed" in changes
    assert "parallelism:" in changes
    assert "s3cr3t" not in changes and "other" not in changes
    versions = json.loads(ok(server.cli("pipeline", "get", "planned", "-o", "json")))
    assert versions["live_version"] == 1
