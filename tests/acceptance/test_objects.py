"""Objects and run tokens on the real server and Docker.

A task given a run token uploads run objects through the API (with busybox's ``nc``: the image has
no HTTP client that can PUT), a later task of the run reads them in its env and as files, another
run's task is refused that run's objects, and the token is gone once the run has ended.
"""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hostler.testing.process import ServerProcess

from . import test_secrets as secrets_test
from .test_user_story import ok, write

pytestmark = pytest.mark.docker

PRODUCE = r"""
set -e
echo "token=$HOSTLER_TOKEN"
target=${HOSTLER_URL#http://}
put() {
  size=$(wc -c < "$2")
  {
    printf 'PUT /api/v1/namespaces/%s/pipelines/%s/runs/%s/objects/%s HTTP/1.0\r\n' \
      "$HOSTLER_NAMESPACE" "$HOSTLER_PIPELINE" "$HOSTLER_RUN" "$1"
    printf 'Host: %s\r\nAuthorization: Bearer %s\r\nContent-Length: %s\r\n\r\n' \
      "$target" "$HOSTLER_TOKEN" "$size"
    cat "$2"
    sleep 5  # busybox nc half-closes at the end of its input, and the server then hangs up
  } | nc "${target%:*}" "${target#*:}" | head -n 1
}
printf 'made by run %s' "$HOSTLER_RUN" > /tmp/result.txt
put result.txt /tmp/result.txt
printf '%s' "$HOSTLER_TOKEN" > /tmp/token
put token /tmp/token
if [ "$HOSTLER_RUN" != 1 ]; then
  base="$HOSTLER_URL/api/v1/namespaces/$HOSTLER_NAMESPACE/pipelines/$HOSTLER_PIPELINE"
  if wget -q -O /dev/null --header "Authorization: Bearer $HOSTLER_TOKEN" \
      "$base/runs/1/objects/result.txt" 2>/dev/null; then
    echo "read run 1"
  else
    echo "run 1 refused"
  fi
fi
"""

CONSUME = r"""
echo "result=$RESULT"
sha256sum "$HOSTLER_OBJECTS/pipeline/data.bin" | cut -d ' ' -f 1
cat "$HOSTLER_OBJECTS/run/result.txt"; echo
"""


def pipeline_yaml() -> str:
    def block(script: str) -> str:
        return "\n".join("        " + line for line in script.strip().splitlines())

    return f"""
id: objs
tasks:
  - id: produce
    image: "busybox:stable"
    inject_api_token: true
    command:
      - sh
      - -c
      - |
{block(PRODUCE)}
  - id: consume
    image: "busybox:stable"
    depends_on: {{produce: success}}
    env:
      RESULT: "run_object{{{{result.txt}}}}"
    objects: ["pipeline_object{{{{data.bin}}}}", "run_object{{{{result.txt}}}}"]
    command:
      - sh
      - -c
      - |
{block(CONSUME)}
"""


class Server(secrets_test.Server):
    """The server with authentication on; the API as its admin or with another token."""

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        if token is None:
            return super().api(method, path, **kw)
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, f"{self.process.url}/api/v1{path}", headers=headers, **kw)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("objects")
    process = ServerProcess(
        base / "data",
        {"SERVER__HOST": "0.0.0.0", "ENGINE__POLL_INTERVAL": "0.2"},
        dev=False,
    )
    process.start()
    try:
        yield Server(process, base / "home")
    finally:
        process.stop()


def logs(server: Server, run: int, task: str) -> list[str]:
    return ok(server.cli("task", "logs", "objs", str(run), task)).splitlines()


def test_tasks_hand_each_other_objects_with_their_run_token(
    server: Server, tmp_path: pathlib.Path
) -> None:
    ok(server.cli("pipeline", "up", write(tmp_path, "objs.yaml", pipeline_yaml()), "-y"))
    data = bytes(range(256)) * 4096
    (tmp_path / "data.bin").write_bytes(data)
    ok(server.cli("object", "put", "objs", "data.bin", str(tmp_path / "data.bin")))

    ok(server.cli("run", "start", "objs", "--follow"))
    produced = logs(server, 1, "produce")
    assert produced == ["token=***", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]
    consumed = logs(server, 1, "consume")
    assert consumed == [
        "result=made by run 1",
        hashlib.sha256(data).hexdigest(),
        "made by run 1",
    ]
    got = server.api("GET", "/namespaces/default/pipelines/objs/runs/1/objects/result.txt")
    assert got.text == "made by run 1"

    # The run token worked during the run; it is gone now, and refused.
    token = server.api("GET", "/namespaces/default/pipelines/objs/runs/1/objects/token").text
    assert token.startswith("hst_")
    for text in [*produced, server.process.log.read_text()]:
        assert token not in text
    refused = server.api("GET", "/namespaces/default/pipelines/objs/runs/1/objects", token=token)
    assert refused.status_code == 401, refused.text
    listed = server.api("GET", "/tokens").json()["items"]
    assert [t for t in listed if t["run"] is not None] == []

    # Another run's token is refused the first run's objects.
    ok(server.cli("run", "start", "objs", "--follow"))
    assert logs(server, 2, "produce")[-1] == "run 1 refused"


def test_a_task_fails_before_its_container_when_an_object_is_missing(
    server: Server, tmp_path: pathlib.Path
) -> None:
    file = write(
        tmp_path,
        "needy.yaml",
        """
id: needy
tasks:
  - id: read
    image: "busybox:stable"
    objects: ["pipeline_object{{absent.txt}}"]
    env: {GREETING: "run_object{{nothing}}"}
    command: ["true"]
""",
    )
    ok(server.cli("pipeline", "up", file, "-y"))
    assert server.cli("run", "start", "needy", "--follow").returncode != 0
    task = server.api("GET", "/namespaces/default/pipelines/needy/runs/1/tasks/read").json()
    assert task["reason"]["kind"] == "object_missing"
    assert "run_object{{nothing}}" in task["reason"]["description"]
    assert "pipeline_object{{absent.txt}}" in task["reason"]["description"]
    assert task["container"] is None
