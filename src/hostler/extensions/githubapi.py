"""What the ``github`` trigger asks of the GitHub API: a pull request's files, and the reports
of runs as commit statuses or check runs.

``Client`` authenticates with a token, or as a GitHub App: a JWT signed with the App's private
key (RS256) buys an installation token, kept until shortly before it expires. ``Reporter``
follows the runs the trigger started and reports each change of state to the commit, from the
extension's timers: nothing waits on GitHub while a webhook is being answered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import httpx
import jwt
import pydantic

from hostler.core import errors
from hostler.sdk import client
from hostler.sdk.extension import base, timers

API_URL = "https://api.github.com"
TIMEOUT = 10.0
POLL = datetime.timedelta(seconds=1)
"""How often the reporter looks at the runs it follows."""
MAX_FILE_PAGES = 30
"""GitHub lists at most 3,000 files of a pull request: 30 pages of 100."""
TOKEN_MARGIN = 60.0
"""Seconds before an installation token expires when it is bought again."""

Mode = Literal["status", "check"]

STATUS_STATES = {"successful": "success", "failed": "failure", "cancelled": "error"}
"""The commit status of a complete run, by the run's status."""
CHECK_CONCLUSIONS = {"successful": "success", "failed": "failure", "cancelled": "cancelled"}
"""The conclusion of a complete run's check run, by the run's status."""


class Error(Exception):
    """GitHub refused a request or could not be reached."""


class Client:
    """A client of the GitHub API, authenticated by ``token`` or as the App ``app_id``."""

    def __init__(
        self,
        url: str = API_URL,
        *,
        token: pydantic.SecretStr | None = None,
        app_id: str | None = None,
        private_key: pydantic.SecretStr | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            timeout=TIMEOUT,
            transport=transport,
            follow_redirects=True,  # a renamed repository answers 301 or 307
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "hostler",
            },
        )
        self._token = token.get_secret_value() if token else None
        self._app_id = app_id
        self._key = private_key.get_secret_value().replace("\\n", "\n") if private_key else None
        self._clock = clock
        if bool(app_id) != bool(private_key and private_key.get_secret_value()):
            missing = "PRIVATE_KEY" if app_id else "APP_ID"
            raise errors.InvalidArgument(
                f"environment variable 'HOSTLER_EXTENSION_CONFIG_{missing}': missing",
                field=f"HOSTLER_EXTENSION_CONFIG_{missing}",
                hint="a GitHub App needs both its id and its private key; set both, or neither",
            )
        self._installations: dict[int, tuple[str, float]] = {}
        self._installation_ids: dict[str, int] = {}  # by repository, for webhooks without one
        self._lock = threading.Lock()
        if self.app:
            try:
                self._jwt()
            except (ValueError, TypeError, AttributeError, jwt.PyJWTError) as exc:
                # AttributeError: a public key, which cannot sign.
                raise errors.InvalidArgument(
                    f"environment variable 'HOSTLER_EXTENSION_CONFIG_PRIVATE_KEY': not a "
                    f"private key ({type(exc).__name__})",
                    field="HOSTLER_EXTENSION_CONFIG_PRIVATE_KEY",
                    hint="set the GitHub App's private key, PEM, as GitHub gave it",
                ) from None

    @property
    def app(self) -> bool:
        """Tell whether it authenticates as a GitHub App."""
        return bool(self._app_id and self._key)

    @property
    def token(self) -> bool:
        """Tell whether it has a token."""
        return self._token is not None

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _jwt(self) -> str:
        now = int(self._clock())
        claims = {"iat": now - 60, "exp": now + 540, "iss": self._app_id}
        return jwt.encode(claims, self._key or "", algorithm="RS256")

    def _installation_token(self, installation: int) -> str:
        with self._lock:
            token, expires = self._installations.get(installation, ("", 0.0))
            if token and expires - TOKEN_MARGIN > self._clock():
                return token
        answer = self._send(
            "POST",
            f"/app/installations/{installation}/access_tokens",
            auth=f"Bearer {self._jwt()}",
        )
        token = str(answer.get("token", ""))
        expires_at = str(answer.get("expires_at", ""))
        try:
            expires = datetime.datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp()
        except ValueError:
            expires = self._clock() + 600
        with self._lock:
            self._installations[installation] = (token, expires)
        return token

    def _installation_of(self, repository: str) -> int:
        with self._lock:
            known = self._installation_ids.get(repository)
        if known is not None:
            return known
        answer = self._send(
            "GET", f"/repos/{repository}/installation", auth=f"Bearer {self._jwt()}"
        )
        found = answer.get("id")
        if not isinstance(found, int):
            raise Error(f"repository '{repository}': GitHub named no installation of the App")
        with self._lock:
            self._installation_ids[repository] = found
        return found

    def _auth(self, repository: str, installation: int | None) -> str | None:
        if self.app:
            found = installation if installation is not None else self._installation_of(repository)
            return f"Bearer {self._installation_token(found)}"
        return f"Bearer {self._token}" if self._token else None

    def _send(
        self,
        method: str,
        path: str,
        *,
        auth: str | None,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        headers = {"Authorization": auth} if auth else {}
        try:
            answer = self._http.request(method, path, headers=headers, json=json, params=params)
        except httpx.HTTPError as exc:
            raise Error(f"{method} {path}: GitHub unreachable ({type(exc).__name__})") from exc
        if answer.status_code >= 400:
            message = ""
            with contextlib.suppress(ValueError, AttributeError):
                message = str(answer.json().get("message", ""))
            raise Error(f"{method} {path}: GitHub answered {answer.status_code} {message}".strip())
        if not answer.content:
            return {}
        try:
            return answer.json()
        except ValueError:
            raise Error(
                f"{method} {path}: GitHub answered {answer.status_code} without JSON"
            ) from None

    def request(
        self,
        method: str,
        repository: str,
        path: str,
        installation: int | None,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send ``method`` to ``/repos/REPOSITORY/PATH`` and return the answer's JSON; raise
        ``Error`` when GitHub refuses or cannot be reached."""
        auth = self._auth(repository, installation)
        return self._send(
            method, f"/repos/{repository}/{path}", auth=auth, json=json, params=params
        )

    def pull_files(
        self, repository: str | None, number: int, installation: int | None
    ) -> list[str] | None:
        """Return the files pull request ``number`` changes; None when GitHub cannot tell."""
        if repository is None:
            return None
        files: list[str] = []
        try:
            for page in range(1, MAX_FILE_PAGES + 1):
                params = {"per_page": 100, "page": page}
                found = self.request(
                    "GET", repository, f"pulls/{number}/files", installation, params=params
                )
                if not isinstance(found, list):
                    return None
                files += [f["filename"] for f in found if isinstance(f, dict) and "filename" in f]
                if len(found) < 100:
                    return files
        except Error as exc:
            logging.getLogger(__name__).warning(
                "pull request files unknown", extra={"repository": repository, "error": str(exc)}
            )
            return None
        return None  # more than GitHub lists: not all are known


@dataclasses.dataclass
class Watched:
    """A run being reported: where its commit is, and what was reported of it."""

    namespace: str
    pipeline: str
    run: int
    repository: str
    sha: str
    installation: int | None
    reported: str | None = None
    """The run's state last reported (``pending``, ``running``); None before the first."""
    check: int | None = None
    """The check run's id, once created or found."""

    @classmethod
    def of(cls, run: Mapping[str, Any]) -> Watched | None:
        """Return the watch of the run ``run`` (its wire form); None when it names no commit."""
        variables = run.get("variables") or {}
        repository, sha = variables.get("GITHUB_REPOSITORY"), variables.get("GITHUB_SHA")
        installation = variables.get("GITHUB_INSTALLATION_ID")
        if not repository or not sha or not isinstance(run.get("id"), int):
            return None
        return cls(
            str(run.get("namespace", "")),
            str(run.get("pipeline", "")),
            int(run["id"]),
            repository,
            sha,
            int(installation) if installation and installation.isdigit() else None,
        )

    @property
    def name(self) -> str:
        """Return the run's name, ``NAMESPACE/PIPELINE#RUN``."""
        return f"{self.namespace}/{self.pipeline}#{self.run}"


@dataclasses.dataclass
class Following:
    """What a subscription's runs are reported as, and the runs being reported."""

    mode: Mode
    context: str
    link: str | None
    runs: dict[int, Watched] = dataclasses.field(default_factory=dict)
    taken_up: bool = False


def _iso(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class Reporter:
    """Reports the runs a subscription started to their commits, following them until they are
    complete: one timer per subscription looks at its runs every ``POLL``."""

    def __init__(
        self,
        github: Client,
        api: client.Client,
        timer: timers.Timers,
        log: logging.Logger,
    ) -> None:
        self.github = github
        self.api = api
        self.timers = timer
        self.log = log
        self._following: dict[str, Following] = {}
        self._lock = threading.Lock()

    def follow(
        self, sub: base.Subscription[Any], mode: Mode, context: str, link: str | None
    ) -> None:
        """Report the runs of ``sub`` as ``mode`` named ``context``; its first look takes up
        its runs that are not complete."""
        with self._lock:
            self._following[sub.id] = Following(mode, context, link)

        def tick() -> datetime.datetime | None:
            self.look(sub)
            return self.timers.now() + POLL if sub.id in self._following else None

        self.timers.at(sub.id, self.timers.now(), tick)

    def forget(self, subscription: str) -> None:
        """Stop reporting the runs of ``subscription``."""
        with self._lock:
            self._following.pop(subscription, None)

    def watch(self, sub: base.Subscription[Any], run: Mapping[str, Any]) -> None:
        """Report ``run``, just started by ``sub``, at once and until it is complete."""
        watched = Watched.of(run)
        with self._lock:
            following = self._following.get(sub.id)
            if watched is None or following is None:
                return
            following.runs.setdefault(watched.run, watched)

        def now() -> None:
            self.look(sub)  # does nothing once the subscription is forgotten

        # A look of its own, once: the next regular one may come after the run ended.
        self.timers.at(sub.id, self.timers.now(), now)

    def look(self, sub: base.Subscription[Any]) -> None:
        """Report what changed of the runs ``sub`` follows; drop those complete."""
        with self._lock:
            following = self._following.get(sub.id)
        if following is None:
            return
        if not following.taken_up:
            following.taken_up = self._take_up(sub, following)
        with self._lock:
            watching = list(following.runs.values())
        for watched in watching:
            try:
                run = self.api.get_run(watched.namespace, watched.pipeline, watched.run)
            except client.ApiError as exc:
                if exc.status != 404:
                    continue
                run = None  # deleted: nothing left to report
            if run is not None:
                self._report(following, watched, run)
            if run is None or watched.reported == "complete":
                with self._lock:
                    following.runs.pop(watched.run, None)

    def _take_up(self, sub: base.Subscription[Any], following: Following) -> bool:
        try:
            unfinished = list(
                self.api.iterate(
                    self.api.list_runs, sub.namespace, sub.pipeline, state=["pending", "running"]
                )
            )
        except client.ApiError as exc:
            self.log.warning(
                "runs to report unknown", extra={"subscription": sub.id, "detail": exc.detail}
            )
            return False
        for run in unfinished:
            mine = (run.get("variables") or {}).get("HOSTLER_SUBSCRIPTION") == sub.id
            watched = Watched.of(run) if mine else None
            if watched is not None:
                with self._lock:
                    following.runs.setdefault(watched.run, watched)
        return True

    def _report(self, following: Following, watched: Watched, run: Mapping[str, Any]) -> None:
        state = str(run.get("state", ""))
        if state == watched.reported:
            return
        where = {"run": watched.name, "repository": watched.repository, "sha": watched.sha}
        try:
            if following.mode == "status":
                self._status(following, watched, run)
            else:
                self._check(following, watched, run)
        except Error as exc:
            self.log.warning("run not reported", extra={**where, "error": str(exc)})
            return
        watched.reported = state
        self.log.info("run reported", extra={**where, "state": state})

    def _target(self, following: Following, watched: Watched) -> str | None:
        if not following.link:
            return None
        base_url = following.link.rstrip("/")
        return (
            f"{base_url}/api/v1/namespaces/{watched.namespace}/pipelines/{watched.pipeline}"
            f"/runs/{watched.run}"
        )

    def _status(self, following: Following, watched: Watched, run: Mapping[str, Any]) -> None:
        status = str(run.get("status", ""))
        complete = run.get("state") == "complete"
        body: dict[str, Any] = {
            "state": STATUS_STATES.get(status, "error") if complete else "pending",
            "context": following.context,
            "description": f"Run #{watched.run} " + (status if complete else str(run.get("state"))),
        }
        target = self._target(following, watched)
        if target:
            body["target_url"] = target
        self.github.request(
            "POST", watched.repository, f"statuses/{watched.sha}", watched.installation, json=body
        )

    def _check(self, following: Following, watched: Watched, run: Mapping[str, Any]) -> None:
        complete = run.get("state") == "complete"
        status = str(run.get("status", ""))
        body: dict[str, Any] = {
            "name": following.context,
            "head_sha": watched.sha,
            "external_id": watched.name,
            "status": "completed"
            if complete
            else "queued"
            if run["state"] == "pending"
            else "in_progress",
        }
        if _iso(run.get("started")):
            body["started_at"] = run["started"]
        if complete:
            body["conclusion"] = CHECK_CONCLUSIONS.get(status, "neutral")
            body["completed_at"] = (
                _iso(run.get("ended")) or datetime.datetime.now(datetime.UTC).isoformat()
            )
            reason = run.get("reason") or {}
            body["output"] = {
                "title": f"Run #{watched.run} {status}",
                "summary": str(reason.get("description") or f"Run {watched.name} {status}."),
            }
        target = self._target(following, watched)
        if target:
            body["details_url"] = target
        if watched.check is None:
            watched.check = self._find_check(following, watched)
        if watched.check is None:
            created = self.github.request(
                "POST", watched.repository, "check-runs", watched.installation, json=body
            )
            watched.check = created.get("id") if isinstance(created.get("id"), int) else None
        else:
            self.github.request(
                "PATCH",
                watched.repository,
                f"check-runs/{watched.check}",
                watched.installation,
                json=body,
            )

    def _find_check(self, following: Following, watched: Watched) -> int | None:
        """Return the id of the check run already made for ``watched`` (before a restart)."""
        if watched.reported is not None:
            return None
        found = self.github.request(
            "GET",
            watched.repository,
            f"commits/{watched.sha}/check-runs",
            watched.installation,
            params={"check_name": following.context, "filter": "all"},
        )
        for check in found.get("check_runs", []) if isinstance(found, dict) else []:
            if check.get("external_id") == watched.name and isinstance(check.get("id"), int):
                return int(check["id"])
        return None
