"""The ``notify`` notifier: send a message by webhook or by email when a pipeline's runs call for
it.

The extension follows the subscribing pipeline's runs (``follow.Follower``, every ``POLL``
seconds) and sends a message when the condition ``when`` holds:

- ``finished``: a run completes, whatever its status;
- ``failed`` (the default): a run ends failed;
- ``failures_in_row``: a run ends failed and is the ``count``-th failed run in a row among the
  newest complete runs: once when the row reaches ``count``, not for the runs that make it
  longer, and again once a run that did not fail (successful or cancelled) has broken it;
- ``duration``: a run takes longer than ``duration``: once per run, while it is still running if
  a poll sees it past the limit, else when it completes;
- ``success_rate``: after a run completes, fewer than ``threshold`` percent of the newest
  ``window`` complete runs are successful: once when the rate drops below, not again while it
  stays there, and again after it has come back up. Fewer than ``window`` complete runs are not
  judged.

A message goes to the ``webhook`` (``slack``: Slack's ``{"text": ...}`` plus the facts under
``hostler``; ``json``: the facts alone), to the ``email`` addresses (through the admin's SMTP
server, ``HOSTLER_EXTENSION_CONFIG_SMTP_*``), or both. Its first line is ``NS/PIPELINE #ID
STATUS``; it tells the condition in words, the run's duration, trigger and reason, and a link
to the run when the admin set ``link``. The facts are ``namespace``, ``pipeline``, ``run``,
``status`` (``running`` for a run not complete yet), ``condition``, ``duration_seconds``,
``trigger``, ``reason`` and ``url``. A webhook is tried up to three times when it cannot be
reached or answers 5xx; a message that cannot be sent is logged (never with the password, nor
with more of the webhook's URL than its host), and following goes on.

**No state.** What the extension knows starts at the baseline of the first poll after a
subscription arrives: the runs complete then, and the runs running past ``duration`` then, are
not told, and whether the success rate is below ``threshold`` then is taken as already said. So
a restart (or changed settings) sends again nothing that was due before; messages of runs that
completed while the extension was not running are not sent at all.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.message
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import httpx
import pydantic

from hostler.core import durations, errors
from hostler.extensions import follow
from hostler.sdk import client
from hostler.sdk.extension import base, contract, timers

When = Literal["finished", "failed", "failures_in_row", "duration", "success_rate"]
"""The conditions a subscription can be told about."""

PARAMETERS: Mapping[str, When] = {
    "count": "failures_in_row",
    "duration": "duration",
    "window": "success_rate",
    "threshold": "success_rate",
}
"""The settings that tune one condition, and which."""

_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")


class Webhook(pydantic.BaseModel):
    """Where and how to post a message."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    url: pydantic.StrictStr = pydantic.Field(
        description="Required. The http(s) URL to post the message to; write one that holds a "
        "key as a secret reference such as 'secret{{SLACK_WEBHOOK}}'.",
    )
    format: Literal["slack", "json"] = pydantic.Field(
        "slack",
        description="Optional. 'slack' (the default): Slack's {\"text\": ...} plus the facts "
        "under 'hostler'; 'json': the facts alone.",
    )
    headers: dict[pydantic.StrictStr, pydantic.StrictStr] = pydantic.Field(
        default={}, description="Optional. Headers to send with the message."
    )


class Email(pydantic.BaseModel):
    """Whom to email a message to."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    to: list[pydantic.StrictStr] = pydantic.Field(
        min_length=1, description="Required. The addresses to send the message to."
    )
    subject: pydantic.StrictStr = pydantic.Field(
        "",
        pattern=r"^[^\r\n]*$",
        description="Optional. A fixed prefix of the subject, such as '[CI]'.",
    )


class Settings(pydantic.BaseModel):
    """The settings of one notify subscription."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    when: When = pydantic.Field(
        "failed",
        description="Optional. When to send a message: finished, failed (the default), "
        "failures_in_row, duration or success_rate.",
    )
    count: pydantic.StrictInt = pydantic.Field(
        3, ge=2, description="Optional, for failures_in_row. How many failed runs in a row."
    )
    # Any: ``describe`` checks it with ``hostler.core.durations``, so that a refusal names
    # 'settings.duration' and not a member of a union.
    duration: Any = pydantic.Field(
        None,
        description="Required for duration, and only for it. How long a run may take: seconds, "
        "or a duration such as '10m' or '1h30m'.",
        examples=["10m", 600],
        json_schema_extra={"type": ["number", "string"]},
    )
    window: pydantic.StrictInt = pydantic.Field(
        10,
        ge=2,
        le=follow.WINDOW,
        description="Optional, for success_rate. Over how many of the newest complete runs.",
    )
    threshold: float = pydantic.Field(
        80,
        strict=True,
        gt=0,
        le=100,
        description="Optional, for success_rate. The percentage of successful runs below which "
        "to send a message.",
    )
    webhook: Webhook | None = pydantic.Field(
        None, description="Optional. A webhook to post the message to; webhook, email or both."
    )
    email: Email | None = pydantic.Field(
        None, description="Optional. Addresses to email the message to; webhook, email or both."
    )


class Config(pydantic.BaseModel):
    """The admin's configuration of the notify extension."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    smtp_host: str | None = pydantic.Field(
        None, description="The SMTP server that sends emails; without it, email is refused."
    )
    smtp_port: int = pydantic.Field(25, description="The port of the SMTP server.")
    smtp_username: str | None = pydantic.Field(
        None, description="The user to log in to the SMTP server as; none: no login."
    )
    smtp_password: pydantic.SecretStr = pydantic.Field(
        pydantic.SecretStr(""), description="The password of the SMTP user."
    )
    smtp_from: str = pydantic.Field(
        "hostler@localhost", description="The sender address of the emails."
    )
    smtp_starttls: bool = pydantic.Field(
        False, description="Whether to switch the SMTP connection to TLS (STARTTLS)."
    )
    link: str | None = pydantic.Field(
        None,
        description="The URL people reach Hostler at, such as 'https://hostler.example.com'; "
        "when set, messages link to the run.",
    )


_Config = Config  # the class attribute ``Notifier.Config`` hides the name in the class body


@dataclasses.dataclass(frozen=True)
class Notice:
    """A message due: the run it is about, the condition that holds in words, and how long the
    run took (or has been running), in seconds, when it is known."""

    run: follow.Run
    condition: str
    seconds: float | None


def spoken(seconds: float) -> str:
    """Return ``seconds`` as people read a duration: ``12m 5s``."""
    whole = round(seconds)
    return re.sub(r"(?<=[a-z])(?=\d)", " ", durations.format(whole)) if whole else "0s"


def percent(value: float) -> str:
    """Return ``value`` with at most one decimal: ``60``, ``66.7``."""
    return f"{value:.1f}".removesuffix(".0")


def _instant(text: object) -> datetime.datetime | None:
    try:
        instant = datetime.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def took(run: follow.Run, now: datetime.datetime) -> float | None:
    """Return the seconds ``run`` took, or has been running at ``now``; None before it started."""
    started = _instant(run.get("started"))
    if started is None:
        return None
    ended = _instant(run.get("ended")) if run.get("state") == "complete" else now
    return None if ended is None else (ended - started).total_seconds()


class Watch:
    """What one subscription knows of its pipeline's runs, and the conditions it judges.

    ``poll`` returns the notices due. The follower's first poll takes the baseline; a watch of
    changed settings goes on with the follower of the previous ones and the runs they told
    while running (``late``). Not thread-safe: the subscription's one timer callback calls it.
    """

    def __init__(
        self, settings: Settings, follower: follow.Follower, late: set[int] | None = None
    ) -> None:
        self.settings = settings
        self.follower = follower
        self.limit = durations.parse(settings.duration) if settings.when == "duration" else None
        self.late = late if late is not None else set()
        """The runs told while running past the limit."""
        self._below = False  # whether the success rate was below the threshold, last judged
        self._judged = False  # whether ``_below`` was taken from the runs yet

    def poll(self, now: datetime.datetime) -> list[Notice]:
        """Return the notices due at ``now``, oldest run first."""
        baseline = not self.follower.baselined
        ended = self.follower.poll()
        if not self.follower.baselined:
            return []
        later = {run["id"] for run in ended}
        if not self._judged:
            self._judged = True
            self._below = self._is_below([r for r in self.follower.runs if r["id"] not in later])
        notices: list[Notice] = []
        for run in ended:
            later.discard(run["id"])
            history = [r for r in self.follower.runs if r["id"] not in later]
            notice = self.judge(run, history, now)
            if notice is not None:
                notices.append(notice)
        if self.limit is not None:
            notices.extend(self._running(now, told=not baseline))
        return notices

    def judge(
        self, run: follow.Run, history: Sequence[follow.Run], now: datetime.datetime
    ) -> Notice | None:
        """Return the notice ``run``, just complete, calls for, ``history`` being the newest
        complete runs then (newest first); None when the condition does not hold."""
        settings, status, seconds = self.settings, run.get("status"), took(run, now)
        if settings.when == "finished":
            return Notice(run, "finished", seconds)
        if settings.when == "failed":
            return Notice(run, "failed", seconds) if status == "failed" else None
        if settings.when == "failures_in_row":
            row = next((i for i, r in enumerate(history) if r.get("status") != "failed"), None)
            row = len(history) if row is None else row
            due = status == "failed" and row == settings.count
            return Notice(run, f"failed {row} times in a row", seconds) if due else None
        if settings.when == "duration":
            late = run["id"] in self.late
            self.late.discard(run["id"])
            if late or seconds is None or self.limit is None or seconds <= self.limit:
                return None
            return Notice(run, f"took {spoken(seconds)}, over {spoken(self.limit)}", seconds)
        rate = self._rate(history)
        if rate is None:
            return None
        was, self._below = self._below, rate < settings.threshold
        if was or not self._below:
            return None
        words = (
            f"success rate {percent(rate)}% over the last {settings.window} runs, below "
            f"{percent(settings.threshold)}%"
        )
        return Notice(run, words, seconds)

    def _rate(self, history: Sequence[follow.Run]) -> float | None:
        window = history[: self.settings.window]
        if len(window) < self.settings.window:
            return None
        successful = sum(1 for run in window if run.get("status") == "successful")
        return 100.0 * successful / len(window)

    def _is_below(self, history: Sequence[follow.Run]) -> bool:
        rate = self._rate(history)
        return rate is not None and rate < self.settings.threshold

    def _running(self, now: datetime.datetime, *, told: bool) -> list[Notice]:
        """Return the notices of the runs running past the limit at ``now`` and not told yet;
        with ``told`` false (the baseline), take them as told."""
        notices = []
        for run in self.follower.running():
            seconds = took(run, now)
            if seconds is None or self.limit is None or seconds <= self.limit:
                continue
            if run["id"] not in self.late and told:
                words = f"running for {spoken(seconds)}, over {spoken(self.limit)}"
                notices.append(Notice(run, words, seconds))
            self.late.add(run["id"])
        floor = self.follower.floor
        # A run below the window will never be told complete: forget it.
        self.late.difference_update([number for number in self.late if number < floor])
        return notices


def _problem(setting: str, what: str, hint: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"setting '{setting}': {what}", field=setting, hint=hint)


def check(settings: Settings, config: Config) -> float | None:
    """Return the duration limit of ``settings`` in seconds (None unless ``when`` is duration);
    raise InvalidArgument naming the setting when they do not make sense together or with the
    admin's ``config``."""
    for name, when in PARAMETERS.items():
        if name in settings.model_fields_set and settings.when != when:
            raise _problem(
                name,
                f"only for when: {when}, not {settings.when}",
                f"remove '{name}', or set when: {when}",
            )
    limit = None
    if settings.when == "duration":
        if settings.duration is None:
            raise _problem("duration", "is required for when: duration", "e.g. duration: 10m")
        try:
            limit = durations.parse(settings.duration)
        except ValueError as exc:
            raise _problem("duration", str(exc), "e.g. duration: 10m") from None
    if settings.webhook is None and settings.email is None:
        raise _problem(
            "webhook",
            "a webhook, an email or both are required",
            "set webhook: {url: ...}, email: {to: [...]}, or both",
        )
    if settings.webhook is not None:
        try:
            url = httpx.URL(settings.webhook.url) if "://" in settings.webhook.url else None
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise _problem(
                "webhook.url", "not an http(s) URL", "e.g. https://hooks.slack.com/services/..."
            )
        for name, value in settings.webhook.headers.items():
            if not re.fullmatch(r"[A-Za-z0-9-]+", name):
                raise _problem(
                    "webhook.headers", f"'{name}' is not a header name", "e.g. Authorization"
                )
            if not value.isprintable():
                raise _problem(
                    "webhook.headers",
                    f"the value of header '{name}' has control characters",
                    "write the value on one line",
                )
    if settings.email is not None:
        if not config.smtp_host:
            raise errors.InvalidArgument(
                "setting 'email': no SMTP server to send emails with",
                field="email",
                hint="ask the admin to set HOSTLER_EXTENSION_CONFIG_SMTP_HOST, or use a webhook",
            )
        for address in settings.email.to:
            if not _ADDRESS.fullmatch(address):
                raise _problem(
                    "email.to", f"'{address}' is not an email address", "e.g. ops@example.com"
                )
    return limit


def describe(settings: Settings) -> str:
    """Return what a subscription with ``settings`` does, for people."""
    when = settings.when
    if when == "finished":
        words = "when a run finishes"
    elif when == "failed":
        words = "when a run fails"
    elif when == "failures_in_row":
        words = f"when runs fail {settings.count} times in a row"
    elif when == "duration":
        words = f"when a run takes longer than {spoken(durations.parse(settings.duration))}"
    else:
        words = (
            f"when fewer than {percent(settings.threshold)}% of the last {settings.window} runs "
            "succeed"
        )
    channels = []
    if settings.webhook is not None:
        channels.append(f"by webhook to '{httpx.URL(settings.webhook.url).host}'")
    if settings.email is not None:
        channels.append("by email to " + ", ".join(f"'{a}'" for a in settings.email.to))
    return f"notify {words}, {' and '.join(channels)}"


def facts(notice: Notice, link: str | None) -> dict[str, Any]:
    """Return the facts of ``notice`` as a message carries them; ``link`` is where people reach
    Hostler, if known."""
    run = notice.run
    namespace, pipeline, number = run.get("namespace"), run.get("pipeline"), run.get("id")
    reason = run.get("reason")
    url = None
    if link:
        url = f"{link.rstrip('/')}/api/v1/namespaces/{namespace}/pipelines/{pipeline}/runs/{number}"
    return {
        "namespace": namespace,
        "pipeline": pipeline,
        "run": number,
        "status": run.get("status") if run.get("state") == "complete" else "running",
        "condition": notice.condition,
        "duration_seconds": notice.seconds,
        "trigger": run.get("trigger"),
        "reason": reason.get("description") if isinstance(reason, Mapping) else None,
        "url": url,
    }


def headline(told: Mapping[str, Any]) -> str:
    """Return the first line of a message of the facts ``told``: ``default/build #12 failed``."""
    return f"{told['namespace']}/{told['pipeline']} #{told['run']} {told['status']}"


def text(told: Mapping[str, Any]) -> str:
    """Return the message of the facts ``told``, for people."""
    lines = [headline(told), f"Condition: {told['condition']}"]
    if told["duration_seconds"] is not None:
        lines.append(f"Duration: {spoken(told['duration_seconds'])}")
    if told["trigger"]:
        lines.append(f"Trigger: {told['trigger']}")
    if told["reason"]:
        lines.append(f"Reason: {told['reason']}")
    if told["url"]:
        lines.append(f"Run: {told['url']}")
    return "\n".join(lines)


class Notifier(base.Extension[Settings]):
    """Sends a message by webhook or email when the subscribing pipeline's runs meet a
    condition. ``clock`` is the time its timers go by; tests pass one they control, and may
    lower ``POLL`` and ``RETRY_DELAYS``."""

    name = "notify"
    version = "1.0.0"
    kind = "notifier"
    description = (
        "Send a message by webhook or email when runs fail, fail in a row, take too long or "
        "succeed too rarely."
    )
    Config = Config

    POLL: ClassVar[float] = follow.POLL
    """Seconds between two polls of a pipeline's runs."""
    RETRY_DELAYS: ClassVar[tuple[float, ...]] = (0.5, 2.0)
    """Seconds to wait before each new attempt to post a webhook message (3 attempts)."""
    TIMEOUT: ClassVar[float] = 10.0
    """Seconds a webhook or the SMTP server has to answer."""

    def __init__(
        self,
        system: contract.System,
        config: pydantic.BaseModel | None = None,
        *,
        api: client.Client | None = None,
        clock: timers.Clock = timers.now,
    ) -> None:
        super().__init__(system, config, api=api)
        # The SDK's own timers have not started (they start with the first timer).
        self.timers = timers.Timers(clock=clock, log=self.log)
        self.admin: _Config = _Config.model_validate(self.config.model_dump())
        self._http = httpx.Client(timeout=self.TIMEOUT)
        self._watches: dict[str, Watch] = {}  # by subscription, kept over changed settings

    def describe(self, sub: base.Subscription[Settings]) -> base.Summary:
        """Return when ``sub`` sends messages, and where; refuse settings that do not fit."""
        check(sub.settings, self.admin)
        return base.Summary(describe(sub.settings))

    def subscribe(self, sub: base.Subscription[Settings]) -> None:
        """Follow ``sub``'s pipeline, sending the messages due: from where the previous settings
        of the same subscription were, else from a new baseline."""
        check(sub.settings, self.admin)
        previous = self._watches.get(sub.id)
        if previous is None:
            follower = follow.Follower(
                self.api, sub.namespace, sub.pipeline, log=self.log, where={"subscription": sub.id}
            )
            watch = Watch(sub.settings, follower)
        else:
            watch = Watch(sub.settings, previous.follower, previous.late)
        self._watches[sub.id] = watch

        # One callback for the subscription's whole life, which returns when it runs next.
        def tick() -> datetime.datetime:
            try:
                notices = watch.poll(self.timers.now())
            except Exception:  # a bug here must not end the following
                self.log.exception("poll failed", extra={"subscription": sub.id})
                notices = []
            for notice in notices:
                self.send(sub, notice)
            return self.timers.now() + datetime.timedelta(seconds=self.POLL)

        self.timers.at(sub.id, self.timers.now(), tick)

    def handle_unsubscribe(self, request: contract.Unsubscribe) -> contract.Unsubscribed:
        """Carry out ``POST /api/unsubscribe``, and forget what the subscription knew:
        subscribing again later starts from a new baseline."""
        answer = super().handle_unsubscribe(request)
        self._watches.pop(request.subscription, None)
        return answer

    def on_shutdown(self) -> None:
        """Close the connections to webhooks."""
        self._http.close()

    def send(self, sub: base.Subscription[Settings], notice: Notice) -> None:
        """Send ``notice`` where ``sub`` says; log what could not be sent."""
        told = facts(notice, self.admin.link)
        where = {"subscription": sub.id, "run": told["run"], "condition": notice.condition}
        self.log.info("notifying", extra=where)
        channels: list[tuple[str, Callable[[], None]]] = []
        if (webhook := sub.settings.webhook) is not None:
            channels.append(("webhook", lambda: self.post(webhook, told, where)))
        if (to := sub.settings.email) is not None:
            channels.append(("email", lambda: self.mail(to, told, where)))
        for channel, send in channels:
            try:
                send()
            except Exception as exc:
                # Only the kind of error: its message may hold the webhook's URL.
                error = type(exc).__name__
                self.log.error(
                    "notification not sent", extra={**where, "channel": channel, "error": error}
                )

    def post(self, webhook: Webhook, told: Mapping[str, Any], where: Mapping[str, Any]) -> None:
        """Post the facts ``told`` to ``webhook``, trying again after a 5xx or no answer."""
        body = dict(told) if webhook.format == "json" else {"text": text(told), "hostler": told}
        where = {**where, "channel": "webhook", "host": httpx.URL(webhook.url).host}
        error = ""
        for attempt, delay in enumerate((*self.RETRY_DELAYS, None), start=1):
            try:
                answer = self._http.post(webhook.url, json=body, headers=webhook.headers)
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            else:
                if answer.is_success:
                    self.log.info("notification sent", extra={**where, "attempts": attempt})
                    return
                if answer.status_code < 500:
                    self.log.error(
                        "notification refused", extra={**where, "status": answer.status_code}
                    )
                    return
                error = f"status {answer.status_code}"
            if delay is None:
                break
            time.sleep(delay)
        self.log.error(
            "notification not sent", extra={**where, "attempts": attempt, "error": error}
        )

    def mail(self, to: Email, told: Mapping[str, Any], where: Mapping[str, Any]) -> None:
        """Email the facts ``told`` to ``to`` through the admin's SMTP server."""
        admin = self.admin
        where = {**where, "channel": "email", "host": admin.smtp_host, "to": list(to.to)}
        message = email.message.EmailMessage()
        message["Subject"] = f"{to.subject} {headline(told)}".strip()
        message["From"] = admin.smtp_from
        message["To"] = ", ".join(to.to)
        message.set_content(text(told))
        try:
            with smtplib.SMTP(admin.smtp_host or "", admin.smtp_port, timeout=self.TIMEOUT) as smtp:
                if admin.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if admin.smtp_username:
                    smtp.login(admin.smtp_username, admin.smtp_password.get_secret_value())
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            self.log.error(
                "notification not sent",
                extra={**where, "error": f"{type(exc).__name__}: {exc}"},
            )
            return
        self.log.info("notification sent", extra=where)


if __name__ == "__main__":
    Notifier.main()
