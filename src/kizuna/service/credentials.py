"""A short-lived cache of checked credentials, so each request does not query the user directory.

A token or session found valid is trusted for `TTL_S` seconds without another database lookup; after
that it is checked again. So revoking a token, ending a session elsewhere or deactivating a user takes
effect within `TTL_S` seconds (logging out through this service takes effect at once). Failed checks
are never cached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from fastapi import Response
from fastapi.concurrency import run_in_threadpool

from kizuna.access import BrowserSession, User, UserDirectory, digest
from kizuna.settings import Settings

#: The cookie that carries a browser session id.
SESSION_COOKIE = "kizuna_session"

_V = TypeVar("_V", User, BrowserSession)

#: How long a checked credential is trusted before it is checked again, in seconds.
TTL_S = 5.0
#: Most credentials kept (the oldest go first).
MAX_ENTRIES = 10_000


class CredentialCache:
    """Checked API tokens and browser sessions, by digest, each until its time is up."""

    def __init__(
        self, directory: UserDirectory, *, ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Cache lookups in `directory` for `ttl_s` seconds of `clock` (monotonic seconds)."""
        self.directory = directory
        self.ttl_s = ttl_s
        self._clock = clock
        self._tokens: dict[str, tuple[float, User]] = {}
        self._sessions: dict[str, tuple[float, BrowserSession]] = {}
        self._lock = threading.Lock()

    async def token_user(self, token: str) -> User:
        """Return the user of a valid API token (PermissionDenied if it is not valid)."""
        key = digest(token)
        with self._lock:
            hit = self._tokens.get(key)
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        user = await run_in_threadpool(self.directory.user_for_token, token)
        self._keep(self._tokens, key, user)
        return user

    async def session(self, session_id: str) -> BrowserSession:
        """Return the live session of a cookie (PermissionDenied if it is not live)."""
        key = digest(session_id)
        with self._lock:
            hit = self._sessions.get(key)
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        session = await run_in_threadpool(self.directory.session, session_id)
        self._keep(self._sessions, key, session)
        return session

    def forget_session(self, session_id: str) -> None:
        """Drop a session at once (on logout)."""
        with self._lock:
            self._sessions.pop(digest(session_id), None)

    def _keep(self, table: dict[str, tuple[float, _V]], key: str, value: _V) -> None:
        with self._lock:
            if len(table) >= MAX_ENTRIES:
                table.pop(next(iter(table)))
            table[key] = (self._clock() + self.ttl_s, value)


def log_in(directory: UserDirectory, username: str, password: str) -> BrowserSession:
    """Check a password and start a browser session: the one login of the API and the web console.

    Both `POST /api/auth/login` and the console's sign-in form call this, so whatever guards a login
    (the password check, throttling of repeated failures) guards both.

    Raises:
        PermissionDenied: The credentials are not valid.
    """
    user = directory.authenticate(username, password)
    return directory.start_session(user)


def set_session_cookie(response: Response, session: BrowserSession, settings: Settings) -> None:
    """Set the HttpOnly, SameSite=Strict session cookie of a new browser session."""
    response.set_cookie(
        SESSION_COOKIE,
        session.session_id,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        max_age=settings.session_ttl_minutes * 60,
        path="/",
    )
