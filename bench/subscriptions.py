"""The supervisor's round of reading the subscriptions wanted, with its versions kept, against
reading every live version from the store each round.

The supervisor asks for the subscriptions wanted every second (``subscriptions.wanted``): the
triggers and notifications of every pipeline's live version, and those made by hand. Set-up:
``--pipelines`` pipelines (300 by default) in one namespace of a SQLite store in a temporary
directory, each deployed with one interval trigger, as ``hostler pipeline up`` would.

Hostler: ``wanted`` with one ``subscriptions.Versions`` for every round, as the server wires it.
Baseline: ``wanted`` with a new ``Versions`` each round, which reads every live version from
the store, as each round did before versions were kept. The figure is the median wall time of
``--rounds`` rounds of each, alternated, after one warm-up round of each.

No target was set: this prints the figures, to read against the one second between rounds.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import tempfile
import time

from hostler import testing
from hostler.services import pipelines, subscriptions
from hostler.services.context import Context
from hostler.storage import database
from hostler.storage import store as sql_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostler-bench-") as tmp:
        url = f"sqlite:///{pathlib.Path(tmp) / 'hostler.db'}"
        database.migrate(url)
        store = sql_store.Store(database.connect(url))
        try:
            ctx = Context(store=store, logs=testing.MemoryLogStore())
            trigger = {"extension": "interval", "settings": {"every": "1h"}}
            for n in range(args.pipelines):
                body = {"id": f"p{n}", "tasks": [{"id": "t", "image": "x"}], "triggers": [trigger]}
                pipelines.up(ctx, "default", body)
            kept = subscriptions.Versions()
            timed: dict[str, list[float]] = {"kept": [], "read": []}
            for round_ in range(args.rounds + 1):
                for name, versions in (("kept", kept), ("read", subscriptions.Versions())):
                    began = time.perf_counter()
                    found = subscriptions.wanted(ctx, versions)
                    if round_ > 0:  # the first of each is the warm-up
                        timed[name].append(time.perf_counter() - began)
                    assert len(found) == args.pipelines
        finally:
            store.close()
    kept_ms = statistics.median(timed["kept"]) * 1000
    read_ms = statistics.median(timed["read"]) * 1000
    print(f"subscriptions wanted, {args.pipelines} pipelines, median of {args.rounds} rounds")
    print(f"  Hostler (versions kept):        {kept_ms:8.1f} ms per round")
    print(f"  baseline (every version read):  {read_ms:8.1f} ms per round")
    print(f"  ratio baseline/Hostler:         {read_ms / kept_ms:8.1f}x")


if __name__ == "__main__":
    main()
