"""Routes for a pipeline's subscriptions: list those of its file and those made by hand, and
make and delete the latter."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import deps, errors, limits, schemas
from hostler.services import subscriptions

router = fastapi.APIRouter(tags=["subscriptions"])

_PATH = "/namespaces/{namespace}/pipelines/{pipeline}/subscriptions"
_BODY = limits.JSONBody(schemas.SubscriptionRequest)
Key = Annotated[
    str, fastapi.Path(description="The subscription's key: its id, else its extension's name.")
]


@router.get(_PATH, responses=errors.responses(404))
def list_subscriptions(
    ctx: deps.ContextDep, namespace: deps.Namespace, pipeline: deps.Pipeline
) -> schemas.SubscriptionList:
    """List the pipeline's subscriptions: its live version's triggers and notifications (source
    file), then those made by hand (source manual), by key."""
    found = subscriptions.list_(ctx, namespace, pipeline)
    return schemas.SubscriptionList(
        items=[schemas.Subscription.from_entity(namespace, pipeline, e) for e in found]
    )


@router.post(
    _PATH,
    status_code=201,
    responses=errors.responses(404, 409, 413),
    response_description="The subscription was made.",
    openapi_extra=_BODY.openapi,
)
def create_subscription(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    body: Annotated[schemas.SubscriptionRequest, fastapi.Depends(_BODY)],
) -> schemas.Subscription:
    """Subscribe the pipeline to an extension by hand (409 when the key is taken, by one made
    by hand or by the file's). Its extension is told while the pipeline has a live version."""
    made = subscriptions.create(ctx, namespace, pipeline, body.id, body.extension, body.settings)
    missing = subscriptions.missing_secrets(ctx, namespace, pipeline, made.settings)
    return schemas.Subscription.from_manual(made, missing)


@router.delete(f"{_PATH}/{{key}}", status_code=204, responses=errors.responses(404, 409))
def delete_subscription(
    ctx: deps.ContextDep, namespace: deps.Namespace, pipeline: deps.Pipeline, key: Key
) -> None:
    """Delete a subscription made by hand (409 for one of the file's: deploy a file without
    it instead)."""
    subscriptions.delete(ctx, namespace, pipeline, key)
