"""Credential primitives: argon2 password hashes, random API tokens and session ids, CSRF tokens.

Passwords are hashed with argon2id (argon2-cffi). API tokens and session ids are 256-bit random values;
the database keeps only their SHA-256 (a fast hash is enough for values this random), so a stolen
database does not yield usable tokens. CSRF protection is the synchronizer-token pattern: each session
carries a random CSRF token that every state-changing browser request must echo, compared in constant
time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kizuna.errors import InvalidQuery

#: API tokens start with this, so they are recognizable in logs and secret scanners.
TOKEN_PREFIX = "kzn_"  # noqa: S105 - a public prefix, not a secret

#: Shortest password accepted (NIST SP 800-63B §5.1.1.2: at least 8, checked against a blocklist).
MIN_PASSWORD_LENGTH = 8
#: Longest password accepted (the login form's limit too): argon2 hashes any length, but there is no
#: reason to make it hash megabytes.
MAX_PASSWORD_LENGTH = 1000


@dataclass(frozen=True, slots=True)
class Passwords:
    """Hashes and checks passwords with argon2id at a chosen cost.

    The default cost is argon2-cffi's (RFC 9106 low-memory profile). `Passwords.fast()` is a cheaper
    but otherwise identical hasher for tests and demos.
    """

    hasher: PasswordHasher

    @classmethod
    def default(cls) -> Passwords:
        """Return the production hasher."""
        return cls(PasswordHasher())

    @classmethod
    def fast(cls) -> Passwords:
        """Return a low-cost hasher (1 pass, 8 MiB) for tests and throw-away demo users."""
        return cls(PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))

    def hash(self, password: str) -> str:
        """Return the argon2id hash of `password` (salted; a PHC string)."""
        return str(self.hasher.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether `password` matches `password_hash`, without raising on a wrong password."""
        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether the hash was made at another cost and should be replaced at the next login."""
        return bool(self.hasher.check_needs_rehash(password_hash))


def new_api_token() -> str:
    """Return a new random API token (`kzn_` and 43 URL-safe characters)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    """Return a new random session id for a browser cookie."""
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    """Return a new random CSRF token (hex) for a session."""
    return secrets.token_hex(32)


def digest(secret: str) -> str:
    """Return the SHA-256 (hex) of a token or session id: what the database stores and looks up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """Tell, in constant time, whether a request's CSRF token is the session's."""
    return given is not None and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


@cache
def common_passwords() -> frozenset[str]:
    """Return the blocklist: the 30,000 most common passwords of public leaks, lower-cased.

    The list ships with the `zxcvbn` package (Dropbox's password strength estimator, MIT licence), the
    `passwords` frequency list it builds from leaked password corpora; it is loaded on first use.
    """
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    words: list[str] | str = FREQUENCY_LISTS["passwords"]
    listed = words.split(",") if isinstance(words, str) else words
    return frozenset(w.lower() for w in listed)


def check_password(password: str, user_id: str | None = None) -> None:
    """Refuse a password that is too short, too long, common, or the user's own id.

    The message says which rule failed and never repeats the password.

    Raises:
        InvalidQuery: The password breaks the policy.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidQuery(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidQuery(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    folded = password.strip().lower()
    if folded in common_passwords():
        raise InvalidQuery("that password is among the most common ones in public leaks; choose another")
    if user_id is not None and (
        folded == user_id.lower() or (len(user_id) >= 4 and user_id.lower() in folded)
    ):
        raise InvalidQuery("a password may not contain the user's id")
