"""The AES-GCM cipher: values bound to their place, keys rotated, keys read from settings."""

from __future__ import annotations

import base64
import hashlib

import pytest

from hostler.core import errors, ports, secrets
from hostler.crypto import aesgcm

KEY = bytes(range(32))
OLD = bytes(range(100, 132))
HERE = secrets.context_of("default", "hello", "TOKEN")


@pytest.fixture
def keyring() -> aesgcm.Keyring:
    return aesgcm.Keyring(KEY)


def test_keyring_implements_the_port(keyring: aesgcm.Keyring) -> None:
    port: ports.Cipher = keyring
    assert port is keyring


def test_a_value_round_trips(keyring: aesgcm.Keyring) -> None:
    sealed = keyring.encrypt(b"hunter2", HERE)
    assert keyring.decrypt(sealed, keyring.key, HERE) == b"hunter2"


def test_a_sealed_value_is_a_nonce_then_the_ciphertext_and_its_tag(
    keyring: aesgcm.Keyring,
) -> None:
    sealed = keyring.encrypt(b"hunter2", HERE)
    assert len(sealed) == aesgcm.NONCE_BYTES + len(b"hunter2") + 16
    assert b"hunter2" not in sealed


def test_two_encryptions_of_one_value_differ(keyring: aesgcm.Keyring) -> None:
    first, second = keyring.encrypt(b"hunter2", HERE), keyring.encrypt(b"hunter2", HERE)
    assert first != second
    assert first[: aesgcm.NONCE_BYTES] != second[: aesgcm.NONCE_BYTES]


@pytest.mark.parametrize(
    "elsewhere",
    [
        secrets.context_of("default", "hello", "OTHER"),
        secrets.context_of("default", "other", "TOKEN"),
        secrets.context_of("team", "hello", "TOKEN"),
        secrets.context_of(None, None, "TOKEN"),
    ],
)
def test_the_context_binds_a_value_to_its_place(keyring: aesgcm.Keyring, elsewhere: bytes) -> None:
    sealed = keyring.encrypt(b"hunter2", HERE)
    with pytest.raises(errors.FailedPrecondition) as caught:
        keyring.decrypt(sealed, keyring.key, elsewhere)
    assert caught.value.message.startswith(
        f"secrets: the value does not decrypt with key '{keyring.key}'"
    )


@pytest.mark.parametrize("position", [0, aesgcm.NONCE_BYTES, -1])
def test_a_tampered_value_does_not_decrypt(keyring: aesgcm.Keyring, position: int) -> None:
    sealed = bytearray(keyring.encrypt(b"hunter2", HERE))
    sealed[position] ^= 0x01
    with pytest.raises(errors.FailedPrecondition, match="does not decrypt"):
        keyring.decrypt(bytes(sealed), keyring.key, HERE)


@pytest.mark.parametrize("sealed", [b"", b"short", bytes(27)])
def test_a_value_too_short_to_hold_a_nonce_and_a_tag_does_not_decrypt(
    keyring: aesgcm.Keyring, sealed: bytes
) -> None:
    with pytest.raises(errors.FailedPrecondition, match="does not decrypt"):
        keyring.decrypt(sealed, keyring.key, HERE)


def test_values_of_a_previous_key_still_decrypt_but_new_ones_use_the_current() -> None:
    before = aesgcm.Keyring(OLD)
    sealed = before.encrypt(b"hunter2", HERE)
    after = aesgcm.Keyring(KEY, [OLD])
    assert after.key == aesgcm.name_of(KEY) != before.key
    assert after.keys == (after.key, before.key)
    assert after.decrypt(sealed, before.key, HERE) == b"hunter2"
    assert aesgcm.Keyring(KEY).decrypt(after.encrypt(b"x", HERE), after.key, HERE) == b"x"


def test_a_value_does_not_decrypt_under_another_key_of_the_keyring() -> None:
    keyring = aesgcm.Keyring(KEY, [OLD])
    sealed = keyring.encrypt(b"hunter2", HERE)
    old = aesgcm.name_of(OLD)
    with pytest.raises(errors.FailedPrecondition, match=f"does not decrypt with key '{old}'"):
        keyring.decrypt(sealed, old, HERE)


def test_a_key_not_configured_is_named_with_a_hint_to_add_it(keyring: aesgcm.Keyring) -> None:
    sealed = aesgcm.Keyring(OLD).encrypt(b"hunter2", HERE)
    old = aesgcm.name_of(OLD)
    with pytest.raises(errors.FailedPrecondition) as caught:
        keyring.decrypt(sealed, old, HERE)
    assert caught.value.message == f"secrets: key '{old}' is not configured"
    assert "secrets.previous_keys" in (caught.value.hint or "")


def test_the_key_name_is_a_short_digest_that_never_contains_the_key() -> None:
    name = aesgcm.Keyring(KEY).key
    assert name == hashlib.sha256(KEY).hexdigest()[:16]
    written = [KEY.hex(), base64.urlsafe_b64encode(KEY).decode(), KEY.decode("latin-1")]
    assert not any(name in text or text in name for text in written)
    assert name != aesgcm.Keyring(OLD).key


def test_a_previous_key_equal_to_the_current_is_counted_once() -> None:
    assert aesgcm.Keyring(KEY, [KEY, OLD]).keys == (aesgcm.name_of(KEY), aesgcm.name_of(OLD))


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(33)])
def test_a_keyring_refuses_a_key_of_another_length(key: bytes) -> None:
    with pytest.raises(errors.InvalidArgument, match=f"a key has {len(key)} bytes, not 32"):
        aesgcm.Keyring(key)
    with pytest.raises(errors.InvalidArgument):
        aesgcm.Keyring(KEY, [key])


def test_a_new_key_parses_back_to_32_bytes_and_keys_are_fresh() -> None:
    text = aesgcm.new_key()
    assert len(aesgcm.parse_key(text)) == 32
    assert text != aesgcm.new_key()


@pytest.mark.parametrize(
    "text",
    [
        base64.urlsafe_b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode().rstrip("="),
        f"  {base64.urlsafe_b64encode(KEY).decode()}\n",
    ],
)
def test_a_key_is_url_safe_base64_padded_or_not(text: str) -> None:
    assert aesgcm.parse_key(text) == KEY


def test_a_key_of_url_safe_characters_parses() -> None:
    key = bytes([0xFB, 0xFF] * 16)
    text = base64.urlsafe_b64encode(key).decode()
    assert "-" in text or "_" in text
    assert aesgcm.parse_key(text) == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a key",
        base64.urlsafe_b64encode(bytes(16)).decode(),  # too short
        base64.urlsafe_b64encode(bytes(33)).decode(),  # too long
        base64.b64encode(bytes([0xFB, 0xFF] * 16)).decode(),  # '+' and '/': not URL-safe
        base64.urlsafe_b64encode(KEY).decode() + "=",  # too much padding
        KEY.hex(),
        base64.urlsafe_b64encode(KEY).decode()[:42] + "B",  # spare bits set: not canonical
    ],
)
def test_anything_else_is_not_a_key_and_the_error_names_the_setting(text: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        aesgcm.parse_key(text, field="secrets.previous_keys")
    assert caught.value.field == "secrets.previous_keys"
    assert (
        caught.value.message == "'secrets.previous_keys': not a key (URL-safe base64 of 32 bytes)"
    )
    assert caught.value.hint


def test_the_error_for_a_bad_key_never_repeats_it() -> None:
    almost = base64.urlsafe_b64encode(KEY).decode()[:40]
    with pytest.raises(errors.InvalidArgument) as caught:
        aesgcm.parse_key(almost)
    assert caught.value.field == "secrets.key"
    assert almost not in str(caught.value) + (caught.value.hint or "")
