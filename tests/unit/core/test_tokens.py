"""Tokens: random texts kept as digests, parsed strictly, verified in constant time."""

from __future__ import annotations

import datetime

import pytest

from hostler.core import errors, tokens

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def test_a_new_token_keeps_only_the_digest_of_its_secret() -> None:
    token, text = tokens.new("ci", ("admin",), created=NOW, created_by="root")
    token_id, secret = tokens.parse(text)
    assert text.startswith(f"hst_{token.id}_")
    assert token_id == token.id
    assert secret not in token.digest and text not in repr(token)
    assert len(token.digest) == 64
    assert tokens.verify(token, secret)
    assert not tokens.verify(token, secret[:-1] + ("A" if secret[-1] != "A" else "B"))


def test_two_tokens_never_share_id_or_secret() -> None:
    made = [tokens.new("t", (), created=NOW, created_by="x")[1] for _ in range(50)]
    assert len({tokens.parse(text)[0] for text in made}) == 50
    assert len(set(made)) == 50


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hst_",
        "Bearer hst_abc",
        "hst_0123456789ab_short",
        "hst_0123456789AB_" + "a" * 43,
        "x" * 60,
    ],
)
def test_other_texts_are_not_tokens(text: str) -> None:
    with pytest.raises(errors.Unauthenticated, match="not a Hostler token"):
        tokens.parse(text)


def test_expiry() -> None:
    token, _ = tokens.new("t", (), created=NOW, created_by="x", expires=NOW)
    assert token.expired(NOW)
    assert not token.evolve(expires=None).expired(NOW)
    assert not token.expired(NOW - datetime.timedelta(seconds=1))
