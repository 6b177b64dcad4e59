"""What each route needs: one table, by operation id, read by the access check of every request.

A test enumerates the operations of the OpenAPI document and fails for one that is missing here,
so a new route cannot ship without saying what it needs.
"""

from __future__ import annotations

import dataclasses
import enum

from hostler.core import access

_K = access.Kind
_A = access.Action


class Target(enum.Enum):
    """Where a route's target (see ``core.access``) comes from."""

    PATH = "path"
    """The ``namespace`` path parameter."""
    QUERY = "query"
    """The ``namespace`` query parameter; the whole installation when it is not given."""
    INSTALLATION = "installation"
    """The whole installation: only grants with the pattern ``*`` reach it."""
    ANY = "any"
    """Any namespace: the route shows only what the caller may see."""


@dataclasses.dataclass(frozen=True)
class Needs:
    """A route needs ``action`` on ``kind`` at its ``target``."""

    kind: access.Kind
    action: access.Action
    target: Target = Target.PATH


class Open(enum.Enum):
    """Routes that need no grant."""

    PUBLIC = "public"
    """Anyone may call it, without a token."""
    SIGNED_IN = "signed_in"
    """Anyone with a valid token may call it."""


PUBLIC = Open.PUBLIC
SIGNED_IN = Open.SIGNED_IN

ROUTES: dict[str, Needs | Open] = {
    "health": PUBLIC,
    "whoami": SIGNED_IN,
    # namespaces
    "list_namespaces": Needs(_K.NAMESPACES, _A.READ, Target.ANY),
    "create_namespace": Needs(_K.NAMESPACES, _A.WRITE, Target.INSTALLATION),
    "get_namespace": Needs(_K.NAMESPACES, _A.READ),
    # pipelines, versions and deployments
    "list_pipelines": Needs(_K.PIPELINES, _A.READ),
    "get_pipeline": Needs(_K.PIPELINES, _A.READ),
    "up_pipeline": Needs(_K.PIPELINES, _A.WRITE),
    "plan_pipeline": Needs(_K.PIPELINES, _A.READ),
    "list_versions": Needs(_K.PIPELINES, _A.READ),
    "get_version": Needs(_K.PIPELINES, _A.READ),
    "create_version": Needs(_K.PIPELINES, _A.WRITE),
    "diff_versions": Needs(_K.PIPELINES, _A.READ),
    "deploy": Needs(_K.PIPELINES, _A.WRITE),
    "promote_canary": Needs(_K.PIPELINES, _A.WRITE),
    "abort_canary": Needs(_K.PIPELINES, _A.WRITE),
    "list_deployments": Needs(_K.PIPELINES, _A.READ),
    # subscriptions: the file's and those made by hand
    "list_subscriptions": Needs(_K.PIPELINES, _A.READ),
    "create_subscription": Needs(_K.PIPELINES, _A.WRITE),
    "delete_subscription": Needs(_K.PIPELINES, _A.WRITE),
    # runs, tasks and logs
    "list_runs": Needs(_K.RUNS, _A.READ),
    "get_run": Needs(_K.RUNS, _A.READ),
    "start_run": Needs(_K.RUNS, _A.RUN),
    "cancel_run": Needs(_K.RUNS, _A.RUN),
    "retry_run": Needs(_K.RUNS, _A.RUN),
    "list_tasks": Needs(_K.RUNS, _A.READ),
    "get_task": Needs(_K.RUNS, _A.READ),
    "get_task_log": Needs(_K.LOGS, _A.READ),
    "delete_run_logs": Needs(_K.LOGS, _A.DELETE),
    # events and history
    "list_events": Needs(_K.EVENTS, _A.READ, Target.QUERY),
    "stream_events": Needs(_K.EVENTS, _A.READ, Target.QUERY),
    "list_history": Needs(_K.HISTORY, _A.READ, Target.INSTALLATION),
    # secrets: values are revealed only to callers with admin on secrets (checked by the route)
    "list_secrets": Needs(_K.SECRETS, _A.READ),
    "get_secret": Needs(_K.SECRETS, _A.READ),
    "put_secret": Needs(_K.SECRETS, _A.WRITE),
    "delete_secret": Needs(_K.SECRETS, _A.DELETE),
    "list_global_secrets": Needs(_K.SECRETS, _A.READ, Target.INSTALLATION),
    "get_global_secret": Needs(_K.SECRETS, _A.READ, Target.INSTALLATION),
    "put_global_secret": Needs(_K.SECRETS, _A.WRITE, Target.INSTALLATION),
    "delete_global_secret": Needs(_K.SECRETS, _A.DELETE, Target.INSTALLATION),
    "rotate_secret_key": Needs(_K.SECRETS, _A.ADMIN, Target.INSTALLATION),
    # objects
    "list_pipeline_objects": Needs(_K.OBJECTS, _A.READ),
    "put_pipeline_object": Needs(_K.OBJECTS, _A.WRITE),
    "get_pipeline_object": Needs(_K.OBJECTS, _A.READ),
    "delete_pipeline_object": Needs(_K.OBJECTS, _A.DELETE),
    "list_run_objects": Needs(_K.OBJECTS, _A.READ),
    "put_run_object": Needs(_K.OBJECTS, _A.WRITE),
    "get_run_object": Needs(_K.OBJECTS, _A.READ),
    "delete_run_object": Needs(_K.OBJECTS, _A.DELETE),
    # extensions
    "list_extensions": Needs(_K.EXTENSIONS, _A.READ, Target.INSTALLATION),
    "get_extension_log": Needs(_K.EXTENSIONS, _A.READ, Target.INSTALLATION),
    # extensions from images: installing one runs an image of the caller's choice, as admin does
    "list_installed_extensions": Needs(_K.EXTENSIONS, _A.READ, Target.INSTALLATION),
    "get_installed_extension": Needs(_K.EXTENSIONS, _A.READ, Target.INSTALLATION),
    "list_available_extensions": Needs(_K.EXTENSIONS, _A.READ, Target.INSTALLATION),
    "install_extension": Needs(_K.EXTENSIONS, _A.ADMIN, Target.INSTALLATION),
    "update_extension": Needs(_K.EXTENSIONS, _A.ADMIN, Target.INSTALLATION),
    "update_extensions": Needs(_K.EXTENSIONS, _A.ADMIN, Target.INSTALLATION),
    "remove_extension": Needs(_K.EXTENSIONS, _A.DELETE, Target.INSTALLATION),
    # webhooks: the extension checks the sender (a signature), not Hostler
    "deliver_event": PUBLIC,
    # tokens and roles
    "list_tokens": Needs(_K.TOKENS, _A.READ, Target.INSTALLATION),
    "get_token": Needs(_K.TOKENS, _A.READ, Target.INSTALLATION),
    "create_token": Needs(_K.TOKENS, _A.WRITE, Target.INSTALLATION),
    "disable_token": Needs(_K.TOKENS, _A.WRITE, Target.INSTALLATION),
    "enable_token": Needs(_K.TOKENS, _A.WRITE, Target.INSTALLATION),
    "delete_token": Needs(_K.TOKENS, _A.DELETE, Target.INSTALLATION),
    "list_roles": Needs(_K.TOKENS, _A.READ, Target.INSTALLATION),
    "get_role": Needs(_K.TOKENS, _A.READ, Target.INSTALLATION),
    "create_role": Needs(_K.TOKENS, _A.WRITE, Target.INSTALLATION),
    "delete_role": Needs(_K.TOKENS, _A.DELETE, Target.INSTALLATION),
}
"""Every route by operation id (its function's name): what it needs."""


class Reach(enum.Enum):
    """How far a run token reaches on a route, besides its namespace."""

    OWN_RUN = "own_run"
    """Only its own run: the ``pipeline`` and ``run`` path parameters must be its run's."""
    OWN_PIPELINE = "own_pipeline"
    """Only its own pipeline: the ``pipeline`` path parameter must be its run's."""
    NAMESPACE = "namespace"
    """Any pipeline of its run's namespace."""


RUN_TOKEN: dict[str, Reach] = {
    "whoami": Reach.NAMESPACE,
    "list_run_objects": Reach.OWN_RUN,
    "put_run_object": Reach.OWN_RUN,
    "get_run_object": Reach.OWN_RUN,
    "delete_run_object": Reach.OWN_RUN,
    "get_pipeline": Reach.OWN_PIPELINE,
    "list_versions": Reach.OWN_PIPELINE,
    "get_version": Reach.OWN_PIPELINE,
    "start_run": Reach.NAMESPACE,
    "get_run": Reach.NAMESPACE,
}
"""The only routes a run token (``inject_api_token``) may call, each on top of its grants."""
