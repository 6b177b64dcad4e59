"""Extension images: the labels that make an image one, names, configuration keys, and the
repository of a reference."""

from __future__ import annotations

import pytest

from hostler.core import errors, images, updates

NAME = images.NAME_LABEL
VERSION = images.VERSION_LABEL


def test_an_image_with_both_labels_is_an_extension_image() -> None:
    found = images.read("hostler-ext-slack:1.3.0", "sha256:1", {NAME: "slack", VERSION: "1.3.0"})
    assert found == images.Found(
        "hostler-ext-slack:1.3.0", "sha256:1", "slack", updates.parse("1.3.0")
    )
    assert found.image() == updates.Image("hostler-ext-slack:1.3.0", updates.parse("1.3.0"))


@pytest.mark.parametrize(
    ("labels", "why"),
    [
        ({}, f"(no label {NAME})"),
        ({NAME: "slack"}, f"(no label {VERSION})"),
        ({NAME: "Slack", VERSION: "1.0.0"}, "(its name 'Slack' is malformed)"),
        ({NAME: "slack", VERSION: "1.0"}, "(its version '1.0' is not a semantic version)"),
    ],
)
def test_an_image_without_good_labels_is_not_one_and_says_why(
    labels: dict[str, str], why: str
) -> None:
    assert images.read("x:1", "sha256:1", labels) is None
    assert images.explain("x:1", labels) == f"image 'x:1': not an extension image {why}"


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("slack", True),
        ("cron-plus", True),
        ("a1", True),
        ("Slack", False),
        ("-a", False),
        ("a--b", False),
        ("a_b", False),
        ("", False),
        ("a" * 64, False),
    ],
)
def test_extension_names_are_lower_case_letters_digits_and_dashes(name: str, valid: bool) -> None:
    assert images.is_name(name) is valid
    if not valid:
        with pytest.raises(errors.InvalidArgument):
            images.check_name(name)


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("hostler-ext-slack:1.3.0", "hostler-ext-slack"),
        ("hostler-ext-slack", "hostler-ext-slack"),
        ("registry:5000/ext/slack:1.3.0", "registry:5000/ext/slack"),
        ("registry:5000/ext/slack", "registry:5000/ext/slack"),
        ("ext/slack@sha256:abc", "ext/slack"),
    ],
)
def test_the_repository_of_a_reference_leaves_out_its_tag(reference: str, repository: str) -> None:
    assert images.repository(reference) == repository


def test_config_keys_are_variable_names_given_once_whatever_their_case() -> None:
    assert images.check_config({"TOKEN": "x", "channel_id": "y"}) == {
        "TOKEN": "x",
        "channel_id": "y",
    }
    with pytest.raises(errors.InvalidArgument) as bad:
        images.check_config({"A-B": "x"})
    assert bad.value.field == "config"
    with pytest.raises(errors.InvalidArgument) as twice:
        images.check_config({"token": "x", "TOKEN": "y"})
    assert twice.value.field == "config.TOKEN"
    with pytest.raises(errors.InvalidArgument):
        images.check_config({f"K{n}": "v" for n in range(images.MAX_CONFIG_KEYS + 1)})
