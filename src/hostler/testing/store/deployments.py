"""Deployments in memory, as the ``deployments`` table keeps them, and the canary routing of runs.

A deployment is saved together with its pipeline, whose canary follows the deployment's state.
Routing counts every run a canary deployment routes, and sends it to the candidate version in the
same steps as the SQL store (``deployments.routes_to_candidate``).
"""

from __future__ import annotations

from hostler.core import deployments, errors, pipelines, runs
from hostler.testing.store import columns
from hostler.testing.store import pipelines as pipeline_table

_Key = tuple[str, str]


class Table:
    """The deployments by namespace, pipeline id and deployment id; call with the store's lock
    held."""

    def __init__(self, pipelines: pipeline_table.Table) -> None:
        self._pipelines = pipelines
        self._by_pipeline: dict[_Key, dict[int, deployments.Deployment]] = {}

    def save(
        self,
        pipeline: pipelines.Pipeline,
        expected_revision: int,
        deployment: deployments.Deployment,
    ) -> tuple[pipelines.Pipeline, pipelines.Pipeline, deployments.Deployment]:
        """Write ``pipeline`` with compare-and-set and insert (``id`` 0) or replace
        ``deployment``, together; return the pipeline before and after, and the deployment as
        saved. InvalidArgument for a deployment of another pipeline."""
        if (deployment.namespace, deployment.pipeline) != (pipeline.namespace, pipeline.id):
            raise errors.InvalidArgument(
                f"deployment of pipeline '{deployment.namespace}/{deployment.pipeline}': "
                f"given with pipeline '{pipeline.ref}'",
                field="deployment",
                hint="save a deployment together with its own pipeline",
            )
        key = (pipeline.namespace, pipeline.id)
        current = self._pipelines.compare(pipeline, expected_revision)
        updated_at = columns.utc(pipeline.updated)
        changed = _times(deployment)
        saved = self._by_pipeline.get(key, {})
        if changed.id == 0:
            changed = changed.evolve(
                id=max(saved, default=0) + 1,
                first_run=self._pipelines.next_run(*key),
                routed=0,
            )
        elif changed.id in saved:
            old = saved[changed.id]
            changed = changed.evolve(first_run=old.first_run, routed=old.routed)
        else:
            raise _not_found(*key, changed.id)
        canary = changed.id if changed.state is deployments.State.CANARY else None
        stored = self._pipelines.replace(current, pipeline, updated_at, canary)
        self._by_pipeline[key] = {**saved, changed.id: changed}
        return current, stored, changed

    def get(self, namespace: str, pipeline: str, deployment: int) -> deployments.Deployment:
        """Return one deployment; ``NotFound`` names the namespace or pipeline if missing."""
        found = self._by_pipeline.get((namespace, pipeline), {}).get(deployment)
        if found is None:
            self._pipelines.require(namespace, pipeline)
            raise _not_found(namespace, pipeline, deployment)
        return found

    def list_(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[deployments.Deployment]:
        """Return the pipeline's deployments, newest first (``after`` is a deployment id)."""
        saved = self._by_pipeline.get((namespace, pipeline), {})
        ids = sorted((i for i in saved if after is None or i < after), reverse=True)
        found = [saved[i] for i in columns.limited(ids, limit)]
        if not found:
            self._pipelines.require(namespace, pipeline)
        return found

    def list_canaries(self, limit: int) -> list[deployments.Deployment]:
        """Return the deployments in state ``canary`` across all pipelines, oldest first."""
        canaries = sorted(
            (
                d
                for saved in self._by_pipeline.values()
                for d in saved.values()
                if d.state is deployments.State.CANARY
            ),
            key=lambda d: (d.started, d.namespace, d.pipeline, d.id),
        )
        return columns.limited(canaries, limit)

    def route(self, namespace: str, pipeline: str) -> tuple[int, runs.Route]:
        """Return the version a new run of the pipeline takes and why, counting it as routed."""
        found = self._pipelines.get(namespace, pipeline)
        if found.live_version is None:
            raise errors.FailedPrecondition(
                f"pipeline '{found.ref}': has no live version",
                field="pipeline",
                hint="deploy a version first with 'hostler pipeline up FILE'",
            )
        saved = self._by_pipeline.get((namespace, pipeline), {})
        canary = None if found.canary is None else saved.get(found.canary)
        if canary is None or canary.state is not deployments.State.CANARY:
            return found.live_version, runs.Route.LIVE
        canary = canary.evolve(routed=canary.routed + 1)
        self._by_pipeline[namespace, pipeline] = {**saved, canary.id: canary}
        if canary.percent is not None and deployments.routes_to_candidate(
            canary.routed, canary.percent
        ):
            return canary.to_version, runs.Route.CANARY
        return found.live_version, runs.Route.LIVE


def _not_found(namespace: str, pipeline: str, deployment: int) -> errors.NotFound:
    return errors.NotFound(
        f"deployment {deployment} of pipeline '{namespace}/{pipeline}': not found",
        field="deployment",
        hint="list the pipeline's deployments to see which exist",
    )


def _times(d: deployments.Deployment) -> deployments.Deployment:
    return d.evolve(started=columns.utc(d.started), ended=columns.maybe_utc(d.ended))
