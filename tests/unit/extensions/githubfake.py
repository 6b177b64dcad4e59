"""Stand-ins for what the ``github`` trigger talks to, and the webhook payloads GitHub sends.

``load(NAME)`` returns a payload of the ``github/`` directory beside this module, each as GitHub
sends it (trimmed of most ``*_url`` fields, the shape kept): ``push`` (a branch push of two
commits that add, modify and remove files, delivered to a GitHub App so it carries
``installation``), ``push_tag`` (tag ``v1.2.0`` created), ``push_deleted`` (a branch deleted),
``pull_request_opened`` and ``pull_request_closed`` (pull request #42, App deliveries),
``release_published`` (a repository webhook: no ``installation``), ``ping`` and
``issues_opened``.

``GitHub`` is a real HTTP server on 127.0.0.1 that answers the part of the GitHub REST API the
trigger uses, checking credentials as GitHub does, and records every request. ``Runs`` is the
part of the Hostler API the trigger uses (start, list and get runs), over
``httpx.MockTransport``, whose runs a test moves from pending to running to complete.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import itertools
import json
import pathlib
import re
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx
import jwt

from hostler.sdk import client

FIXTURES = pathlib.Path(__file__).parent / "github"
HOSTLER_URL = "http://hostler.invalid"


def load(name: str) -> dict[str, Any]:
    """Return the webhook payload ``github/NAME.json`` (a fresh copy each time)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def stamp(instant: datetime.datetime) -> str:
    """Return ``instant`` as GitHub and Hostler write a timestamp."""
    return (
        instant.astimezone(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Request:
    """A request GitHub received: ``headers`` have lower-case names; ``body`` is the decoded
    JSON (None without one)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any

    @property
    def auth(self) -> str | None:
        """Return the Authorization header."""
        return self.headers.get("authorization")


@dataclasses.dataclass
class Failure:
    """How GitHub answers the requests whose path contains ``path`` (and of ``method``):
    ``status`` with a JSON message, or, with ``status`` 0, no answer at all (the connection is
    dropped); ``html`` answers 200 with an HTML page instead. ``times`` None: until healed."""

    path: str
    status: int
    method: str | None
    times: int | None
    html: bool = False


@dataclasses.dataclass
class _Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    raw: bytes | None = None
    drop: bool = False


_REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"
_ROUTES = [
    ("POST", re.compile(r"^/app/installations/(?P<installation>\d+)/access_tokens$"), "token"),
    ("GET", re.compile(rf"^{_REPO}/installation$"), "installation"),
    ("POST", re.compile(rf"^{_REPO}/statuses/(?P<sha>[0-9a-f]{{40}})$"), "status"),
    ("POST", re.compile(rf"^{_REPO}/check-runs$"), "create_check"),
    ("PATCH", re.compile(rf"^{_REPO}/check-runs/(?P<check>\d+)$"), "update_check"),
    ("GET", re.compile(rf"^{_REPO}/commits/(?P<ref>[^/]+)/check-runs$"), "list_checks"),
    ("GET", re.compile(rf"^{_REPO}/pulls/(?P<number>\d+)/files$"), "files"),
]
STATUS_STATES = {"error", "failure", "pending", "success"}
CHECK_STATUSES = {"queued", "in_progress", "completed"}
CHECK_CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
}


class GitHub:
    """A stand-in for the GitHub REST API, served over HTTP on 127.0.0.1.

    It accepts the personal access ``token``, and, when it knows the App (``app_id`` and its
    ``public_key``), installation tokens it sold to a Bearer JWT of the App that it verified
    (RS256, ``iss``, ``iat``, ``exp`` at most ten minutes after ``iat``). Repository
    endpoints answer 401 to unknown credentials; writes need some, and check runs an
    installation token (403 to a personal token), as on GitHub. ``installation`` is the
    App's installation on every repository; its tokens live ``token_lifetime``. ``files``
    holds pull requests' files by (repository, number); ``renamed`` maps a repository's old
    name to its new one, whose requests are redirected (301 for GET, 307 for the others).
    ``fail`` makes requests fail, ``heal`` ends it.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        app_id: str | None = None,
        public_key: str | None = None,
        installation: int = 2311213,
        token_lifetime: datetime.timedelta = datetime.timedelta(hours=1),
    ) -> None:
        self.token = token
        self.app_id = app_id
        self.public_key = public_key
        self.installation = installation
        self.token_lifetime = token_lifetime
        self.requests: list[Request] = []
        self.statuses: list[dict[str, Any]] = []
        self.checks: dict[int, dict[str, Any]] = {}
        self.files: dict[tuple[str, int], list[str]] = {}
        self.renamed: dict[str, str] = {}
        self.sold: dict[str, int] = {}
        self._failures: list[Failure] = []
        self._ids = itertools.count(4_000_000_001)
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve(self)

            def do_PATCH(self) -> None:
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()

    # -- what tests ask --------------------------------------------------------------------

    def fail(
        self,
        path: str,
        status: int = 500,
        *,
        method: str | None = None,
        times: int | None = None,
        html: bool = False,
    ) -> None:
        """Make the requests whose path contains ``path`` fail (see ``Failure``)."""
        with self._lock:
            self._failures.append(Failure(path, status, method, times, html))

    def heal(self) -> None:
        """Answer every request normally again."""
        with self._lock:
            self._failures.clear()

    def sent(self, method: str | None = None, path: str = "") -> list[Request]:
        """Return the requests received of ``method`` whose path contains ``path``."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and path in r.path
            ]

    # -- serving ---------------------------------------------------------------------------

    def _serve(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        request = Request(
            method=handler.command,
            path=url.path,
            query=dict(urllib.parse.parse_qsl(url.query)),
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=json.loads(raw) if raw else None,
        )
        with self._lock:
            self.requests.append(request)
            answer = self._failed(request) or self._route(request)
        if answer.drop:
            handler.close_connection = True
            return
        data = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        handler.send_response(answer.status)
        content_type = "text/html" if answer.raw is not None else "application/json"
        handler.send_header("Content-Type", f"{content_type}; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _failed(self, request: Request) -> _Answer | None:
        for failure in self._failures:
            if failure.path not in request.path:
                continue
            if failure.method is not None and failure.method != request.method:
                continue
            if failure.times is not None:
                if failure.times <= 0:
                    continue
                failure.times -= 1
            if failure.html:
                return _Answer(200, raw=b"<html><body>Sign in to the proxy</body></html>")
            if failure.status == 0:
                return _Answer(0, drop=True)
            return _message(failure.status, "Server Error")
        return None

    def _route(self, request: Request) -> _Answer:
        moved = re.match(_REPO, request.path)
        if moved and moved["repo"] in self.renamed:
            new = request.path.replace(moved["repo"], self.renamed[moved["repo"]], 1)
            status = 301 if request.method == "GET" else 307
            location = self.url + new
            body = {"message": "Moved Permanently", "url": location}
            return _Answer(status, body, headers={"Location": location})
        for method, pattern, name in _ROUTES:
            found = pattern.match(request.path)
            if found:
                if method != request.method:
                    return _message(404, "Not Found")
                answer: _Answer = getattr(self, f"_{name}")(request, **found.groupdict())
                return answer
        return _message(404, "Not Found")

    def _app(self, request: Request) -> _Answer | None:
        """Refuse ``request`` unless a JWT of the App authenticates it."""
        given = (request.auth or "").removeprefix("Bearer ")
        if not self.app_id or not self.public_key:
            return _message(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                given,
                self.public_key,
                algorithms=["RS256"],
                issuer=self.app_id,
                options={"require": ["exp", "iat", "iss"]},
            )
        except jwt.PyJWTError:
            return _message(401, "A JSON web token could not be decoded")
        if claims["exp"] - claims["iat"] > 600:
            return _message(401, "'Expiration time' claim ('exp') is too far in the future")
        return None

    def _user(self, request: Request, *, write: bool, check: bool = False) -> _Answer | None:
        """Refuse ``request`` unless its credentials may do it."""
        auth = request.auth
        if auth is None:
            return _message(401, "Requires authentication") if write else None
        given = auth.removeprefix("Bearer ")
        if given in self.sold:
            return None
        if self.token is not None and given == self.token:
            if check:
                return _message(403, "You must authenticate via a GitHub App.")
            return None
        return _message(401, "Bad credentials")

    def _token(self, request: Request, installation: str) -> _Answer:
        refused = self._app(request)
        if refused:
            return refused
        if int(installation) != self.installation:
            return _message(404, "Not Found")
        token = f"ghs_{next(self._tokens):036d}"
        self.sold[token] = int(installation)
        expires = stamp(_now() + self.token_lifetime)
        body = {
            "token": token,
            "expires_at": expires,
            "permissions": {"checks": "write", "statuses": "write", "pull_requests": "read"},
            "repository_selection": "all",
        }
        return _Answer(201, body)

    def _installation(self, request: Request, repo: str) -> _Answer:
        refused = self._app(request)
        if refused:
            return refused
        owner = repo.split("/")[0]
        body = {
            "id": self.installation,
            "account": {"login": owner, "id": 6811672, "type": "Organization"},
            "app_id": int(self.app_id or 0),
            "target_type": "Organization",
            "repository_selection": "all",
        }
        return _Answer(200, body)

    def _status(self, request: Request, repo: str, sha: str) -> _Answer:
        refused = self._user(request, write=True)
        if refused:
            return refused
        body = request.body or {}
        if body.get("state") not in STATUS_STATES:
            return _message(422, "Validation Failed")
        status = {
            "id": next(self._ids),
            "repository": repo,
            "sha": sha,
            "state": body["state"],
            "context": body.get("context", "default"),
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "created_at": stamp(_now()),
        }
        self.statuses.append(status)
        return _Answer(201, status)

    def _create_check(self, request: Request, repo: str) -> _Answer:
        refused = self._user(request, write=True, check=True)
        if refused:
            return refused
        body = dict(request.body or {})
        if not body.get("name") or not body.get("head_sha"):
            return _message(422, "Invalid request")
        check = {"id": next(self._ids), "repository": repo, "conclusion": None, **body}
        return self._checked(check)

    def _update_check(self, request: Request, repo: str, check: str) -> _Answer:
        refused = self._user(request, write=True, check=True)
        if refused:
            return refused
        found = self.checks.get(int(check))
        if found is None or found["repository"] != repo:
            return _message(404, "Not Found")
        return self._checked({**found, **(request.body or {})}, status=200)

    def _checked(self, check: dict[str, Any], status: int = 201) -> _Answer:
        check.setdefault("status", "queued")
        if check["status"] not in CHECK_STATUSES:
            return _message(422, "Invalid request")
        if check["status"] == "completed" and check.get("conclusion") not in CHECK_CONCLUSIONS:
            return _message(422, "Invalid request: 'conclusion' wasn't supplied.")
        self.checks[check["id"]] = check
        return _Answer(status, check)

    def _list_checks(self, request: Request, repo: str, ref: str) -> _Answer:
        refused = self._user(request, write=False)
        if refused:
            return refused
        name = request.query.get("check_name")
        found = [
            c
            for c in self.checks.values()
            if c["repository"] == repo
            and c["head_sha"] == ref
            and (name is None or c["name"] == name)
        ]
        return _Answer(200, {"total_count": len(found), "check_runs": found})

    def _files(self, request: Request, repo: str, number: str) -> _Answer:
        refused = self._user(request, write=False)
        if refused:
            return refused
        per_page = min(int(request.query.get("per_page", "30")), 100)
        page = int(request.query.get("page", "1"))
        names = self.files.get((repo, int(number)), [])
        body = [
            {
                "sha": f"{i:040x}",
                "filename": name,
                "status": "modified",
                "additions": 3,
                "deletions": 1,
                "changes": 4,
                "patch": "@@ -1 +1,3 @@",
            }
            for i, name in enumerate(names[(page - 1) * per_page : page * per_page])
        ]
        return _Answer(200, body)


def _message(status: int, message: str) -> _Answer:
    docs = "https://docs.github.com/rest"
    return _Answer(status, {"message": message, "documentation_url": docs, "status": str(status)})


class Runs:
    """A stand-in for the Hostler API's runs, over ``httpx.MockTransport``.

    A run the trigger starts is recorded in ``started`` and created pending; ``add`` creates
    one as if an earlier instance had started it. ``running`` and ``complete`` change a run, as
    the engine would; ``delete`` removes it. Runs list newest first, filtered by ``state``; while
    ``unreachable`` no request gets through.
    """

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.started: list[dict[str, Any]] = []
        self.gets = 0
        self.unreachable = False
        self._lock = threading.Lock()

    def client(self) -> client.Client:
        """Return a client of this API, as an extension gets one."""
        return client.Client(HOSTLER_URL, transport=httpx.MockTransport(self.answer))

    def add(
        self,
        variables: Mapping[str, str],
        *,
        state: str = "pending",
        namespace: str = "default",
        pipeline: str = "hello",
    ) -> dict[str, Any]:
        """Create a run of ``namespace/pipeline`` in ``state``; return it."""
        with self._lock:
            return dict(self._add(namespace, pipeline, dict(variables), state))

    def get(
        self, run: int, *, namespace: str = "default", pipeline: str = "hello"
    ) -> dict[str, Any]:
        """Return run ``run`` as kept (a live dict)."""
        return next(r for r in self.runs[namespace, pipeline] if r["id"] == run)

    def running(self, run: int, *, namespace: str = "default", pipeline: str = "hello") -> None:
        """Make run ``run`` running."""
        with self._lock:
            self.get(run, namespace=namespace, pipeline=pipeline).update(
                state="running", started=stamp(_now())
            )

    def complete(
        self,
        run: int,
        status: str,
        *,
        reason: str | None = None,
        namespace: str = "default",
        pipeline: str = "hello",
    ) -> None:
        """End run ``run`` with ``status`` (successful, failed, cancelled)."""
        with self._lock:
            found = self.get(run, namespace=namespace, pipeline=pipeline)
            found.update(state="complete", status=status, ended=stamp(_now()))
            found["started"] = found["started"] or found["ended"]
            if reason is not None:
                found["reason"] = {"kind": "task_failed", "description": reason}

    def delete(self, run: int, *, namespace: str = "default", pipeline: str = "hello") -> None:
        """Remove run ``run``."""
        with self._lock:
            found = self.get(run, namespace=namespace, pipeline=pipeline)
            self.runs[namespace, pipeline].remove(found)

    def _add(
        self, namespace: str, pipeline: str, variables: dict[str, str], state: str
    ) -> dict[str, Any]:
        runs = self.runs.setdefault((namespace, pipeline), [])
        now = stamp(_now())
        run: dict[str, Any] = {
            "namespace": namespace,
            "pipeline": pipeline,
            "id": len(runs) + 1,
            "version": 1,
            "state": state,
            "status": "unknown",
            "reason": None,
            "variables": variables,
            "trigger": "extension:github",
            "created": now,
            "started": now if state != "pending" else None,
            "ended": None,
            "cancel_requested": False,
            "logs_deleted": None,
            "route": "live",
        }
        runs.append(run)
        return run

    def answer(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` as the Hostler API would."""
        if self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        # /api/v1/namespaces/NS/pipelines/P/runs[/ID]
        parts = request.url.path.split("/")
        if len(parts) not in (8, 9) or parts[7] != "runs":
            return _problem(404, "not_found", "no such route")
        namespace, pipeline = parts[4], parts[6]
        with self._lock:
            runs = self.runs.setdefault((namespace, pipeline), [])
            if len(parts) == 9:
                self.gets += 1
                found = [r for r in runs if str(r["id"]) == parts[8]]
                if request.method != "GET" or not found:
                    return _problem(404, "not_found", f"run '{namespace}/{pipeline}#{parts[8]}'")
                return httpx.Response(200, json=found[0])
            if request.method == "GET":
                states = request.url.params.get_list("state")
                listed = [r for r in reversed(runs) if not states or r["state"] in states]
                return httpx.Response(200, json={"items": listed, "next_cursor": None})
            variables = json.loads(request.content)["variables"]
            run = self._add(namespace, pipeline, variables, "pending")
            self.started.append(dict(run))
            return httpx.Response(201, json=run)


def _problem(status: int, code: str, detail: str) -> httpx.Response:
    return httpx.Response(status, json={"status": status, "code": code, "detail": detail})
