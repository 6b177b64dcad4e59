"""Access: anchored patterns, grants, roles bound to namespaces, and principals."""

from __future__ import annotations

import pytest

from hostler.core import access, errors

K = access.Kind
A = access.Action


@pytest.mark.parametrize(
    ("pattern", "target", "expected"),
    [
        ("team-*", "team-a", True),
        ("team-*", "team-", True),
        ("team-*", "xteam-a", False),
        ("team-*", "my-team-a", False),
        ("team-*", "team", False),
        ("team", "team", True),
        ("team", "team-a", False),
        ("*-prod", "web-prod", True),
        ("*-prod", "web-prod-2", False),
        ("*", "anything", True),
        ("*", "*", True),
        ("team-*", "*", False),
        ("a*b", "ab", True),
        ("a*b", "axxb", True),
        ("a*b", "axxbc", False),
    ],
)
def test_patterns_match_the_whole_target(pattern: str, target: str, expected: bool) -> None:
    assert access.matches(pattern, target) is expected


@pytest.mark.parametrize("pattern", ["", "Team", "team/a", "team.a", "tea?", "[ab]", "a" * 64])
def test_patterns_with_other_characters_are_refused(pattern: str) -> None:
    with pytest.raises(errors.InvalidArgument, match="not a valid target pattern"):
        access.check_pattern(pattern)


def test_a_grant_allows_only_its_kinds_actions_and_pattern() -> None:
    grant = access.Grant(frozenset({K.RUNS}), frozenset({A.READ, A.RUN}), "team-*")
    assert grant.allows(K.RUNS, A.RUN, "team-a")
    assert not grant.allows(K.RUNS, A.DELETE, "team-a")
    assert not grant.allows(K.PIPELINES, A.READ, "team-a")
    assert not grant.allows(K.RUNS, A.READ, "xteam-a")
    assert grant.describe() == "read,run on runs in team-*"


def test_a_grant_needs_kinds_and_actions() -> None:
    with pytest.raises(errors.InvalidArgument, match="at least one kind and one action"):
        access.Grant(frozenset(), frozenset({A.READ}), "*")


def test_admin_may_do_everything_everywhere() -> None:
    admin = access.Principal("root", access.grants_of(["admin"], []))
    for kind in K:
        for action in A:
            assert admin.allows(kind, action, "team-a")
            assert admin.allows(kind, action, access.INSTALLATION)


def test_a_namespace_owner_may_do_everything_in_its_namespaces_only() -> None:
    owner = access.Principal("a", access.grants_of(["namespace-owner:team-*"], []))
    for kind in access.NAMESPACED:
        for action in (A.READ, A.WRITE, A.DELETE, A.RUN):
            assert owner.allows(kind, action, "team-a")
            assert not owner.allows(kind, action, "xteam-a")
            assert not owner.allows(kind, action, "team")
    for kind in (K.TOKENS, K.EXTENSIONS, K.HISTORY):
        assert not owner.allows_somewhere(kind, A.READ)
    assert not owner.allows(K.NAMESPACES, A.WRITE, access.INSTALLATION)
    assert not owner.allows(K.EVENTS, A.READ, access.INSTALLATION)


def test_a_namespace_reader_may_only_read() -> None:
    reader = access.Principal("r", access.grants_of(["namespace-reader:team-a"], []))
    assert reader.allows(K.LOGS, A.READ, "team-a")
    assert not reader.allows(K.RUNS, A.RUN, "team-a")
    assert not reader.allows(K.LOGS, A.READ, "team-b")


def test_custom_roles_grant_what_they_list_and_missing_ones_grant_nothing() -> None:
    role = access.Role(
        "runner", "", (access.Grant(frozenset({K.RUNS}), frozenset({A.RUN}), "ci-*"),)
    )
    runner = access.Principal("ci", access.grants_of(["runner", "gone"], [role]))
    assert runner.allows(K.RUNS, A.RUN, "ci-web")
    assert not runner.allows(K.RUNS, A.READ, "ci-web")


@pytest.mark.parametrize(
    ("binding", "message"),
    [
        ("namespace-owner", "needs the namespaces it applies to"),
        ("namespace-reader:Team", "not a valid target pattern"),
        ("admin:team-*", "takes no pattern"),
        ("Bad Name", "not a valid identifier"),
    ],
)
def test_bad_bindings_are_refused(binding: str, message: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=message):
        access.parse_binding(binding)


def test_check_names_who_may_not_do_what_where() -> None:
    reader = access.Principal("r", access.grants_of(["namespace-reader:team-a"], []))
    with pytest.raises(errors.PermissionDenied) as raised:
        reader.check(K.RUNS, A.RUN, "team-a")
    assert raised.value.message == "r: may not run runs in namespace 'team-a'"
    with pytest.raises(errors.PermissionDenied, match="in the installation"):
        reader.check(K.TOKENS, A.READ, access.INSTALLATION)
