"""The AES-GCM cipher: ``ports.Cipher`` under the installation's 256-bit keys.

A value is stored as a random 12-byte nonce followed by AES-256-GCM's ciphertext and tag, the
context passed as associated data, so that it decrypts only with its key and in its own place. A
key is written as URL-safe base64 of 32 random bytes (``new_key``); it is named by the first 16
hex digits of its SHA-256, which tells keys apart without giving any of them away.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import aead

from hostler.core import errors

KEY_BYTES = 32
"""The length of a key: AES-256."""

NONCE_BYTES = 12
"""The length of the random nonce in front of every value (GCM's standard size)."""

_TAG_BYTES = 16
_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]{43}=?")
_NEW_KEY_HINT = (
    "give URL-safe base64 of 32 random bytes, such as the output of "
    "python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
)


def name_of(key: bytes) -> str:
    """Return the name of ``key``: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


def parse_key(text: str, *, field: str = "secrets.key") -> bytes:
    """Return the 32 bytes written as ``text`` (URL-safe base64, padded or not).

    InvalidArgument naming ``field`` on anything else; the message never repeats the text, which
    may be a real key mistyped.
    """
    if not _KEY_TEXT.fullmatch(text.strip()):
        raise _not_a_key(field)
    written = text.strip().rstrip("=")
    key = base64.urlsafe_b64decode(written + "=")  # the pattern admits only decodable text
    # 43 characters carry 258 bits: two more than the key. Text whose last character sets them
    # would decode to the same key as another text; only the canonical form is accepted.
    if base64.urlsafe_b64encode(key).decode().rstrip("=") != written:
        raise _not_a_key(field)
    return key


def _not_a_key(field: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(
        f"'{field}': not a key (URL-safe base64 of 32 bytes)",
        field=field,
        hint=_NEW_KEY_HINT,
    )


def new_key() -> str:
    """Return a fresh random key, written as ``parse_key`` reads it."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


class Keyring:
    """AES-256-GCM under a current key and, for values encrypted before, previous keys;
    implements ``hostler.core.ports.Cipher``.

    Keys are raw 32-byte strings (``parse_key`` reads them from settings). Values are encrypted
    under the current key only; any of the keys decrypts the values made under it. Safe to share
    between threads.
    """

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self._keys: dict[str, aead.AESGCM] = {}
        for key in (current, *previous):
            if len(key) != KEY_BYTES:
                raise errors.InvalidArgument(
                    f"secrets: a key has {len(key)} bytes, not {KEY_BYTES}",
                    field="secrets.key",
                    hint=_NEW_KEY_HINT,
                )
            self._keys.setdefault(name_of(key), aead.AESGCM(key))
        self._current = name_of(current)

    @property
    def key(self) -> str:
        """The name of the current key (not the key itself)."""
        return self._current

    @property
    def keys(self) -> tuple[str, ...]:
        """The names of every key this keyring decrypts with, the current one first."""
        return tuple(self._keys)

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        """Return ``plaintext`` encrypted under the current key and bound to ``context``: a fresh
        random nonce, then the ciphertext and its tag."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._keys[self._current].encrypt(nonce, plaintext, context)

    def decrypt(self, ciphertext: bytes, key: str, context: bytes) -> bytes:
        """Return the plaintext of ``ciphertext`` made under the key named ``key`` with
        ``context``; FailedPrecondition when that key is not configured or the value does not
        decrypt (another key or context, or changed since)."""
        cipher = self._keys.get(key)
        if cipher is None:
            raise errors.FailedPrecondition(
                f"secrets: key '{key}' is not configured",
                hint="add the key the secret was encrypted with to 'secrets.previous_keys', "
                "or set the secret again",
            )
        if len(ciphertext) < NONCE_BYTES + _TAG_BYTES:
            raise _does_not_decrypt(key)
        try:
            return cipher.decrypt(ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:], context)
        except InvalidTag:
            raise _does_not_decrypt(key) from None


def _does_not_decrypt(key: str) -> errors.FailedPrecondition:
    return errors.FailedPrecondition(
        f"secrets: the value does not decrypt with key '{key}' "
        "(it was changed, or made for another secret)",
        hint="set the secret again",
    )
