"""A fake Hostler API behind ``httpx.MockTransport``: canned answers by method and path."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import httpx

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def reply(status: int, body: Any) -> httpx.Response:
    """Return a JSON answer; a problem body when ``status`` is an error."""
    kind = "application/problem+json" if status >= 400 else "application/json"
    return httpx.Response(status, content=json.dumps(body), headers={"content-type": kind})


class FakeApi:
    """Answers requests by method and path (under /api/v1) and remembers them.

    Each route holds a list of answers used in turn; the last one is repeated.
    """

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.handle)

    def on(self, method: str, path: str, *answers: Answer | tuple[int, Any]) -> None:
        """Answer ``method path`` with ``answers`` in turn; ``(status, body)`` is JSON."""
        self.routes[(method, path)] = [
            reply(*answer) if isinstance(answer, tuple) else answer for answer in answers
        ]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/api/v1")
        answers = self.routes.get((request.method, path))
        if not answers:
            return reply(404, {"detail": f"no fake route for {request.method} {path}"})
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request) if callable(answer) else answer

    def bodies(self, method: str, path: str) -> list[Any]:
        """Return the JSON bodies sent to ``method path``."""
        return [
            json.loads(r.content)
            for r in self.requests
            if r.method == method and r.url.path == f"/api/v1{path}"
        ]

    def queries(self, method: str, path: str) -> list[httpx.QueryParams]:
        """Return the query parameters sent to ``method path``."""
        return [
            r.url.params
            for r in self.requests
            if r.method == method and r.url.path == f"/api/v1{path}"
        ]


def unused_port() -> int:
    """Return a local TCP port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
