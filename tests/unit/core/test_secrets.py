"""Secrets: references in env, substitution, names, and masking of output."""

from __future__ import annotations

import datetime

import pytest

from hostler.core import errors, secrets

P = secrets.Scope.PIPELINE
G = secrets.Scope.GLOBAL
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def test_references_are_found_anywhere_in_values_once_each_in_order() -> None:
    env = {
        "A": "secret{{DB_PASSWORD}}",
        "B": "Bearer global_secret{{ TOKEN }} and secret{{DB_PASSWORD}}",
        "C": "plain secret{DB} {{X}} secret{{9BAD}}",
    }
    assert secrets.references(env) == [
        secrets.Ref(P, "DB_PASSWORD"),
        secrets.Ref(G, "TOKEN"),
    ]
    assert [str(r) for r in secrets.references(env)] == [
        "secret{{DB_PASSWORD}}",
        "global_secret{{TOKEN}}",
    ]


def test_substitution_replaces_every_reference() -> None:
    env = {"A": "u:secret{{USER}} p:secret{{PW}}", "B": "global_secret{{PW}}", "C": "x"}
    values = {
        secrets.Ref(P, "USER"): "alice",
        secrets.Ref(P, "PW"): "pw1",
        secrets.Ref(G, "PW"): "g",
    }
    assert secrets.substitute(env, values) == {"A": "u:alice p:pw1", "B": "g", "C": "x"}


@pytest.mark.parametrize("name", ["", "9X", "a-b", "a.b", "x" * 129, "a b"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(errors.InvalidArgument, match="not a valid name"):
        secrets.check_name(name)


def test_values_must_be_present_and_small() -> None:
    with pytest.raises(errors.InvalidArgument, match="empty"):
        secrets.check_value("")
    with pytest.raises(errors.InvalidArgument, match="larger than 64 KiB"):
        secrets.check_value("x" * (64 * 1024 + 1))


def test_the_masker_hides_values_and_each_line_of_long_ones() -> None:
    masker = secrets.Masker(["s3cr3t-value", "-----BEGIN-----\nABCDEF\n-----END-----", "ab"])
    assert masker.mask("token=s3cr3t-value!") == "token=***!"
    assert masker.mask("ABCDEF") == "***"
    assert masker.mask("-----BEGIN-----") == "***"
    assert masker.mask("ab stays: too short to mask") == "ab stays: too short to mask"
    assert masker


def test_the_longest_value_is_masked_first() -> None:
    masker = secrets.Masker(["abcd", "abcdefgh"])
    assert masker.mask("abcdefgh abcd") == "*** ***"


def test_no_values_mask_nothing() -> None:
    assert not secrets.NO_MASK
    assert secrets.NO_MASK.mask("anything") == "anything"


def test_a_global_secret_is_usable_where_its_patterns_match() -> None:
    shared = secrets.Secret(None, None, "T", b"", "k", NOW, NOW, namespaces=("team-*",))
    assert shared.usable_in("team-a") and not shared.usable_in("xteam-a")
    own = secrets.Secret("team-a", "p", "T", b"", "k", NOW, NOW)
    assert own.usable_in("team-a") and not own.usable_in("team-b")
    assert own.context != shared.context
    assert (own.scope, shared.scope) == (P, G)
