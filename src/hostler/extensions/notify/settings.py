"""The settings of a notify subscription and the admin's configuration, and the checks that
refuse settings which do not fit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import httpx
import pydantic

from hostler.core import durations, errors
from hostler.extensions import follow
from hostler.extensions.notify.words import percent, spoken

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
