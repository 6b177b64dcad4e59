"""The ``notify`` notifier (``Notifier`` here; ``settings``, ``conditions``, ``messages`` and
``words`` hold its parts): send a message by webhook or by email when a pipeline's runs call for
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
with more of the webhook's URL than its host), and following goes on. Messages are sent by
threads of their own, so a webhook or mail server that is slow to answer delays no other
subscription's polls; one subscription's messages are sent in the order they were due.

**No state.** What the extension knows starts at the baseline of the first poll after a
subscription arrives: the runs complete then, and the runs running past ``duration`` then, are
not told, and whether the success rate is below ``threshold`` then is taken as already said. So
a restart (or changed settings) sends again nothing that was due before; messages of runs that
completed while the extension was not running are not sent at all.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import email.message
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx
import pydantic

from hostler.extensions import follow
from hostler.extensions.notify.conditions import Notice, Watch
from hostler.extensions.notify.messages import facts, headline, text
from hostler.extensions.notify.settings import Config, Email, Settings, Webhook, check, describe
from hostler.sdk import client
from hostler.sdk.extension import base, contract, timers

__all__ = ["Config", "Notifier", "Settings"]

_Config = Config  # the class attribute ``Notifier.Config`` hides the name in the class body


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
    SENDERS: ClassVar[int] = 4
    """Threads that send messages: how many slow webhooks or mail servers can be waited on at
    once before messages queue."""

    def __init__(
        self,
        system: contract.System,
        config: pydantic.BaseModel | None = None,
        *,
        api: client.Client | None = None,
        clock: timers.Clock = timers.now,
    ) -> None:
        super().__init__(system, config, api=api, clock=clock)
        self.admin: _Config = _Config.model_validate(self.config.model_dump())
        self._http = httpx.Client(timeout=self.TIMEOUT)
        self._watches: dict[str, Watch] = {}  # by subscription, kept over changed settings
        self._senders = concurrent.futures.ThreadPoolExecutor(
            self.SENDERS, thread_name_prefix="notify-send"
        )
        # The messages each subscription has yet to send, in order; one sender at most works
        # through a subscription's at a time.
        self._due: dict[str, list[tuple[base.Subscription[Settings], Notice]]] = {}
        self._sent = threading.Condition()

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
            if notices:
                self._send_later(sub, notices)
            return self.timers.now() + datetime.timedelta(seconds=self.POLL)

        self.timers.at(sub.id, self.timers.now(), tick)

    def removed(self, sub: base.Subscription[Settings]) -> None:
        """Forget what the subscription knew: subscribing again later starts from a new
        baseline."""
        self._watches.pop(sub.id, None)

    def on_shutdown(self) -> None:
        """Send the messages due (within the grace Hostler gives), then close the connections to
        webhooks."""
        self._senders.shutdown(wait=True)
        self._http.close()

    def flush(self) -> None:
        """Return once every message due so far has been sent, or could not be."""
        with self._sent:
            self._sent.wait_for(lambda: not self._due)

    def _send_later(self, sub: base.Subscription[Settings], notices: list[Notice]) -> None:
        """Have a sender send ``notices``, after the subscription's messages due before."""
        with self._sent:
            due = self._due.setdefault(sub.id, [])
            idle = not due
            due.extend((sub, notice) for notice in notices)
        if idle:
            self._senders.submit(self._send_due, sub.id)

    def _send_due(self, sid: str) -> None:
        """Send the messages due of subscription ``sid``, in order, until there are none."""
        while True:
            with self._sent:
                sub, notice = self._due[sid][0]
            try:
                self.send(sub, notice)
            except Exception:  # a bug here must not stop the subscription's other messages
                self.log.exception("notification failed", extra={"subscription": sid})
            with self._sent:
                due = self._due[sid]
                due.pop(0)
                if not due:
                    del self._due[sid]
                    self._sent.notify_all()
                    return

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
