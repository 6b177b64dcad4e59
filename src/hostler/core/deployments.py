"""Deployments: each change of which version of a pipeline new runs use, and canary routing.

A deployment makes a version live (``deploy``, ``rollback`` to an older one, ``redeploy`` of the
live one), or starts a canary: a share of new runs goes to a candidate version while the rest stay
on the live one, until the canary is promoted (the candidate becomes live) or aborted (every new
run is on the live version again), by hand or automatically.

Canary routing is deterministic: the n-th run started since the canary began (n from 1) goes to the
candidate exactly when ``floor(n * percent / 100)`` is larger than it was for ``n - 1``. At 50% the
runs alternate, live first; of any N runs ``floor(N * percent / 100)`` ran the candidate.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Sequence
from typing import Any

from hostler.core import errors, runs


class Kind(enum.StrEnum):
    """What a deployment set out to do."""

    DEPLOY = "deploy"
    """Make a newer version live."""
    ROLLBACK = "rollback"
    """Make an older version live."""
    REDEPLOY = "redeploy"
    """Deploy the live version again (``force_same_version``)."""
    CANARY = "canary"
    """Send a share of new runs to a candidate version."""


class State(enum.StrEnum):
    """Where a deployment is now. Only a canary stays ``canary`` for a while; the rest are final."""

    DEPLOYED = "deployed"
    CANARY = "canary"
    PROMOTED = "promoted"
    ABORTED = "aborted"


@dataclasses.dataclass(frozen=True)
class AutoAbort:
    """Abort a canary when more than ``max_failure_rate`` percent of its last ``window`` runs of
    the candidate failed. Immutable."""

    max_failure_rate: int
    window: int

    def __post_init__(self) -> None:
        if not 0 <= self.max_failure_rate < 100:
            raise errors.InvalidArgument(
                f"canary: a failure rate of {self.max_failure_rate}% cannot be exceeded usefully",
                field="abort.max_failure_rate",
                hint="give a percentage from 0 (abort on the first failure) to 99",
            )
        if not 1 <= self.window <= 1000:
            raise errors.InvalidArgument(
                f"canary: a window of {self.window} runs is out of range",
                field="abort.window",
                hint="give a number of runs from 1 to 1000",
            )

    def exceeded(self, newest_first: Sequence[runs.Status]) -> str | None:
        """Return why the canary must be aborted, given how its candidate's runs ended (newest
        first), or None.

        The failures among the newest ``window`` runs are divided by ``window`` even while fewer
        have ended: the rate can only grow as more end, so a canary that is bound to exceed the
        threshold is stopped at once.
        """
        recent = list(newest_first)[: self.window]
        failed = sum(1 for status in recent if status is runs.Status.FAILED)
        if failed * 100 > self.max_failure_rate * self.window:
            return (
                f"{failed} of the last {self.window} runs of the candidate failed "
                f"(more than {self.max_failure_rate}%)"
            )
        return None

    def describe(self) -> str:
        """Return the rule for people."""
        return (
            f"aborted automatically when more than {self.max_failure_rate}% "
            f"of the last {self.window} runs of the candidate fail"
        )


@dataclasses.dataclass(frozen=True)
class Deployment:
    """One deployment of a pipeline. Immutable; ``id`` counts from 1 per pipeline.

    ``first_run`` is the id the pipeline's next run had when the deployment began: runs from it on
    were started under this deployment (until the next one began). ``routed`` counts the runs a
    canary has routed (live or candidate). ``reason`` says why a canary ended, when it did.
    """

    namespace: str
    pipeline: str
    id: int
    kind: Kind
    state: State
    from_version: int | None
    to_version: int
    actor: str
    started: datetime.datetime
    first_run: int = 1
    ended: datetime.datetime | None = None
    percent: int | None = None
    auto_abort: AutoAbort | None = None
    routed: int = 0
    reason: str | None = None

    @property
    def ref(self) -> str:
        """The deployment written for people: ``namespace/pipeline deployment 3``."""
        return f"{self.namespace}/{self.pipeline} deployment {self.id}"

    def evolve(self, **changes: Any) -> Deployment:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def check_percent(percent: int) -> int:
    """Return ``percent`` if a canary can route that share of runs; InvalidArgument if not."""
    if not 1 <= percent <= 99:
        raise errors.InvalidArgument(
            f"canary: {percent}% is not a share of runs a canary can take",
            field="canary",
            hint="give a percentage from 1 to 99; deploy without --canary to move every run",
        )
    return percent


def routes_to_candidate(n: int, percent: int) -> bool:
    """Tell whether the ``n``-th run (from 1) since a canary began at ``percent`` goes to the
    candidate."""
    return (n * percent) // 100 > ((n - 1) * percent) // 100


@dataclasses.dataclass(frozen=True)
class Tally:
    """How the runs of one version started during a deployment stand. Immutable."""

    version: int
    runs: int = 0
    successful: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def ended(self) -> int:
        """Runs that are complete, cancelled ones excluded: those a success rate is taken over."""
        return self.successful + self.failed

    @property
    def success_rate(self) -> float | None:
        """Successful runs in percent of those that ended successful or failed; None if none."""
        return None if self.ended == 0 else 100.0 * self.successful / self.ended

    def describe(self) -> str:
        """Return the tally for people: ``v4: 12 runs (92% successful)``."""
        rate = "" if self.success_rate is None else f" ({self.success_rate:.0f}% successful)"
        return f"v{self.version}: {self.runs} {'run' if self.runs == 1 else 'runs'}{rate}"
