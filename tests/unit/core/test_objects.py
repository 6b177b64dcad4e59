"""Object keys, references and names: nothing can leave its scope."""

from __future__ import annotations

import datetime

import pytest

from hostler.core import errors, objects, pipelines

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("key", ["a", "report.txt", "_x", "v1.2-final_build", "A" * 128])
def test_valid_keys_are_kept(key: str) -> None:
    assert objects.check_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "..", "a..b", "a/b", "/a", ".env", "-x", "a b", "A" * 129, "é", "a\\b"]
)
def test_keys_that_could_leave_their_scope_or_confuse_are_refused(key: str) -> None:
    with pytest.raises(errors.InvalidArgument) as raised:
        objects.check_key(key)
    assert raised.value.field == "key"


def test_references_are_found_once_each_in_order_and_substituted() -> None:
    env = {
        "A": "pipeline_object{{data.csv}} and run_object{{out}}",
        "B": "run_object{{out}}",
        "C": "secret{{X}} stays",
    }
    refs = objects.references(env)
    assert [str(r) for r in refs] == ["pipeline_object{{data.csv}}", "run_object{{out}}"]
    values = {refs[0]: "1,2", refs[1]: "done"}
    assert objects.substitute(env, values) == {
        "A": "1,2 and done",
        "B": "done",
        "C": "secret{{X}} stays",
    }


def test_a_reference_to_a_file_names_its_place() -> None:
    ref = objects.parse_ref("run_object{{result.txt}}")
    assert (ref.scope, ref.key, ref.path) == (
        objects.Scope.RUN,
        "result.txt",
        "/hostler/objects/run/result.txt",
    )
    with pytest.raises(errors.InvalidArgument):
        objects.parse_ref("object{{x}}")
    with pytest.raises(errors.InvalidArgument):
        objects.parse_ref("run_object{{../x}}")


def test_names_never_collide_across_scopes() -> None:
    places = [
        ("a", "p", None),
        ("a", "p", 1),
        ("a", "p", 2),
        ("a", "q", None),
        ("b", "p", None),
    ]
    names = {objects.name_of(ns, p, run, "k", DIGEST) for ns, p, run in places}
    assert len(names) == len(places)


def test_a_pipeline_refuses_bad_object_references_naming_the_field() -> None:
    with pytest.raises(errors.InvalidArgument) as raised:
        pipelines.parse(
            {"id": "p", "tasks": [{"id": "t", "image": "x", "objects": ["run_object{{a/b}}"]}]}
        )
    assert raised.value.field == "tasks[0].objects[0]"
    with pytest.raises(errors.InvalidArgument) as raised:
        pipelines.parse(
            {"id": "p", "tasks": [{"id": "t", "image": "x", "env": {"A": "run_object{{..}}"}}]}
        )
    assert raised.value.field == "tasks[0].env"
