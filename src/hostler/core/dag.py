"""The rules of a pipeline's task graph, and how its tasks are ordered.

The graph is given as ``(task_id, [dependency ids])`` pairs so that the same rules serve the server,
the SDK and the tests without a configuration object.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hostler.core import errors, identifiers

Graph = Sequence[tuple[str, Sequence[str]]]


def validate(pipeline_id: str, graph: Graph) -> None:
    """Raise InvalidArgument for the first broken rule of ``graph``.

    The rules: the pipeline id and every task id are identifiers; a pipeline has at least one task;
    task ids are unique; every dependency names another task of the pipeline; there is no cycle.
    """
    identifiers.check(pipeline_id, what="pipeline", field="id")
    if not graph:
        raise errors.InvalidArgument(
            f"pipeline '{pipeline_id}': has no tasks",
            field="tasks",
            hint="add at least one task with an id and an image",
        )
    seen: dict[str, int] = {}
    for index, (task_id, _) in enumerate(graph):
        identifiers.check(task_id, what="task", field=f"tasks[{index}].id")
        if task_id in seen:
            raise errors.InvalidArgument(
                f"task '{task_id}': duplicate id (also tasks[{seen[task_id]}])",
                field=f"tasks[{index}].id",
                hint="give every task of a pipeline its own id",
            )
        seen[task_id] = index
    for index, (task_id, deps) in enumerate(graph):
        for dep in deps:
            field = f"tasks[{index}].depends_on.{dep}"
            if dep == task_id:
                raise errors.InvalidArgument(
                    f"task '{task_id}': depends on itself",
                    field=field,
                    hint="remove the dependency",
                )
            if dep not in seen:
                raise errors.InvalidArgument(
                    f"task '{task_id}': depends on unknown task '{dep}'",
                    field=field,
                    hint=f"known tasks: {', '.join(sorted(seen))}",
                )
    cycle = find_cycle(graph)
    if cycle:
        raise errors.InvalidArgument(
            f"pipeline '{pipeline_id}': dependency cycle {' -> '.join(cycle)}",
            field=f"tasks[{seen[cycle[0]]}].depends_on",
            hint="a task cannot depend, directly or through others, on itself",
        )


def find_cycle(graph: Graph) -> list[str]:
    """Return one cycle as a list of task ids (first id repeated at the end), or ``[]``."""
    deps = {task_id: list(d) for task_id, d in graph}
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(deps, white)
    # Depth-first with an explicit stack, not recursion: a long chain of tasks must not hit the
    # interpreter's recursion limit.
    for root, _ in graph:
        if colour[root] != white:
            continue
        colour[root] = grey
        path = [root]
        pending: list[Iterator[str]] = [iter(deps[root])]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                colour[path.pop()] = black
                pending.pop()
            elif colour.get(nxt) == grey:
                return [*path[path.index(nxt) :], nxt]
            elif colour.get(nxt) == white:
                colour[nxt] = grey
                path.append(nxt)
                pending.append(iter(deps[nxt]))
    return []


def order(graph: Graph) -> list[str]:
    """Return the task ids in a dependency-respecting order, stable with respect to ``graph``."""
    remaining = {task_id: set(d) for task_id, d in graph}
    done: list[str] = []
    while remaining:
        finished = set(done)
        ready = [t for t, d in remaining.items() if not d - finished]
        if not ready:
            raise errors.InvalidArgument("pipeline: dependency cycle", field="tasks")
        for task_id in ready:
            done.append(task_id)
            del remaining[task_id]
    return done
