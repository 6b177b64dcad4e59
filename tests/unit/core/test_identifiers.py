"""Identifier rules shared by namespaces, pipelines, tasks; and variable names."""

from __future__ import annotations

import pytest

from hostler.core import errors, identifiers

VALID = ["a", "build", "test-a", "test_b", "x1", "a" * 63]
INVALID = ["Build", "1build", "-build", "a" * 64, "has space", "a.b", "ünï"]


@pytest.mark.parametrize("value", VALID)
def test_valid_identifier_is_returned_unchanged(value: str) -> None:
    assert identifiers.check(value, what="task", field="tasks[0].id") == value
    assert identifiers.is_valid(value)


@pytest.mark.parametrize("value", INVALID)
def test_invalid_identifier_is_rejected_naming_value_and_field(value: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        identifiers.check(value, what="task", field="tasks[3].id")
    assert caught.value.message == f"task '{value}': not a valid identifier"
    assert caught.value.field == "tasks[3].id"
    assert caught.value.hint is not None
    assert "63" in caught.value.hint
    assert not identifiers.is_valid(value)


def test_empty_identifier_is_rejected_as_empty() -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        identifiers.check("", what="pipeline", field="id")
    assert caught.value.message == "pipeline: must not be empty"
    assert caught.value.field == "id"
    assert not identifiers.is_valid("")


def test_maximum_length_is_63() -> None:
    assert identifiers.MAX_LENGTH == 63


@pytest.mark.parametrize("name", ["FOO", "foo_bar", "_x", "A1"])
def test_valid_variable_name_is_returned_unchanged(name: str) -> None:
    assert identifiers.check_variable(name, field=f"variables.{name}") == name


@pytest.mark.parametrize("name", ["", "1X", "A-B", "A B", "A.B"])
def test_invalid_variable_name_is_rejected_naming_the_field(name: str) -> None:
    with pytest.raises(errors.InvalidArgument, match="not a valid name") as caught:
        identifiers.check_variable(name, field=f"variables.{name}")
    assert caught.value.field == f"variables.{name}"


def test_a_trailing_newline_is_not_part_of_a_name() -> None:
    with pytest.raises(errors.InvalidArgument):
        identifiers.check_variable("SHA\n", field="x")
    with pytest.raises(errors.InvalidArgument):
        identifiers.check("name\n", what="thing", field="x")
