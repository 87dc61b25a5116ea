"""Credential primitives: argon2 password hashes, random tokens stored as digests, CSRF comparison."""

from __future__ import annotations

from kizuna.access import (
    TOKEN_PREFIX,
    Passwords,
    csrf_matches,
    digest,
    new_api_token,
    new_csrf_token,
    new_session_id,
)


def test_a_password_hash_is_salted_argon2id_and_checks_only_the_right_password() -> None:
    passwords = Passwords.fast()
    first, second = passwords.hash("correct horse"), passwords.hash("correct horse")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert passwords.verify(first, "correct horse")
    assert not passwords.verify(first, "correct horse!")
    assert not passwords.verify("not a hash", "correct horse")


def test_a_hash_made_at_another_cost_needs_rehashing() -> None:
    cheap = Passwords.fast().hash("correct horse")
    assert Passwords.default().needs_rehash(cheap)
    assert not Passwords.fast().needs_rehash(cheap)
    assert Passwords.default().verify(cheap, "correct horse")  # still verifies meanwhile


def test_tokens_and_session_ids_are_random_and_stored_as_digests() -> None:
    tokens = {new_api_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(t.startswith(TOKEN_PREFIX) and len(t) > 40 for t in tokens)
    assert len({new_session_id() for _ in range(50)}) == 50
    token = new_api_token()
    assert digest(token) == digest(token)
    assert len(digest(token)) == 64
    assert token not in digest(token)


def test_csrf_tokens_must_match_exactly() -> None:
    token = new_csrf_token()
    assert csrf_matches(token, token)
    assert not csrf_matches(token, None)
    assert not csrf_matches(token, "")
    assert not csrf_matches(token, token[:-1])
    assert not csrf_matches(token, new_csrf_token())
