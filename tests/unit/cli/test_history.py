"""``hostler history``: the audit history of admin operations."""

from __future__ import annotations

import json

import pytest

from . import canned
from .conftest import Invoke, lines
from .fakeapi import FakeApi

DIGEST = "sha256:ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"

AUTO_ABORT = "aborted automatically: 2 of the last 10 runs of the candidate failed (more than 10%)"

HISTORY = canned.page(
    canned.record(6, "pipeline.deploy", None, detail={"version": 6, "canary": 10}),
    canned.record(
        5,
        "pipeline.abort",
        detail={"reason": AUTO_ABORT, "deployment": 4, "candidate": 5, "live": 3},
        actor="hostler",
    ),
    canned.record(
        4,
        "pipeline.deploy",
        detail={"version": 4, "canary": None, "kind": "deploy", "from_version": 3, "deployment": 3},
    ),
    canned.record(
        3,
        "pipeline.deploy",
        "failed",
        detail={"version": 3, "canary": None},
        error="pipeline 'default/hello': v3 is the live version already",
        actor="bob",
    ),
    canned.record(2, "version.register", "unchanged", detail={"version": 3, "digest": DIGEST}),
    canned.record(
        1, "namespace.create", "incomplete", target="team", detail={"description": "Team's"}
    ),
)


def test_history_lists_operations_with_their_outcome_and_detail(
    api: FakeApi, invoke: Invoke
) -> None:
    api.on("GET", "/history", (200, HISTORY))

    done = invoke("history")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        "ID   STARTED               OPERATION          TARGET          BY        OUTCOME       "
        "DETAIL",
        "─" * 200,
        "6    2024-05-02 09:06:00   pipeline.deploy    default/hello   alice     in progress   "
        "version=6 canary=10",
        # Free text is quoted, so that it cannot be mistaken for more pairs; it wraps.
        "5    2024-05-02 09:05:00   pipeline.abort     default/hello   hostler   succeeded     "
        'reason="aborted automatically: 2 of the last 10 runs of the candidate failed '
        '(more than 10%)" deployment=4',
        " " * 86 + "candidate=5 live=3",
        "4    2024-05-02 09:04:00   pipeline.deploy    default/hello   alice     succeeded     "
        "version=4 kind=deploy from_version=3 deployment=3",
        "3    2024-05-02 09:03:00   pipeline.deploy    default/hello   bob       failed        "
        "pipeline 'default/hello': v3 is the live version already",
        "2    2024-05-02 09:02:00   version.register   default/hello   alice     unchanged     "
        "version=3 digest=sha256:ab12cd34ef56…",
        "1    2024-05-02 09:01:00   namespace.create   team            alice     incomplete    "
        "description=Team's",
    ]
    assert [dict(query) for query in api.queries("GET", "/history")] == [{"limit": "50"}]


def test_history_sends_since_and_until_as_utc_times_and_each_kind(
    api: FakeApi, invoke: Invoke
) -> None:
    api.on("GET", "/history", (200, canned.page()))

    done = invoke(
        "history",
        "--since",
        "2024-05-01",
        "--until",
        "2024-05-02T10:30:00",
        "--kind",
        "pipeline.deploy",
        "--kind",
        "namespace",
    )

    assert done.exit_code == 0, done.output
    [query] = api.queries("GET", "/history")
    assert query["since"] == "2024-05-01T00:00:00+00:00"
    assert query["until"] == "2024-05-02T10:30:00+00:00"
    assert query.get_list("kind") == ["pipeline.deploy", "namespace"]


def test_history_without_filters_sends_none(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/history", (200, canned.page()))

    done = invoke("history", "--limit", "5")

    assert done.exit_code == 0, done.output
    assert [dict(query) for query in api.queries("GET", "/history")] == [{"limit": "5"}]


def test_history_as_json_is_the_apis_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/history", (200, HISTORY))

    done = invoke("history", "-o", "json")

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == HISTORY


def test_history_all_walks_every_page(api: FakeApi, invoke: Invoke) -> None:
    first = canned.page(*HISTORY["items"][:3], next_cursor="c2")
    api.on("GET", "/history", (200, first), (200, canned.page(*HISTORY["items"][3:])))

    done = invoke("history", "--all", "--kind", "pipeline", "-o", "json")

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"items": HISTORY["items"], "next_cursor": None}
    queries = api.queries("GET", "/history")
    assert [query.get("cursor") for query in queries] == [None, "c2"]
    assert [query.get_list("kind") for query in queries] == [["pipeline"], ["pipeline"]]


def test_history_with_a_time_that_is_no_date_is_a_usage_error(api: FakeApi, invoke: Invoke) -> None:
    done = invoke("history", "--since", "yesterday")

    assert done.exit_code == 2
    assert "Invalid value for '--since'" in done.stderr
    assert api.requests == []


@pytest.mark.parametrize(
    ("fmt", "said"),
    [
        ("table", "ID   STARTED   OPERATION   TARGET   BY   OUTCOME   DETAIL\n" + "─" * 57 + "\n"),
        ("json", '{\n  "items": [],\n  "next_cursor": null\n}\n'),
        ("yaml", "items: []\nnext_cursor: null\n"),
    ],
)
def test_history_of_nothing_is_an_empty_list(
    api: FakeApi, invoke: Invoke, fmt: str, said: str
) -> None:
    api.on("GET", "/history", (200, canned.page()))

    done = invoke("history", "-o", fmt)

    assert done.exit_code == 0, done.output
    assert "\n".join(lines(done.stdout)) + "\n" == said


def test_history_says_how_to_get_the_next_page(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", "/history", (200, canned.page(*HISTORY["items"][:1], next_cursor="c2")))

    done = invoke("history", "--limit", "1")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout)[-1] == "more: add --cursor c2 (or --all)"
