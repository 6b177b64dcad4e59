"""Deploys racing on the real SQL store: of those planned against one live version, one wins."""

from __future__ import annotations

import pathlib
import threading
from typing import Any

from hostler import testing
from hostler.core import errors
from hostler.services import pipelines
from hostler.services.context import Context
from hostler.storage import database
from hostler.storage import store as sql_store


def config(parallelism: int) -> dict[str, Any]:
    return {"id": "hello", "parallelism": parallelism, "tasks": [{"id": "a", "image": "busybox"}]}


def test_concurrent_deploys_planned_against_the_same_version_leave_exactly_one_winner(
    tmp_path: pathlib.Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'hostler.db'}"
    database.migrate(url)
    store = sql_store.Store(database.connect(url))
    ctx = Context(store=store, logs=testing.MemoryLogStore())
    pipelines.up(ctx, "default", config(1))
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def deploy(n: int) -> None:
        start.wait()
        try:
            pipelines.up(ctx, "default", config(n + 2), expected_live=1)
            outcomes.append("deployed")
        except errors.Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=deploy, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    store.close()

    assert sorted(outcomes) == ["conflict"] * 7 + ["deployed"]
