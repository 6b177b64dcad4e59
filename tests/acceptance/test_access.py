"""Authentication on the real server, outside development mode, through the real CLI."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import subprocess
from collections.abc import Iterator

import pytest

from hostler.testing.process import HOSTLER, ServerProcess, clean_environment

from .test_user_story import ok, write

pytestmark = pytest.mark.docker

PIPELINE = 'id: hello\ntasks:\n  - {id: a, image: "busybox:stable", command: ["echo", "hi"]}\n'


class Secure:
    """A server with authentication on, and the CLI run with a given token (or none)."""

    def __init__(self, process: ServerProcess, home: pathlib.Path) -> None:
        self.process = process
        self.home = home
        self.admin = (process.data_dir / "admin-token").read_text().strip()

    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            **clean_environment(),
            "HOSTLER_URL": self.process.url,
            "XDG_CONFIG_HOME": str(self.home),
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
        if token is not None:
            env["HOSTLER_TOKEN"] = token
        return subprocess.run(
            [HOSTLER, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    base = tmp_path_factory.mktemp("secure")
    process = ServerProcess(base / "data", dev=False)
    process.start()
    try:
        yield Secure(process, base / "home")
    finally:
        process.stop()


def test_the_first_admin_token_is_in_a_private_file_and_shown_once(secure: Secure) -> None:
    path = secure.process.data_dir / "admin-token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secure.admin.startswith("hst_")
    assert secure.process.log.read_text().count(secure.admin) == 1
    assert json.loads(ok(secure.cli("whoami", "-o", "json", token=secure.admin)))["name"] == "admin"


def test_without_a_token_the_cli_says_what_to_do(secure: Secure) -> None:
    refused = secure.cli("pipeline", "list")
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == "error: request: carries no token"
    assert "Traceback" not in refused.stderr


def test_a_namespace_owner_works_in_its_namespace_only(
    secure: Secure, tmp_path: pathlib.Path
) -> None:
    admin = secure.admin
    for name in ("team-a", "team-b"):
        ok(secure.cli("namespace", "create", name, token=admin))
    made = json.loads(
        ok(
            secure.cli(
                "token",
                "create",
                "alice",
                "--role",
                "namespace-owner:team-a",
                "-o",
                "json",
                token=admin,
            )
        )
    )
    alice = made["secret"]
    ok(secure.cli("context", "add", "mine", "--url", secure.process.url, "--token", alice))
    ok(secure.cli("context", "use", "mine"))

    file = write(tmp_path, "hello.yaml", PIPELINE)
    # HOSTLER_TOKEN is not set: the token comes from the context
    ok(secure.cli("pipeline", "up", file, "-n", "team-a", "-y"))
    started = ok(secure.cli("run", "start", "hello", "-n", "team-a", "--follow"))
    assert "successful" in started

    refused = secure.cli("pipeline", "up", file, "-n", "team-b", "-y")
    assert refused.returncode == 1
    assert "alice: may not" in refused.stderr and "team-b" in refused.stderr
    listed = json.loads(ok(secure.cli("namespace", "list", "-o", "json")))
    assert [n["name"] for n in listed["items"]] == ["team-a"]
    tokens = secure.cli("token", "list")
    assert tokens.returncode == 1 and "may not read tokens" in tokens.stderr

    records = json.loads(ok(secure.cli("history", "-o", "json", token=admin)))["items"]
    assert ("version.register", "alice") in {(r["kind"], r["actor"]) for r in records}
    assert alice not in json.dumps(records)

    ok(secure.cli("token", "disable", made["token"]["id"], token=admin))
    disabled = secure.cli("pipeline", "list", "-n", "team-a")
    assert disabled.returncode == 1
    assert "token 'alice': disabled" in disabled.stderr
