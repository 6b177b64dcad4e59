"""The ``webhook`` trigger: start a run of the subscribing pipeline when a signed JSON payload
arrives.

Hostler receives ``POST /api/v1/extensions/webhook/events/NAMESPACE/PIPELINE/TRIGGER`` (no
Hostler token: the signature is the authentication), refuses bodies over its size limit, and
forwards the request here; what ``external_event`` answers is what the sender gets. The sender
signs the raw body with the subscription's ``secret``: the header ``signature_header``
(``x-hostler-signature-256``) carries ``sha256=<hex of HMAC-SHA256(secret, body)>``, as GitHub's
``X-Hub-Signature-256`` does.

An event goes through these checks in this order, so that a sender without the secret learns
nothing about the payload rules; each refusal is a problem document shaped as the Hostler API's
and starts nothing:

- not sent to a subscription in force: 404 ``not_found``;
- a method other than POST: 405 ``method_not_allowed``;
- no signature, or one that does not match: 401 ``unauthenticated``;
- a body that is not JSON, or JSON that is not an object: 400 ``bad_request``;
- a mapped path missing from the payload, or leading to an object or a list: 422
  ``invalid_argument``, whose ``field`` is the path.

Otherwise it starts one run with the mapped ``variables`` (a string as is; a number, a boolean
or null as its JSON text), ``HOSTLER_TRIGGER=webhook`` and ``HOSTLER_SUBSCRIPTION``, and answers
202 ``{"run": ID, "pipeline": "NAMESPACE/PIPELINE"}``; when Hostler refuses the run or cannot be
reached, 502 ``bad_gateway`` with Hostler's reason. The secret is never logged nor answered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic

from hostler.core import errors, identifiers
from hostler.sdk import client
from hostler.sdk.extension import base, contract, problems

SIGNATURE_HEADER = "x-hostler-signature-256"
"""The header that carries the signature unless the settings name another."""

SIGNATURE_PREFIX = "sha256="
"""What the signature's hex digest follows in its header."""

MIN_SECRET = 16
"""The fewest characters a secret may have."""

RESERVED_PREFIX = "HOSTLER_"
"""Run variables with this prefix are Hostler's own; ``variables`` may not set them."""


class Settings(pydantic.BaseModel):
    """The settings of one webhook subscription."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    # SecretStr keeps the value out of reprs; its length is checked in ``describe``, whose
    # refusal says what is wrong without a length taken from the value.
    secret: pydantic.SecretStr = pydantic.Field(
        description=f"Required. The key of the HMAC-SHA256 signature, at least {MIN_SECRET} "
        "characters; write it as a secret reference such as 'secret{{WEBHOOK_KEY}}'.",
        json_schema_extra={"minLength": MIN_SECRET},
    )
    variables: dict[pydantic.StrictStr, pydantic.StrictStr] = pydantic.Field(
        default_factory=dict,
        description="Run variables to take from the JSON payload: variable name to a dotted "
        "path into it, where a number indexes a list.",
        examples=[{"SHA": "after", "REPO": "repository.full_name", "FIRST": "commits.0.id"}],
    )
    signature_header: pydantic.StrictStr = pydantic.Field(
        SIGNATURE_HEADER,
        pattern=r"^[A-Za-z0-9-]+$",
        description="The header that carries 'sha256=<hex digest of the body>'.",
    )

    @pydantic.field_validator("signature_header")
    @classmethod
    def _lower_case(cls, name: str) -> str:
        return name.lower()  # header names reach the extension in lower case


class Refused(Exception):
    """An event refused; carries the answer for its sender."""

    def __init__(self, answer: contract.Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def refusal(
    status: int,
    title: str,
    code: str,
    detail: str,
    *,
    field: str | None = None,
    hint: str | None = None,
) -> contract.Answer:
    """Return the answer of a refused event: a problem document with ``status``."""
    found = problems.problem(status, title, detail, code, field=field, hint=hint)
    return contract.Answer(status=status, body=found.model_dump(mode="json"))


def signature(secret: str, body: bytes) -> str:
    """Return the signature of ``body`` under ``secret``, as its header carries it."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


_MISSING = object()

_JSON_TYPES: dict[type, str] = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
"""The JSON name of what ``json.loads`` returns, by Python type."""


def lookup(payload: Any, path: str) -> Any:
    """Return the value at the dotted ``path`` in ``payload`` (a number indexes a list), or
    ``_MISSING`` when there is none."""
    value = payload
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isascii() and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else _MISSING
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def variable(value: Any) -> str | None:
    """Return a payload value as a run variable: a string as is, a number, a boolean or null
    as its JSON text; None for an object or a list."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return None
    return json.dumps(value)


def _wrong_variable(name: str, path: str) -> tuple[str, str] | None:
    """Return what is wrong with mapping run variable ``name`` to ``path``, and a hint; None when
    nothing is."""
    try:
        identifiers.check_variable(name, field="variables")
    except errors.InvalidArgument as exc:
        return "not a valid name", exc.hint or ""
    if name.startswith(RESERVED_PREFIX):
        return (
            "a name of Hostler's own",
            f"give a name that does not start with '{RESERVED_PREFIX}'",
        )
    if "" in path.split("."):
        return (
            f"path '{path}' is not a dotted path",
            "name the value by keys and list indexes joined by dots, such as "
            "'repository.full_name' or 'commits.0.id'",
        )
    return None


S = TypeVar("S", bound=pydantic.BaseModel)


def check_secret(sub: base.Subscription[Any], secret: pydantic.SecretStr) -> None:
    """Refuse a ``secret`` setting of ``sub`` shorter than ``MIN_SECRET``, saying so without
    a length taken from the value."""
    if len(secret.get_secret_value()) < MIN_SECRET:
        raise errors.InvalidArgument(
            f"setting 'secret' of {sub}: shorter than {MIN_SECRET} characters",
            field="secret",
            hint="use a random string of 32 characters or more, such as the output of "
            "'openssl rand -hex 32', kept as a secret",
        )


def check_variables(sub: base.Subscription[Any], variables: Mapping[str, str]) -> None:
    """Refuse a ``variables`` setting of ``sub`` that maps a wrong name or a wrong path."""
    for name, path in variables.items():
        wrong = _wrong_variable(name, path)
        if wrong is not None:
            what, hint = wrong
            raise errors.InvalidArgument(
                f"setting 'variables' of {sub}: variable '{name}': {what}",
                field="variables",
                hint=hint,
            )


def payload(body: bytes) -> dict[str, Any]:
    """Return ``body`` decoded as a JSON object; refuse anything else with 400."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        # ValueError covers a body that is not UTF-8; RecursionError one nested too deep.
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deep"
        raise Refused(
            refusal(
                400,
                "Bad request",
                "bad_request",
                f"request body: not JSON ({reason})",
                hint="send a JSON object with 'Content-Type: application/json'",
            )
        ) from None
    if not isinstance(data, dict):
        raise Refused(
            refusal(
                400,
                "Bad request",
                "bad_request",
                f"request body: a JSON {_JSON_TYPES.get(type(data), 'value')}, not an object",
                hint="send a JSON object",
            )
        )
    return data


def check_method(sub: base.Subscription[Any], event: base.Event[Any]) -> None:
    """Refuse ``event`` unless it is a POST."""
    if event.method != "POST":
        raise Refused(
            refusal(
                405,
                "Method not allowed",
                "method_not_allowed",
                f"{sub}: method '{event.method}' not allowed",
                hint="send the event with POST",
            )
        )


def check_signature(
    sub: base.Subscription[Any], event: base.Event[Any], secret: pydantic.SecretStr, header: str
) -> None:
    """Refuse ``event`` unless its header ``header`` signs its body under ``secret``."""
    given = (event.header(header) or "").strip()
    hint = (
        f"send the header '{header}: {SIGNATURE_PREFIX}<hex digest>', the HMAC-SHA256 of "
        "the raw body under the trigger's secret"
    )
    if not given:
        raise Refused(
            refusal(
                401,
                "Unauthenticated",
                "unauthenticated",
                f"{sub}: signature missing (header '{header}')",
                hint=hint,
            )
        )
    expected = signature(secret.get_secret_value(), event.body)
    # Bytes: compare_digest refuses str that is not ASCII, which a sender may send.
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise Refused(
            refusal(
                401,
                "Unauthenticated",
                "unauthenticated",
                f"{sub}: signature does not match the body (header '{header}')",
                hint=hint,
            )
        )


def mapped(variables: Mapping[str, str], data: Mapping[str, Any]) -> dict[str, str]:
    """Return the run variables ``variables`` (name to dotted path) take from the payload
    ``data``; refuse a path that leads nowhere or to an object or a list with 422."""
    found: dict[str, str] = {}
    wrong: list[tuple[str, str, str]] = []
    for name, path in variables.items():
        value = lookup(data, path)
        text = None if value is _MISSING else variable(value)
        if text is None:
            what = "not in the payload" if value is _MISSING else "an object or a list"
            wrong.append((name, path, what))
        else:
            found[name] = text
    if wrong:
        name, path, what = wrong[0]
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise Refused(
            refusal(
                422,
                "Invalid argument",
                "invalid_argument",
                f"variable '{name}': path '{path}': {what}{more}",
                field=path,
                hint=f"send a payload with a string, number, boolean or null at '{path}', "
                "or change the trigger's setting 'variables'",
            )
        )
    return found


class Receiver(base.Extension[S]):
    """A trigger that takes signed events on Hostler's route for it: a subclass says how an
    event becomes run variables (``accept``), or raises ``Refused``; the receiver checks that
    the event was sent to a subscription, answers refusals and starts the run."""

    kind = "trigger"

    @property
    def events(self) -> str:
        """Return the path on Hostler below which the extension's events arrive."""
        return f"/api/v1/extensions/{self.system.name or self.name}/events"

    def route(self, sub: base.Subscription[S]) -> str:
        """Return the path on Hostler that takes ``sub``'s events."""
        return f"{self.events}/{sub.id}"

    def accept(self, sub: base.Subscription[S], event: base.Event[S]) -> dict[str, str]:
        """Return the run variables ``event`` starts a run with; raise ``Refused`` to answer
        without one."""
        raise NotImplementedError

    def started(
        self, sub: base.Subscription[S], run: Mapping[str, Any], variables: Mapping[str, str]
    ) -> None:
        """Called after ``event`` started ``run``; nothing by default."""

    def external_event(self, event: base.Event[S]) -> contract.Answer:
        """Check the event, then start a run with the variables ``accept`` gives."""
        sub = event.subscription
        where: dict[str, Any] = {"subscription": sub.id if sub else None}
        try:
            if sub is None:
                raise Refused(
                    refusal(
                        404,
                        "Not found",
                        "not_found",
                        f"extension '{self.name}': an event must name a subscription",
                        hint=f"send the event to a pipeline's trigger: {self.events}/"
                        "NAMESPACE/PIPELINE/TRIGGER",
                    )
                )
            variables = self.accept(sub, event)
        except Refused as refused:
            body = refused.answer.body
            code = body.get("code") if isinstance(body, dict) else None
            status = refused.answer.status
            level = logging.DEBUG if status < 300 else logging.INFO
            self.log.log(level, "event refused", extra={**where, "status": status, "code": code})
            return refused.answer
        pipeline = f"{sub.namespace}/{sub.pipeline}"
        variables.update(HOSTLER_TRIGGER=self.name, HOSTLER_SUBSCRIPTION=sub.id)
        try:
            run = self.start_run(sub.namespace, sub.pipeline, variables)
        except client.ApiError as exc:
            self.log.warning(
                "run not started",
                extra={**where, "status": exc.status, "code": exc.code, "detail": exc.detail},
            )
            return refusal(
                502,
                "Bad gateway",
                "bad_gateway",
                f"pipeline '{pipeline}': run not started: {exc.detail}",
                hint="Hostler refused the run or could not be reached; send the event again "
                "later, or ask its admin",
            )
        self.started(sub, run, variables)
        return contract.Answer(status=202, body={"run": run.get("id"), "pipeline": pipeline})


class Trigger(Receiver[Settings]):
    """Starts a run of the subscribing pipeline for each signed JSON payload sent to it."""

    name = "webhook"
    version = "1.0.0"
    description = "Start a run for each signed JSON payload, with run variables taken from it."

    def describe(self, sub: base.Subscription[Settings]) -> base.Summary:
        """Return the route that takes ``sub``'s events; refuse a short secret and wrong
        variables."""
        check_secret(sub, sub.settings.secret)
        check_variables(sub, sub.settings.variables)
        return base.Summary(f"webhook POST {self.route(sub)} (signed)")

    def accept(
        self, sub: base.Subscription[Settings], event: base.Event[Settings]
    ) -> dict[str, str]:
        """Check that ``event`` is a POST ``sub``'s secret signed, and map its payload."""
        check_method(sub, event)
        check_signature(sub, event, sub.settings.secret, sub.settings.signature_header)
        return mapped(sub.settings.variables, payload(event.body))


if __name__ == "__main__":
    Trigger.main()
