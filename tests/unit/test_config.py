"""Settings: the event log's retention, written as a duration or as "keep forever"; the keys of
the secrets cipher."""

from __future__ import annotations

import base64
import pathlib

import pytest

from hostler import config
from hostler.core import errors
from hostler.crypto import aesgcm


def test_events_are_kept_thirty_days_by_default() -> None:
    assert config.Settings().events.retention == 30 * 86400


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("7d", 7 * 86400.0),
        ("1h30m", 5400.0),
        (3600, 3600.0),
        ("0", None),
        (0, None),
        ("none", None),
    ],
)
def test_retention_is_a_duration_or_zero_or_none_for_forever(
    written: object, seconds: float | None
) -> None:
    loaded = config.load(overrides={"events": {"retention": written}})
    assert loaded.events.retention == seconds


def test_retention_comes_from_the_environment_too() -> None:
    loaded = config.load(environ={"HOSTLER_EVENTS__RETENTION": "12h"})
    assert loaded.events.retention == 12 * 3600.0


@pytest.mark.parametrize("written", ["soon", -5, "0s", True])
def test_a_bad_retention_is_an_error_naming_the_setting(written: object) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        config.load(overrides={"events": {"retention": written}})
    assert caught.value.field == "events.retention"


def test_the_default_file_documents_the_retention_and_loads_back(tmp_path: pathlib.Path) -> None:
    text = config.default_file()
    section = text.split("[events]\n", 1)[1]
    assert section.splitlines()[2] == 'retention = "30d"'
    assert "0 or 'none' keeps them forever" in section
    path = tmp_path / "hostler.toml"
    path.write_text(text)
    assert config.load(path).events == config.Events()


# [secrets] ---------------------------------------------------------------------------------

KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
OLD = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()


def test_secrets_have_no_key_by_default() -> None:
    assert config.Settings().secrets == config.Secrets(key=None, previous_keys=[])


def test_the_secrets_keys_load_from_a_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "hostler.toml"
    path.write_text(f'[secrets]\nkey = "{KEY}"\nprevious_keys = ["{OLD.rstrip("=")}"]\n')
    loaded = config.load(path).secrets
    assert (loaded.key, loaded.previous_keys) == (KEY, [OLD.rstrip("=")])


def test_the_previous_keys_come_from_a_variable_separated_by_commas() -> None:
    loaded = config.load(
        environ={"HOSTLER_SECRETS__KEY": KEY, "HOSTLER_SECRETS__PREVIOUS_KEYS": f"{OLD}, {KEY}"}
    ).secrets
    assert (loaded.key, loaded.previous_keys) == (KEY, [OLD, KEY])


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ({"key": "not-a-key"}, "secrets.key"),
        ({"key": KEY[:40]}, "secrets.key"),
        ({"key": base64.b64encode(bytes([0xFB, 0xFF] * 16)).decode()}, "secrets.key"),
        ({"key": 42}, "secrets.key"),
        ({"previous_keys": [OLD, "nope"]}, "secrets.previous_keys.1"),
        ({"previous_keys": f"{OLD},nope"}, "secrets.previous_keys.1"),
    ],
)
def test_a_bad_key_fails_at_start_naming_the_setting(setting: object, field: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        config.load(overrides={"secrets": setting})
    assert caught.value.field == field
    assert caught.value.message.startswith(f"config: '{field}' ")


def test_the_error_for_a_bad_key_never_repeats_it() -> None:
    almost = KEY[:42]
    with pytest.raises(errors.InvalidArgument) as caught:
        config.load(overrides={"secrets": {"key": almost}})
    assert almost not in f"{caught.value.message} {caught.value.hint}"
    assert "URL-safe base64 of 32 random bytes" in caught.value.message


def test_the_keys_stay_out_of_the_settings_repr() -> None:
    loaded = config.load(overrides={"secrets": {"key": KEY, "previous_keys": [OLD]}})
    assert KEY not in repr(loaded) and OLD not in repr(loaded)
    assert KEY not in str(loaded.secrets)


@pytest.mark.parametrize(
    "text",
    [
        aesgcm.new_key(),
        KEY,
        KEY.rstrip("="),
        f" {KEY}\n",
        "",
        "short",
        KEY + "=",
        KEY[:42] + "B",
        base64.b64encode(bytes([0xFB, 0xFF] * 16)).decode(),
        base64.urlsafe_b64encode(bytes(33)).decode(),
        bytes(32).hex(),
    ],
    ids=[  # not the keys: a new key's text differs at every collection
        "new",
        "fixed",
        "unpadded",
        "spaced",
        "empty",
        "short",
        "overpadded",
        "bad-last-character",
        "not-url-safe",
        "33-bytes",
        "hex",
    ],
)
def test_the_settings_accept_exactly_the_keys_the_cipher_reads(text: str) -> None:
    try:
        aesgcm.parse_key(text)
    except errors.InvalidArgument:
        readable = False
    else:
        readable = True
    try:
        config.load(overrides={"secrets": {"key": text}})
    except errors.InvalidArgument:
        accepted = False
    else:
        accepted = True
    assert accepted == readable


def test_the_default_file_documents_the_secrets_section_and_loads_back(
    tmp_path: pathlib.Path,
) -> None:
    section = config.default_file().split("[secrets]\n", 1)[1]
    assert "# key =" in section.splitlines()
    assert "previous_keys = []" in section.splitlines()
    assert "data_dir/secret-key" in section
    path = tmp_path / "hostler.toml"
    path.write_text(config.default_file())
    assert config.load(path).secrets == config.Secrets()


def test_each_extensions_configuration_comes_from_the_file_or_variables_as_text(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "hostler.toml"
    path.write_text(
        '[extensions.config.notify]\nsmtp_host = "mail"\nsmtp_port = 2525\nsmtp_starttls = true\n'
    )
    settings = config.load(path, environ={"HOSTLER_EXTENSIONS__CONFIG__GITHUB__TOKEN": "ghp_x"})
    assert settings.extensions.config_of("notify") == {
        "smtp_host": "mail",
        "smtp_port": "2525",
        "smtp_starttls": "true",
    }
    assert settings.extensions.config_of("github") == {"token": "ghp_x"}
    assert settings.extensions.config_of("cron") == {}
