"""The extension contract: every request and answer between Hostler and an extension, as models.

An extension is an HTTP server that Hostler drives with the routes of ``ROUTES``; these models are
the single source of truth for both sides, and ``openapi`` turns them into the OpenAPI document
kept in ``docs/extensions/contract.json``. Configuration reaches an extension through the
environment only: ``System`` is what Hostler sets (``HOSTLER_EXTENSION_SYSTEM_*``), the
extension's own ``Config`` model what the admin sets (``HOSTLER_EXTENSION_CONFIG_*``).

Requests ignore fields they do not know, so that a newer Hostler can add one without breaking
older extensions; ``Info.contract`` says which version of the contract an extension speaks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import pydantic
from pydantic import json_schema

VERSION = 1
"""The version of the contract this module describes, announced in ``Info.contract``."""

SYSTEM_PREFIX = "HOSTLER_EXTENSION_SYSTEM_"
"""The prefix of the environment variables Hostler sets for an extension it starts."""

CONFIG_PREFIX = "HOSTLER_EXTENSION_CONFIG_"
"""The prefix of the environment variables the admin sets when installing an extension."""

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://hostler.dev/problems/"

SEMVER = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
"""A semantic version (semver.org 2.0.0): ``1.4.0``, ``2.0.0-rc.1``."""

NAME = r"^[a-z][a-z0-9-]{0,62}$"
"""An extension's name: lower-case letters, digits and dashes, starting with a letter."""

Kind = Literal["trigger", "notifier"]
"""What an extension does: start runs (``trigger``) or tell people about them (``notifier``)."""


class _Request(pydantic.BaseModel):
    """A request body: frozen, and tolerant of fields a newer Hostler adds."""

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")


class _Answer(pydantic.BaseModel):
    """An answer body: frozen, exactly its fields."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")


class System(pydantic.BaseModel):
    """What Hostler tells an extension it starts, from ``HOSTLER_EXTENSION_SYSTEM_*``.

    Read once at start; none of it changes while the extension runs.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")

    name: str = pydantic.Field(
        "", description="The name the extension is installed under (its own name if unset)."
    )
    host: str = pydantic.Field(
        "127.0.0.1", description="The address to listen on (default 127.0.0.1)."
    )
    port: int = pydantic.Field(
        ge=0, le=65535, description="Required: the port to listen on (0: any free one)."
    )
    key: pydantic.SecretStr = pydantic.Field(
        min_length=1,
        description="Required: the bearer key every request from Hostler carries.",
    )
    url: str = pydantic.Field(
        min_length=1, description="Required: the Hostler API's base URL (no /api/v1)."
    )
    token: pydantic.SecretStr = pydantic.Field(
        pydantic.SecretStr(""),
        description="The extension's own Hostler API token (none sent when empty).",
    )

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Return each ``HOSTLER_EXTENSION_SYSTEM_*`` variable with its description."""
        return {
            SYSTEM_PREFIX + name.upper(): field.description or ""
            for name, field in cls.model_fields.items()
        }


class ConfigVariable(_Answer):
    """One ``HOSTLER_EXTENSION_CONFIG_*`` variable an extension reads."""

    name: str = pydantic.Field(description="The variable, ``HOSTLER_EXTENSION_CONFIG_`` included.")
    description: str = pydantic.Field(description="What it sets, for the admin.")
    required: bool = pydantic.Field(description="Whether the extension refuses to start without.")
    secret: bool = pydantic.Field(False, description="Whether its value must never be shown.")


class Info(_Answer):
    """What an extension is: the answer of ``GET /api/info``. Fixed for one version."""

    name: str = pydantic.Field(pattern=NAME, description="The extension's own name.")
    version: str = pydantic.Field(pattern=SEMVER, description="Its semantic version.")
    kind: Kind = pydantic.Field(description="Whether it starts runs or tells about them.")
    description: str = pydantic.Field(min_length=1, description="One sentence for people.")
    settings_schema: dict[str, Any] = pydantic.Field(
        description="The JSON Schema of the settings of one subscription."
    )
    config: list[ConfigVariable] = pydantic.Field(
        default_factory=list, description="The HOSTLER_EXTENSION_CONFIG_* variables it reads."
    )
    contract: int = pydantic.Field(VERSION, description="The version of the contract it speaks.")


class Health(_Answer):
    """The answer of ``GET /api/health`` when the extension works."""

    status: Literal["ok"] = "ok"


class Subscribe(_Request):
    """``POST /api/subscribe``: make pipeline ``namespace/pipeline`` subscribe with ``settings``.

    ``subscription`` is the id Hostler chose; subscribing again under the same id replaces the
    subscription. With ``dry_run`` the settings are checked and described, and nothing changes.
    """

    namespace: str = pydantic.Field(min_length=1, description="The pipeline's namespace.")
    pipeline: str = pydantic.Field(min_length=1, description="The subscribing pipeline.")
    subscription: str = pydantic.Field(
        min_length=1, max_length=200, description="The subscription's id, chosen by Hostler."
    )
    settings: dict[str, Any] = pydantic.Field(
        default_factory=dict, description="The settings, checked against settings_schema."
    )
    dry_run: bool = pydantic.Field(
        False, description="Only check and describe the settings; subscribe nothing."
    )


class Subscribed(_Answer):
    """The answer of ``POST /api/subscribe``: what the subscription does, for people."""

    subscription: str = pydantic.Field(description="The subscription's id.")
    result: Literal["created", "changed", "unchanged"] = pydantic.Field(
        description="What subscribing did (or, in a dry run, would do): 'unchanged' when the "
        "same pipeline subscribed with equal settings already."
    )
    description: str = pydantic.Field(description="A summary such as 'every 30s'.")
    next_fires: list[pydantic.AwareDatetime] = pydantic.Field(
        default_factory=list, description="When the next runs will start, if the extension knows."
    )


class Unsubscribe(_Request):
    """``POST /api/unsubscribe``: end a subscription. An unknown id is not an error."""

    namespace: str = pydantic.Field(min_length=1, description="The pipeline's namespace.")
    pipeline: str = pydantic.Field(min_length=1, description="The subscribed pipeline.")
    subscription: str = pydantic.Field(min_length=1, description="The subscription's id.")


class Unsubscribed(_Answer):
    """The answer of ``POST /api/unsubscribe``."""

    subscription: str = pydantic.Field(description="The subscription's id.")
    result: Literal["removed", "unchanged"] = pydantic.Field(
        description="'unchanged' when no subscription had this id."
    )


class ExternalEvent(_Request):
    """``POST /api/external-event``: a request Hostler received for the extension (a webhook).

    Header names are lower-case; a header sent several times is joined with ', '; a query
    parameter given several times keeps its last value.
    """

    subscription: str | None = pydantic.Field(
        description="The subscription the request was sent to, or null for the extension's route."
    )
    method: str = pydantic.Field(description="The request's HTTP method.")
    path: str = pydantic.Field(description="The request's path below the extension's route.")
    query: dict[str, str] = pydantic.Field(default_factory=dict, description="Query parameters.")
    headers: dict[str, str] = pydantic.Field(default_factory=dict, description="Headers.")
    body: pydantic.Base64Bytes = pydantic.Field(
        b"", description="The raw request body, base64-encoded."
    )

    @pydantic.field_validator("headers")
    @classmethod
    def _lower_case(cls, headers: dict[str, str]) -> dict[str, str]:
        return {name.lower(): value for name, value in headers.items()}


class Answer(_Answer):
    """The answer of ``POST /api/external-event``: what Hostler answers the request's sender."""

    status: int = pydantic.Field(200, ge=100, le=599, description="The HTTP status to answer.")
    body: pydantic.JsonValue = pydantic.Field(None, description="The JSON body to answer.")


class Stopping(_Answer):
    """The answer of ``POST /api/shutdown``: the extension stops once in-flight requests end."""

    status: Literal["stopping"] = "stopping"


class Problem(_Answer):
    """An error answer: RFC 9457 problem details with Hostler's stable ``code``, as the Hostler
    API answers them."""

    type: str = pydantic.Field(description="A URI naming the problem: its code under the base.")
    title: str = pydantic.Field(description="The error category in words.")
    status: int = pydantic.Field(description="The HTTP status code.")
    detail: str = pydantic.Field(description="What went wrong, subject first.")
    code: str = pydantic.Field(description="Stable machine-readable error code.")
    field: str | None = pydantic.Field(None, description="The failing input field, if one is.")
    hint: str | None = pydantic.Field(None, description="What to do about it, if known.")


ERRORS: Mapping[int, str] = {
    400: "Bad request: the body is not JSON.",
    401: "Unauthenticated: the request lacks the bearer key HOSTLER_EXTENSION_SYSTEM_KEY.",
    404: "Not found: no such route.",
    405: "Method not allowed: the route takes another method.",
    413: "Too large: the body is over the extension's limit.",
    422: "Invalid argument: a field or a setting breaks a rule; `field` names it.",
    500: "Internal error: a bug in the extension; its log has the details.",
    503: "Unavailable: the extension says it does not work right now.",
}
"""Every error status of the contract, with what it means."""


@dataclasses.dataclass(frozen=True)
class Route:
    """One route of the contract: what it takes, what it answers, and which errors it can."""

    method: Literal["GET", "POST"]
    path: str
    operation: str
    summary: str
    answer: type[pydantic.BaseModel]
    request: type[pydantic.BaseModel] | None = None
    errors: tuple[int, ...] = ()
    public: bool = False


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/info", "info", "Say what the extension is and what it reads.", Info),
    Route(
        "GET",
        "/api/health",
        "health",
        "Say whether the extension works; needs no key.",
        Health,
        errors=(503,),
        public=True,
    ),
    Route(
        "POST",
        "/api/subscribe",
        "subscribe",
        "Subscribe a pipeline with settings, replacing a subscription of the same id.",
        Subscribed,
        Subscribe,
        errors=(400, 413, 422),
    ),
    Route(
        "POST",
        "/api/unsubscribe",
        "unsubscribe",
        "End a subscription; an unknown id is not an error.",
        Unsubscribed,
        Unsubscribe,
        errors=(400, 413, 422),
    ),
    Route(
        "POST",
        "/api/external-event",
        "external_event",
        "Handle a request sent to the extension's route on Hostler; answer for its sender.",
        Answer,
        ExternalEvent,
        errors=(400, 413, 422),
    ),
    Route(
        "POST",
        "/api/shutdown",
        "shutdown",
        "Stop once the requests in flight are answered.",
        Stopping,
    ),
)
"""Every route an extension serves."""


def _described(text: str) -> str:
    """Return a docstring as one Markdown paragraph (``code`` in single backticks)."""
    return " ".join(text.split()).replace("``", "`")


def _environment() -> str:
    rows = "\n".join(f"- `{name}`: {text}" for name, text in System.variables().items())
    return (
        "Hostler starts an extension with these environment variables:\n\n"
        f"{rows}\n\n"
        f"The admin's settings arrive as `{CONFIG_PREFIX}*` variables, listed by `GET /api/info`; "
        "a pipeline's settings arrive in `POST /api/subscribe`."
    )


def openapi() -> dict[str, Any]:
    """Return the contract as an OpenAPI 3.1 document, built from ``ROUTES`` and the models."""
    models: list[tuple[type[pydantic.BaseModel], json_schema.JsonSchemaMode]] = [
        (Problem, "serialization")
    ]
    for route in ROUTES:
        models.append((route.answer, "serialization"))
        if route.request is not None:
            models.append((route.request, "validation"))
    refs, definitions = json_schema.models_json_schema(
        models, ref_template="#/components/schemas/{model}"
    )
    problem = refs[(Problem, "serialization")]
    paths: dict[str, Any] = {}
    for route in ROUTES:
        statuses = sorted({*route.errors, 500, *(() if route.public else (401,))})
        responses: dict[str, Any] = {
            "200": {
                "description": _described(route.answer.__doc__ or ""),
                "content": {"application/json": {"schema": refs[(route.answer, "serialization")]}},
            }
        }
        for status in statuses:
            responses[str(status)] = {
                "description": ERRORS[status],
                "content": {PROBLEM_MEDIA_TYPE: {"schema": problem}},
            }
        operation: dict[str, Any] = {
            "operationId": route.operation,
            "summary": route.summary,
            "responses": responses,
        }
        if route.request is not None:
            operation["description"] = _described(route.request.__doc__ or "")
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(route.request, "validation")]}},
            }
        if route.public:
            operation["security"] = []
        paths[route.path] = {route.method.lower(): operation}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hostler extension contract",
            "version": str(VERSION),
            "description": (
                "The HTTP routes an extension serves for Hostler. Every request but health "
                "carries `Authorization: Bearer <HOSTLER_EXTENSION_SYSTEM_KEY>`; errors are "
                "problem documents (`application/problem+json`), an unknown route is answered "
                "404 and a known one asked with another method 405.\n\n" + _environment()
            ),
        },
        "servers": [
            {
                "url": "http://{host}:{port}",
                "description": "HOSTLER_EXTENSION_SYSTEM_HOST and HOSTLER_EXTENSION_SYSTEM_PORT.",
                "variables": {"host": {"default": "127.0.0.1"}, "port": {"default": "8090"}},
            }
        ],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "key": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The key Hostler passed in HOSTLER_EXTENSION_SYSTEM_KEY.",
                }
            },
        },
        "security": [{"key": []}],
    }
