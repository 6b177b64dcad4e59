"""The contract served over HTTP with the standard library, so that the SDK needs no web framework.

``Server`` answers the routes of ``contract.ROUTES`` for one extension on a
``ThreadingHTTPServer``: it checks the bearer key (in constant time; ``health`` is open),
parses and validates bodies, and answers every error as a problem document. It speaks HTTP/1.0,
one request per connection, so that stopping waits only for requests in flight, never for an
idle kept-alive connection. ``run`` serves until ``POST /api/shutdown``, SIGTERM or SIGINT, then
answers the requests in flight and closes the extension.

``serve`` and ``main`` build the extension from the environment and run it; ``main`` is the
process's entry point, with exit status 2 when the environment is wrong.
"""

from __future__ import annotations

import contextlib
import hmac
import http
import http.server
import json
import logging
import os
import signal
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pydantic

from hostler.core import errors
from hostler.sdk.extension import contract, logs, problems

if TYPE_CHECKING:
    from hostler.sdk.extension import base

_log = logging.getLogger(__name__)

EXIT_MISCONFIGURED = 2
"""The exit status of ``main`` when the environment is wrong: restarting will not help."""

_ROUTES: dict[str, dict[str, contract.Route]] = {}
for _route in contract.ROUTES:
    _ROUTES.setdefault(_route.path, {})[_route.method] = _route

_DRAIN = 1 << 20
"""Bytes over the limit read from a refused body, so that its sender sees the answer."""

_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


class _Refusal(Exception):
    """A request the server refuses before the extension sees it; carries the answer."""

    def __init__(self, problem: contract.Problem, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.headers = dict(headers or {})


def _refusal(status: int, detail: str, hint: str | None = None, **headers: str) -> _Refusal:
    phrase = http.HTTPStatus(status).phrase
    title = phrase[:1] + phrase[1:].lower()  # "Not found", as the Hostler API writes titles
    code = _CODES.get(status, "http_error")
    return _Refusal(problems.problem(status, title, detail, code, hint=hint), headers)


class _HTTPServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server whose ``server_close`` waits for the requests in flight."""

    daemon_threads = False
    block_on_close = True
    app: Server

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log an error of the connection (the client went away) instead of printing it."""
        _log.warning("connection failed", exc_info=True, extra={"client": str(client_address)})


class _HTTPServer6(_HTTPServer):
    """The same, listening on an IPv6 address."""

    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"
    server_version = "hostler-extension"
    timeout = 30  # seconds a client may take to send its request

    def version_string(self) -> str:
        """Return the Server header: the SDK, not Python's version."""
        return self.server_version

    def do_GET(self) -> None:
        self.server.app.dispatch(self)

    # http.server finds a method's handler by the name do_<METHOD>; every method is routed the
    # same way, so that one the contract does not use is answered 405, not 501.
    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET  # noqa: N815

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        _log.debug(
            "request answered",
            # A request line too long to parse leaves no path.
            extra={"method": self.command, "path": getattr(self, "path", ""), "status": str(code)},
        )

    def log_message(self, format: str, *args: Any) -> None:
        _log.warning("request failed", extra={"reason": format % args})

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a request the standard library could not parse with a problem document."""
        self.close_connection = True
        refused = _refusal(code, f"request: {message or http.HTTPStatus(code).phrase}")
        self.answer(code, refused.problem, contract.PROBLEM_MEDIA_TYPE)

    def answer(
        self,
        status: int,
        body: pydantic.BaseModel,
        media_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send ``body`` as the JSON answer with ``status``."""
        data = body.model_dump_json().encode()
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class Server:
    """Serves the contract for ``extension`` on ``host:port`` (port 0: any free one).

    Every request but ``health`` must carry ``Authorization: Bearer <key>``. The socket is bound
    on construction, so ``url`` is known before ``run``. Used as a context manager, the server
    runs on a background thread and stops on exit (tests and embedding do that).
    """

    def __init__(
        self, extension: base.Extension[Any], *, key: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if not key:
            raise errors.InvalidArgument(
                "extension server: the key is empty",
                field="key",
                hint="set HOSTLER_EXTENSION_SYSTEM_KEY to a random string",
            )
        self.extension = extension
        self.info = extension.info()
        self._key = key.encode()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._operations: dict[str, Callable[[Any], pydantic.BaseModel]] = {
            "info": lambda _: self.info,
            "health": lambda _: self._health(),
            "subscribe": extension.handle_subscribe,
            "unsubscribe": extension.handle_unsubscribe,
            "external_event": extension.handle_event,
            "shutdown": lambda _: self._shutdown(),
        }
        listener = _HTTPServer6 if ":" in host else _HTTPServer
        self._httpd = listener((host, port), _Handler)
        self._httpd.app = self

    @property
    def url(self) -> str:
        """Return the base URL the server listens on, ``http://127.0.0.1:8090``."""
        host, port = self._httpd.server_address[:2]
        shown = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}"

    def request_stop(self) -> None:
        """Make ``run`` stop: it answers the requests in flight, then closes the extension."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Return once the server has stopped (True), or after ``timeout`` seconds (False)."""
        return self._stopped.wait(timeout)

    def run(self) -> None:
        """Serve until asked to stop, then answer the requests in flight and close the extension.

        On the main thread, SIGTERM and SIGINT ask it to stop too.
        """
        serving = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon shutdown() is noticed
            name="extension-http",
            daemon=True,
        )
        serving.start()
        log = self.extension.log
        log.info("extension listening", extra={"url": self.url, "version": self.info.version})
        try:
            with _signals(self.request_stop):
                while not self._stop.wait(0.5):
                    pass  # waking up now and then lets signal handlers run
        finally:
            self._httpd.shutdown()
            serving.join()
            self._httpd.server_close()  # waits for the requests in flight
            try:
                self.extension.close()
            finally:
                self._stopped.set()
                log.info("extension stopped")

    def __enter__(self) -> Server:
        self._thread = threading.Thread(target=self.run, name="extension", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join()

    def dispatch(self, request: _Handler) -> None:
        """Answer one request: route, key, body, the extension's work, errors as problems."""
        try:
            route = self._route(request)
            if not route.public:
                self._authenticate(request)
            body = self._body(request, route)
            result = self._operations[route.operation](body)
        except _Refusal as refused:
            request.answer(
                refused.problem.status,
                refused.problem,
                contract.PROBLEM_MEDIA_TYPE,
                refused.headers,
            )
            return
        except errors.HostlerError as exc:
            found = problems.of(exc)
            if found.status >= 500 and found.status != 503:
                _log.error("request failed", exc_info=exc, extra={"path": request.path})
            request.answer(found.status, found, contract.PROBLEM_MEDIA_TYPE)
            return
        except Exception:
            _log.exception("request failed with an unexpected error", extra={"path": request.path})
            failed = problems.problem(
                500,
                "Internal error",
                f"extension '{self.info.name}': internal error",
                "internal",
                hint="this is a bug in the extension; its log has the details",
            )
            request.answer(500, failed, contract.PROBLEM_MEDIA_TYPE)
            return
        request.answer(200, result)

    def _route(self, request: _Handler) -> contract.Route:
        path = urllib.parse.urlsplit(request.path).path
        where = f"{request.command} {path}"
        methods = _ROUTES.get(path)
        if methods is None:
            raise _refusal(
                404,
                f"route '{where}': not found",
                hint="docs/extensions/contract.json lists the routes of the contract",
            )
        route = methods.get(request.command)
        if route is None:
            raise _refusal(405, f"route '{where}': method not allowed", Allow=", ".join(methods))
        return route

    def _authenticate(self, request: _Handler) -> None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), self._key):
            return
        title = "Unauthenticated"
        refused = problems.problem(
            401,
            title,
            "request: no valid key",
            "unauthenticated",
            hint="send 'Authorization: Bearer <key>', the key of HOSTLER_EXTENSION_SYSTEM_KEY",
        )
        raise _Refusal(refused, {"WWW-Authenticate": "Bearer"})

    def _body(self, request: _Handler, route: contract.Route) -> pydantic.BaseModel | None:
        if route.request is None:
            return None
        try:
            length = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise _refusal(400, "request: header 'Content-Length' is not a byte count")
        limit = self.extension.max_request_bytes
        if length > limit:
            # Read what was sent of a body not far over the limit, so that closing the
            # connection does not reset it before the client reads the answer.
            request.rfile.read(min(length, limit + _DRAIN))
            raise _refusal(
                413,
                f"request body: {length} bytes, over the limit of {limit}",
                hint="send a smaller body",
            )
        raw = request.rfile.read(length) if length else b""
        try:
            data = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise _refusal(
                400,
                f"request body: not JSON ({exc})",
                hint="send a JSON object with 'Content-Type: application/json'",
            ) from None
        try:
            return route.request.model_validate(data)
        except pydantic.ValidationError as exc:
            found = exc.errors()
            field = problems.field_path(found[0]["loc"]) or None
            what = problems.what(found[0])
            detail = f"field '{field}': {what}" if field else f"request body: {what}"
            if len(found) > 1:
                detail += f" (and {len(found) - 1} more)"
            raise errors.InvalidArgument(detail, field=field) from None

    def _health(self) -> contract.Health:
        try:
            healthy = self.extension.health()
        except Exception:
            _log.exception("health check failed")
            healthy = False
        if not healthy:
            raise errors.Unavailable(
                f"extension '{self.info.name}': unhealthy",
                hint="the extension's log says why",
            )
        return contract.Health()

    def _shutdown(self) -> contract.Stopping:
        self.request_stop()
        return contract.Stopping()


@contextlib.contextmanager
def _signals(stop: Callable[[], None]) -> Iterator[None]:
    """Make SIGTERM and SIGINT call ``stop`` while in the block, on the main thread only (the
    only thread that may set signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda *_: stop()) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def from_environ(cls: type[base.Extension[Any]], environ: Mapping[str, str]) -> Server:
    """Return a server of ``cls`` configured by ``environ`` (``HOSTLER_EXTENSION_SYSTEM_*`` and
    ``HOSTLER_EXTENSION_CONFIG_*``), bound and ready to ``run``."""
    extension = cls.from_environ(environ)
    system = extension.system
    try:
        return Server(
            extension, key=system.key.get_secret_value(), host=system.host, port=system.port
        )
    except BaseException:
        extension.api.close()
        raise


def serve(cls: type[base.Extension[Any]], environ: Mapping[str, str] | None = None) -> None:
    """Serve ``cls`` configured by ``environ`` (the process's environment) until it is stopped."""
    from_environ(cls, os.environ if environ is None else environ).run()


def main(cls: type[base.Extension[Any]]) -> None:
    """Serve ``cls`` as the process's entry point, logging JSON lines to standard error.

    Exits with status 2 (``EXIT_MISCONFIGURED``) when the environment or the class is wrong, and
    1 when the address cannot be listened on.
    """
    logs.configure()
    try:
        server = from_environ(cls, os.environ)
    except errors.HostlerError as exc:
        _log.error(
            "extension cannot start",
            extra={"extension": cls.__qualname__, "detail": exc.message, "hint": exc.hint},
        )
        sys.exit(EXIT_MISCONFIGURED)
    except OSError as exc:
        _log.error(
            "extension cannot listen",
            extra={"extension": cls.__qualname__, "detail": str(exc)},
        )
        sys.exit(1)
    server.run()
