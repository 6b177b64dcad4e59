"""The ``github`` trigger: start a run of the subscribing pipeline for GitHub webhook events.

A GitHub repository (or organization, or App) sends its webhooks to Hostler's route for the
subscription, ``POST /api/v1/extensions/github/events/NAMESPACE/PIPELINE/TRIGGER``, with the
subscription's ``secret`` as the webhook's secret and content type ``application/json`` (or
``application/x-www-form-urlencoded``, whose ``payload`` field is taken). An event goes through
these checks in this order; each refusal is a problem document and starts nothing:

- not sent to a subscription in force: 404; a method other than POST: 405;
- no ``X-Hub-Signature-256``, or one that does not match the body: 401;
- no ``X-GitHub-Event`` header, or a body that is not a JSON object: 400.

A ``ping`` (sent when the webhook is created) is answered 200 ``{"result": "pong"}``. An event
the filters leave out is answered 200 ``{"run": null, "ignored": REASON}``, so that GitHub shows
the delivery as received and says why nothing ran. The filters, as GitHub Actions' are:

- ``events``: the events that start runs (``push`` and ``pull_request`` by default);
- ``actions``: the actions of those events that carry one; by default ``opened``,
  ``synchronize`` and ``reopened`` for a pull request and ``published`` for a release, any
  for the others;
- ``branches``/``tags``: patterns of the pushed branch or tag, of a pull request's base branch,
  of a release's tag. With only ``branches`` set, tags start nothing, and the reverse; with
  neither, both do. A pushed branch or tag that was deleted starts nothing;
- ``paths``/``paths_ignore``: patterns of changed files; a push or pull request starts a run
  when a file matches ``paths`` (any, when unset) and not every matching file is in
  ``paths_ignore``. A push's files come from its commits; when GitHub left some out (twenty
  commits or more, a new branch, a forced push) the files are not known and the push starts a
  run. A pull request's files come from the GitHub API (``githubapi``); when it cannot tell
  them, the pull request starts a run too.

Patterns are globs: ``*`` is any run of characters but ``/``, ``**`` any run of characters,
``**/`` any directories or none, ``?`` one character but ``/``. The run started carries
``HOSTLER_TRIGGER=github``, ``HOSTLER_SUBSCRIPTION``, ``GITHUB_EVENT``, ``GITHUB_DELIVERY``,
``GITHUB_REPOSITORY`` (``owner/name``), ``GITHUB_CLONE_URL``, ``GITHUB_SENDER``, and when the
event has them ``GITHUB_ACTION``, ``GITHUB_REF``, ``GITHUB_SHA``, ``GITHUB_BRANCH``, ``GITHUB_TAG``,
``GITHUB_BASE_REF``, ``GITHUB_PR_NUMBER`` and ``GITHUB_INSTALLATION_ID``; ``variables`` maps
more from the payload, as the ``webhook`` trigger does. The answer is 202
``{"run": ID, "pipeline": "NAMESPACE/PIPELINE"}``.

When the admin configures a token or a GitHub App (``Admin``), the trigger reports each run it
started back to the commit (``report``): as a commit status (``pending`` then ``success``,
``failure`` or ``error``) or as a check run (``in_progress`` then ``completed``), named
``context``. It follows the runs it started, and on subscribing takes up again the runs of the
subscription that are not complete; a run that completed while the extension was down is not
reported.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import pydantic

from hostler.core import errors
from hostler.extensions import githubapi, webhook
from hostler.sdk.extension import base, contract

SIGNATURE_HEADER = "x-hub-signature-256"
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"

DEFAULT_EVENTS = ("push", "pull_request")
DEFAULT_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "pull_request": ("opened", "synchronize", "reopened"),
    "release": ("published",),
}
"""The actions that start runs when the settings name none, by event."""

PUSH_COMMITS_LIMIT = 20
"""GitHub lists at most this many commits in a push; with as many, some may be missing."""

NULL_SHA = "0" * 40

_EVENT = re.compile(r"^[a-z_]+$")

Patterns = list[pydantic.StrictStr]


class Settings(pydantic.BaseModel):
    """The settings of one GitHub subscription."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    secret: pydantic.SecretStr = pydantic.Field(
        description=f"Required. The webhook's secret, at least {webhook.MIN_SECRET} characters; "
        "write it as a secret reference such as 'secret{{GITHUB_WEBHOOK_SECRET}}'.",
        json_schema_extra={"minLength": webhook.MIN_SECRET},
    )
    events: list[pydantic.StrictStr] = pydantic.Field(
        default_factory=lambda: list(DEFAULT_EVENTS),
        min_length=1,
        description="Optional. The events that start runs, such as push, pull_request, "
        "release; '*' for every event. push and pull_request by default.",
    )
    actions: list[pydantic.StrictStr] = pydantic.Field(
        default_factory=list,
        description="Optional. The actions that start runs, for events that carry one. By "
        "default opened, synchronize and reopened for pull_request, published for release, "
        "any for the others.",
    )
    branches: Patterns = pydantic.Field(
        default_factory=list,
        description="Optional. Patterns of the pushed branch, or of a pull request's base "
        "branch, such as 'main' or 'release/**'.",
    )
    tags: Patterns = pydantic.Field(
        default_factory=list,
        description="Optional. Patterns of the pushed tag or of a release's tag, such as 'v*'.",
    )
    paths: Patterns = pydantic.Field(
        default_factory=list,
        description="Optional. Patterns of changed files, one of which must change, such as "
        "'src/**'.",
    )
    paths_ignore: Patterns = pydantic.Field(
        default_factory=list,
        description="Optional. Patterns of changed files that alone start nothing, such as "
        "'docs/**'.",
    )
    variables: dict[pydantic.StrictStr, pydantic.StrictStr] = pydantic.Field(
        default_factory=dict,
        description="Optional. More run variables to take from the payload: variable name to "
        "a dotted path into it.",
        examples=[{"TITLE": "pull_request.title"}],
    )
    report: Literal["auto", "status", "check", "none"] = pydantic.Field(
        "auto",
        description="Optional. How to report runs back to the commit: 'status' (a commit "
        "status, needs a token), 'check' (a check run, needs a GitHub App), 'none'; 'auto' "
        "is 'check' with an App, 'status' with a token, else 'none'.",
    )
    context: pydantic.StrictStr | None = pydantic.Field(
        None,
        min_length=1,
        max_length=100,
        description="Optional. The name of the status or check run; 'hostler/NAMESPACE/"
        "PIPELINE' by default.",
    )


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")  # any directories, none included: docs/**/*.md has docs/a.md
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(patterns: Iterable[str], name: str) -> bool:
    """Tell whether ``name`` matches one of the glob ``patterns`` (see the module's docstring)."""
    return any(_compiled(pattern).match(name) for pattern in patterns)


class Facts(pydantic.BaseModel):
    """What an event says, in the terms of the filters and the run variables."""

    event: str
    action: str | None = None
    repository: str | None = None
    clone_url: str | None = None
    sender: str | None = None
    ref: str | None = None
    sha: str | None = None
    branch: str | None = None
    """The pushed branch, or a pull request's head branch."""
    base: str | None = None
    """A pull request's base branch."""
    tag: str | None = None
    number: int | None = None
    installation: int | None = None
    deleted: bool = False
    files: list[str] | None = None
    """The changed files, when the payload tells them all."""

    @property
    def filtered_branch(self) -> str | None:
        """Return the branch the branch filter looks at: a pull request's base, a push's."""
        return self.base if self.event == "pull_request" else self.branch

    def variables(self, delivery: str | None) -> dict[str, str]:
        """Return the run variables of the event."""
        values: dict[str, Any] = {
            "GITHUB_EVENT": self.event,
            "GITHUB_DELIVERY": delivery,
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_CLONE_URL": self.clone_url,
            "GITHUB_SENDER": self.sender,
            "GITHUB_ACTION": self.action,
            "GITHUB_REF": self.ref,
            "GITHUB_SHA": self.sha,
            "GITHUB_BRANCH": self.branch,
            "GITHUB_TAG": self.tag,
            "GITHUB_BASE_REF": self.base,
            "GITHUB_PR_NUMBER": self.number,
            "GITHUB_INSTALLATION_ID": self.installation,
        }
        return {name: str(value) for name, value in values.items() if value is not None}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _push_files(data: Mapping[str, Any]) -> list[str] | None:
    commits = data.get("commits")
    if not isinstance(commits, list) or len(commits) >= PUSH_COMMITS_LIMIT:
        return None
    if data.get("created") or data.get("forced") or data.get("before") == NULL_SHA:
        return None  # the commits listed are not all that the push changes
    files: set[str] = set()
    for commit in commits:
        for key in ("added", "removed", "modified"):
            names = _get(commit, key)
            files.update(name for name in names or () if isinstance(name, str))
    return sorted(files)


def facts(event: str, data: Mapping[str, Any]) -> Facts:
    """Return what the payload ``data`` of ``event`` says."""
    number = data.get("number")
    installation = _get(data, "installation", "id")
    found = Facts(
        event=event,
        action=_text(data.get("action")),
        repository=_text(_get(data, "repository", "full_name")),
        clone_url=_text(_get(data, "repository", "clone_url")),
        sender=_text(_get(data, "sender", "login")),
        installation=installation if isinstance(installation, int) else None,
    )
    if event == "push":
        ref = _text(data.get("ref")) or ""
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        tag = ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else None
        return found.model_copy(
            update={
                "ref": ref or None,
                "sha": _text(data.get("after")),
                "branch": branch,
                "tag": tag,
                "deleted": bool(data.get("deleted")) or data.get("after") == NULL_SHA,
                "files": _push_files(data),
            }
        )
    if event == "pull_request":
        pr = data.get("pull_request")
        number = number if isinstance(number, int) else _get(pr, "number")
        return found.model_copy(
            update={
                "ref": f"refs/pull/{number}/head" if isinstance(number, int) else None,
                "sha": _text(_get(pr, "head", "sha")),
                "branch": _text(_get(pr, "head", "ref")),
                "base": _text(_get(pr, "base", "ref")),
                "number": number if isinstance(number, int) else None,
            }
        )
    if event == "release":
        tag = _text(_get(data, "release", "tag_name"))
        return found.model_copy(update={"tag": tag, "ref": f"refs/tags/{tag}" if tag else None})
    if event in ("create", "delete"):
        name = _text(data.get("ref"))
        kind = data.get("ref_type")
        return found.model_copy(
            update={
                "branch": name if kind == "branch" else None,
                "tag": name if kind == "tag" else None,
                "ref": (
                    f"refs/heads/{name}"
                    if kind == "branch"
                    else f"refs/tags/{name}"
                    if kind == "tag"
                    else None
                ),
            }
        )
    return found


def ignored(settings: Settings, found: Facts) -> str | None:
    """Return why the filters of ``settings`` leave out the event ``found``; None if they
    do not (the files filter is ``ignored_files``, which may need the GitHub API)."""
    if "*" not in settings.events and found.event not in settings.events:
        return f"event '{found.event}' is not one of {', '.join(settings.events)}"
    actions = settings.actions or DEFAULT_ACTIONS.get(found.event, ())
    if found.action is not None and actions and found.action not in actions:
        return (
            f"action '{found.action}' of event '{found.event}' is not one of {', '.join(actions)}"
        )
    if found.deleted:
        return f"ref '{found.ref}' was deleted"
    branch, tag = found.filtered_branch, found.tag
    if found.event in ("push", "pull_request", "release", "create"):
        filtering = settings.branches or settings.tags
        if filtering and branch is not None and not matches(settings.branches, branch):
            return f"branch '{branch}' matches no pattern of 'branches'"
        if filtering and tag is not None and not matches(settings.tags, tag):
            return f"tag '{tag}' matches no pattern of 'tags'"
    return None


def ignored_files(settings: Settings, files: Sequence[str] | None) -> str | None:
    """Return why the changed ``files`` start nothing; None when they do, or are not known."""
    if files is None or not (settings.paths or settings.paths_ignore):
        return None
    if not files:
        return "no file changed"
    wanted = [name for name in files if not settings.paths or matches(settings.paths, name)]
    if not wanted:
        return "no changed file matches 'paths'"
    if all(matches(settings.paths_ignore, name) for name in wanted):
        return "every changed file matches 'paths_ignore'"
    return None


def _decoded(event: base.Event[Settings]) -> dict[str, Any]:
    """Return the payload of ``event``: its JSON body, or the ``payload`` field of a form."""
    body = event.body
    if (event.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        body = (fields.get("payload") or [""])[0].encode()
    return webhook.payload(body)


class Admin(pydantic.BaseModel):
    """What the admin configures for reporting back to GitHub (``Trigger.Config``)."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    api_url: str = pydantic.Field(
        githubapi.API_URL,
        description="The GitHub API's URL; GitHub Enterprise's is https://HOST/api/v3.",
    )
    token: pydantic.SecretStr | None = pydantic.Field(
        None,
        description="A token that may write commit statuses (a fine-grained token with "
        "'Commit statuses: write'); runs are then reported as commit statuses.",
    )
    app_id: str | None = pydantic.Field(
        None, description="A GitHub App's id; with 'private_key', runs are reported as checks."
    )
    private_key: pydantic.SecretStr | None = pydantic.Field(
        None, description="The GitHub App's private key, PEM ('\\n' may stand for newlines)."
    )
    link: str | None = pydantic.Field(
        None,
        description="Hostler's address for people, such as https://hostler.example.com; "
        "reports link to the run there.",
    )


class Trigger(webhook.Receiver[Settings]):
    """Starts a run of the subscribing pipeline for each GitHub event its filters let through,
    and reports the run back to the commit when it can."""

    name = "github"
    version = "1.0.0"
    description = "Start a run for GitHub webhook events (push, pull_request, release…)."

    Config = Admin
    config: Admin

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.github = githubapi.Client(
            self.config.api_url,
            token=self.config.token,
            app_id=self.config.app_id,
            private_key=self.config.private_key,
        )
        self.reporter = githubapi.Reporter(self.github, self.api, self.timers, self.log)

    def describe(self, sub: base.Subscription[Settings]) -> base.Summary:
        """Return the route that takes ``sub``'s events; refuse wrong settings."""
        settings = sub.settings
        webhook.check_secret(sub, settings.secret)
        webhook.check_variables(sub, settings.variables)
        for event in settings.events:
            if event != "*" and not _EVENT.match(event):
                raise errors.InvalidArgument(
                    f"setting 'events' of {sub}: '{event}' is not an event name",
                    field="events",
                    hint="name GitHub events such as push, pull_request or release, or '*'",
                )
        mode = self.mode(settings)
        if settings.report == "status" and mode != "status":
            raise errors.InvalidArgument(
                f"setting 'report' of {sub}: commit statuses need a token",
                field="report",
                hint="ask the admin to set HOSTLER_EXTENSION_CONFIG_TOKEN, or report 'none'",
            )
        if settings.report == "check" and mode != "check":
            raise errors.InvalidArgument(
                f"setting 'report' of {sub}: check runs need a GitHub App",
                field="report",
                hint="ask the admin to set HOSTLER_EXTENSION_CONFIG_APP_ID and _PRIVATE_KEY, "
                "or report 'status' or 'none'",
            )
        events = ", ".join(settings.events)
        reports = f", reported as {mode}" if mode != "none" else ""
        return base.Summary(f"github {events} at POST {self.route(sub)}{reports}")

    def mode(self, settings: Settings) -> Literal["status", "check", "none"]:
        """Return how runs of a subscription with ``settings`` are reported."""
        if settings.report == "none":
            return "none"
        if settings.report == "auto":
            return "check" if self.github.app else "status" if self.github.token else "none"
        if settings.report == "check":
            return "check" if self.github.app else "none"
        return "status" if self.github.token or self.github.app else "none"

    def context(self, sub: base.Subscription[Settings]) -> str:
        """Return the name ``sub``'s reports go by."""
        return sub.settings.context or f"hostler/{sub.namespace}/{sub.pipeline}"

    def accept(
        self, sub: base.Subscription[Settings], event: base.Event[Settings]
    ) -> dict[str, str]:
        """Check ``event``, apply the filters and return the run variables."""
        webhook.check_method(sub, event)
        webhook.check_signature(sub, event, sub.settings.secret, SIGNATURE_HEADER)
        kind = (event.header(EVENT_HEADER) or "").strip()
        if not kind:
            raise webhook.Refused(
                webhook.refusal(
                    400,
                    "Bad request",
                    "bad_request",
                    f"{sub}: header 'X-GitHub-Event' missing",
                    hint="send GitHub webhooks here, which name their event in X-GitHub-Event",
                )
            )
        data = _decoded(event)
        if kind == "ping":
            raise webhook.Refused(contract.Answer(status=200, body={"result": "pong"}))
        found = facts(kind, data)
        why = ignored(sub.settings, found) or self._ignored_files(sub, found)
        if why is not None:
            body = {"run": None, "ignored": why}
            raise webhook.Refused(contract.Answer(status=200, body=body))
        variables = found.variables(event.header(DELIVERY_HEADER))
        variables.update(webhook.mapped(sub.settings.variables, data))
        return variables

    def _ignored_files(self, sub: base.Subscription[Settings], found: Facts) -> str | None:
        files = found.files
        wants_files = sub.settings.paths or sub.settings.paths_ignore
        if wants_files and found.event == "pull_request" and found.number is not None:
            files = self.github.pull_files(found.repository, found.number, found.installation)
        return ignored_files(sub.settings, files)

    def subscribe(self, sub: base.Subscription[Settings]) -> None:
        """Take up the reports of ``sub``'s runs that are not complete."""
        mode = self.mode(sub.settings)
        if mode != "none":
            self.reporter.follow(sub, mode, self.context(sub), self.config.link)

    def unsubscribe(self, sub: base.Subscription[Settings]) -> None:
        """Stop reporting ``sub``'s runs."""
        self.reporter.forget(sub.id)

    def started(
        self,
        sub: base.Subscription[Settings],
        run: Mapping[str, Any],
        variables: Mapping[str, str],
    ) -> None:
        """Report ``run`` as begun to its commit, and follow it to report its end."""
        if self.mode(sub.settings) != "none":
            self.reporter.watch(sub, {**run, "variables": dict(variables)})

    def on_shutdown(self) -> None:
        """Close the GitHub client."""
        self.github.close()


if __name__ == "__main__":
    Trigger.main()
