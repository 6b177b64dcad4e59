"""The ``pipeline`` trigger: start a run of the subscribing pipeline when a run of another one
ends.

The subscription names the upstream pipeline (``NAMESPACE/PIPELINE``, or ``PIPELINE`` in the
subscriber's own namespace) and the statuses that count (``successful`` by default). The
extension follows the upstream's runs (``follow.Follower``, every ``POLL`` seconds) and, for each
that completes with one of those statuses, starts one run of the subscriber with the variables
``HOSTLER_TRIGGER=pipeline``, ``HOSTLER_SUBSCRIPTION`` (the subscription's id),
``HOSTLER_UPSTREAM_RUN`` (``NAMESPACE/PIPELINE#ID``) and ``HOSTLER_UPSTREAM_STATUS``, plus the
upstream run's variables named in ``variables``, those it has. An upstream that does not exist
yet is waited for. A run that could not be started is logged, and following goes on (the next
start of the extension catches it up, as it has no run).

Hostler checks, when the pipeline is deployed, that the deployer may read the runs of the
upstream's namespace; the extension reads them with its own token.

**Catch-up.** The extension keeps no state: Hostler's runs are the record. When a subscription
arrives for the first time in this process, the extension lists the subscriber's newest runs
(``RUNS_LOOKED_AT``) and takes the ``HOSTLER_UPSTREAM_RUN`` of those this subscription started
(``HOSTLER_TRIGGER=pipeline`` and its ``HOSTLER_SUBSCRIPTION``) from the same upstream: the
upstream runs already followed. If there are any, the upstream runs complete at the first poll
with a chosen status, an id above the lowest followed one and not followed yet are fired at
once, oldest first: they completed while the extension was down. If there are none (a new
subscription, or its runs pushed off the page by others), nothing is caught up; nor when the
runs cannot be listed (logged). Settings changed later in the same process go on following from
where the previous settings were (same upstream) or from a new baseline (another upstream), so
no upstream run ever starts two runs of a subscription from one process.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

import pydantic

from hostler.core import errors, identifiers
from hostler.extensions import follow
from hostler.sdk import client
from hostler.sdk.extension import base, contract, timers

RUNS_LOOKED_AT = 100
"""How many of the subscriber's newest runs catching up looks through for followed runs."""

RESERVED_PREFIX = "HOSTLER_"
"""Run variables with this prefix are Hostler's own; ``variables`` may not copy them."""

Status = Literal["successful", "failed", "cancelled"]
"""A status a complete run ends with."""


class Settings(pydantic.BaseModel):
    """The settings of one pipeline subscription."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    pipeline: pydantic.StrictStr = pydantic.Field(
        description="Required. The upstream pipeline whose runs to follow: 'NAMESPACE/PIPELINE', "
        "or 'PIPELINE' in the subscriber's own namespace.",
        examples=["build", "platform/images"],
    )
    statuses: list[Status] = pydantic.Field(
        default=["successful"],
        min_length=1,
        description="Optional. The statuses of an upstream run that start a run: any of "
        "successful, failed, cancelled. Default: successful.",
        examples=[["successful", "failed"]],
    )
    variables: list[pydantic.StrictStr] = pydantic.Field(
        default=[],
        description="Optional. Run variables to copy from the upstream run, when it has them.",
        examples=[["GIT_SHA", "VERSION"]],
    )


def upstream_of(sub: base.Subscription[Settings]) -> tuple[str, str]:
    """Return the namespace and the name of ``sub``'s upstream pipeline; raise InvalidArgument
    naming the setting when it is malformed or is the subscriber itself."""
    text = sub.settings.pipeline
    hint = "write 'NAMESPACE/PIPELINE', or 'PIPELINE' for one in the same namespace"
    parts = text.split("/")
    if len(parts) > 2:
        raise errors.InvalidArgument(
            f"setting 'pipeline' of {sub}: '{text}' is not a pipeline", field="pipeline", hint=hint
        )
    namespace, name = parts if len(parts) == 2 else (sub.namespace, parts[0])
    identifiers.check(namespace, what=f"setting 'pipeline' of {sub}: namespace", field="pipeline")
    identifiers.check(name, what=f"setting 'pipeline' of {sub}: pipeline", field="pipeline")
    if (namespace, name) == (sub.namespace, sub.pipeline):
        raise errors.InvalidArgument(
            f"setting 'pipeline' of {sub}: a pipeline cannot follow itself",
            field="pipeline",
            hint="name another pipeline, whose runs should start this one",
        )
    return namespace, name


def _check_variables(sub: base.Subscription[Settings]) -> None:
    for name in sub.settings.variables:
        identifiers.check_variable(name, field="variables")
        if name.startswith(RESERVED_PREFIX):
            raise errors.InvalidArgument(
                f"setting 'variables' of {sub}: variable '{name}': a name of Hostler's own",
                field="variables",
                hint=f"name variables that do not start with '{RESERVED_PREFIX}'",
            )


def _words(statuses: Sequence[str]) -> str:
    """Return ``['successful', 'failed']`` as ``successful or failed``."""
    return " or ".join(dict.fromkeys(statuses))


class Trigger(base.Extension[Settings]):
    """Starts a run of the subscribing pipeline when a run of its upstream pipeline ends with
    one of the chosen statuses. ``clock`` is the time its timers go by; tests pass one they
    control, and may lower ``POLL``."""

    name = "pipeline"
    version = "1.0.0"
    kind = "trigger"
    description = "Start a run when a run of another pipeline ends with a chosen status."

    POLL: ClassVar[float] = follow.POLL
    """Seconds between two polls of an upstream pipeline's runs."""

    def __init__(
        self,
        system: contract.System,
        config: pydantic.BaseModel | None = None,
        *,
        api: client.Client | None = None,
        clock: timers.Clock = timers.now,
    ) -> None:
        super().__init__(system, config, api=api, clock=clock)
        self._followers: dict[str, follow.Follower] = {}  # by subscription, kept over changes

    def describe(self, sub: base.Subscription[Settings]) -> base.Summary:
        """Return which upstream runs start a run; refuse a wrong upstream or variable."""
        namespace, name = upstream_of(sub)
        _check_variables(sub)
        return base.Summary(f"after '{namespace}/{name}' ends {_words(sub.settings.statuses)}")

    def subscribe(self, sub: base.Subscription[Settings]) -> None:
        """Follow ``sub``'s upstream from where a previous subscription of the same id and
        upstream was, else from a new baseline; catch up first when ``sub`` is new here."""
        namespace, name = upstream_of(sub)
        follower = self._followers.get(sub.id)
        if follower is None or (follower.namespace, follower.pipeline) != (namespace, name):
            follower = follow.Follower(
                self.api, namespace, name, log=self.log, where={"subscription": sub.id}
            )
            self._followers[sub.id] = follower
        catching_up = self.first_arrival(sub)

        # One callback for the subscription's whole life, which returns when it runs next: a
        # timer set from inside a callback would escape the cancel that ends the subscription.
        def tick() -> datetime.datetime:
            nonlocal catching_up
            try:
                ended = follower.poll()
                if catching_up and follower.baselined:
                    catching_up = False
                    self.catch_up(sub, follower)
                for run in ended:
                    if run.get("status") in sub.settings.statuses:
                        self.fire(sub, follower, run)
            except Exception:  # a bug here must not end the following
                self.log.exception("poll failed", extra={"subscription": sub.id})
            return self.timers.now() + datetime.timedelta(seconds=self.POLL)

        self.timers.at(sub.id, self.timers.now(), tick)

    def removed(self, sub: base.Subscription[Settings]) -> None:
        """Forget where the subscription's following was: subscribing again later starts from
        a new baseline."""
        self._followers.pop(sub.id, None)

    def catch_up(self, sub: base.Subscription[Settings], upstream: follow.Follower) -> None:
        """Fire at once, oldest first, the runs complete at ``upstream``'s baseline that ``sub``
        has not followed, above the lowest it has; nothing when it has followed none."""
        if not upstream.runs:
            return
        followed = self.followed(sub, upstream)
        if not followed:
            return
        missed = [
            run
            for run in reversed(upstream.runs)
            if run["id"] > min(followed)
            and run["id"] not in followed
            and run.get("status") in sub.settings.statuses
        ]
        if missed:
            self.log.info(
                "catching up",
                extra={"subscription": sub.id, "missed": [upstream.ref(run) for run in missed]},
            )
        for run in missed:
            self.fire(sub, upstream, run)

    def followed(self, sub: base.Subscription[Settings], upstream: follow.Follower) -> set[int]:
        """Return the ids of the runs of ``upstream`` that ``sub`` started runs for, from the
        subscriber's newest runs; none when there are none or Hostler cannot tell."""
        try:
            page = self.api.list_runs(sub.namespace, sub.pipeline, limit=RUNS_LOOKED_AT)
        except client.ApiError as exc:
            self.log.warning(
                "catch-up skipped: runs not listed",
                extra={"subscription": sub.id, "status": exc.status, "detail": exc.detail},
            )
            return set()
        prefix = f"{upstream.namespace}/{upstream.pipeline}#"
        found: set[int] = set()
        items = page.get("items") if isinstance(page, Mapping) else None
        for run in items if isinstance(items, list) else []:
            variables = run.get("variables") if isinstance(run, Mapping) else None
            if not isinstance(variables, Mapping):
                continue
            ours = (self.name, sub.id)
            if (variables.get("HOSTLER_TRIGGER"), variables.get("HOSTLER_SUBSCRIPTION")) != ours:
                continue
            told = str(variables.get("HOSTLER_UPSTREAM_RUN", ""))
            if told.startswith(prefix) and told[len(prefix) :].isdigit():
                found.add(int(told[len(prefix) :]))
        return found

    def fire(
        self, sub: base.Subscription[Settings], upstream: follow.Follower, run: follow.Run
    ) -> None:
        """Start a run of ``sub``'s pipeline for ``run`` of ``upstream``; log a failure, which
        does not stop following."""
        given = run.get("variables")
        copied = {
            name: str(given[name])
            for name in sub.settings.variables
            if isinstance(given, Mapping) and name in given
        }
        variables = {
            **copied,
            "HOSTLER_TRIGGER": self.name,
            "HOSTLER_SUBSCRIPTION": sub.id,
            "HOSTLER_UPSTREAM_RUN": upstream.ref(run),
            "HOSTLER_UPSTREAM_STATUS": str(run.get("status")),
        }
        where = {"subscription": sub.id, "upstream_run": upstream.ref(run)}
        self.start_run_or_log(sub, variables, where)


if __name__ == "__main__":
    Trigger.main()
