"""Credentials as the service holds them: who a request is, logging in, and knowing when to look again.

`CredentialCache` keeps checked API tokens and browser sessions for `TTL_S` seconds, so most requests
authenticate without a database lookup. It also keeps the **credential epoch**, a counter that moves
whenever access may have been taken away from anyone (logout, token revocation, a user changed or
deactivated, a password set): the epoch moves at once for changes made through this process, on a
PostgreSQL NOTIFY for changes made by any other process, and within a poll (`POLL_S`) on SQLite. When
it moves, the cache is emptied and every open event stream checks its credential again before its next
message, ending if the credential is gone or its user changed. Between changes a stream's check is one
integer comparison.

`LoginGate` is the one way to log in (the API's login route and any login form call `log_in`): it
refuses logins the throttle has closed (`kizuna.access.LoginThrottle`, per account and per address)
before any password is checked, and runs at most `concurrency` password checks (argon2) at once,
refusing logins beyond a short queue, so a flood of logins cannot take the service's memory or cores.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from fastapi import Response

from kizuna.access import BrowserSession, LoginThrottle, User, UserDirectory, digest
from kizuna.errors import PermissionDenied, Throttled
from kizuna.service.threads import in_thread
from kizuna.settings import Settings
from kizuna.store import Clock

#: The cookie that carries a browser session id.
SESSION_COOKIE = "kizuna_session"

log = logging.getLogger("kizuna.service.login")

#: How long a checked credential is trusted before it is checked again, in seconds (a safety net:
#: the epoch empties the cache whenever something was revoked).
TTL_S = 5.0
#: Most credentials kept (the oldest go first).
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The credential a request was authenticated with, and its user as of the check.

    `secret` is the token or session id itself, kept in memory only, so an open stream can check its
    credential again; it is never logged or shown.
    """

    user: User
    kind: Literal["token", "session"]
    secret: str
    expires_at: datetime | None
    session: BrowserSession | None = None

    def __repr__(self) -> str:
        """Show the principal without its secret."""
        return f"Principal(user={self.user.id!r}, kind={self.kind!r})"


_V = TypeVar("_V")


class CredentialCache:
    """Checked API tokens and browser sessions, by digest, each until its time is up or the epoch moves."""

    def __init__(
        self,
        directory: UserDirectory,
        *,
        ttl_s: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
        now: Clock | None = None,
    ) -> None:
        """Cache lookups in `directory` for `ttl_s` seconds of `clock` (monotonic seconds).

        Args:
            directory: The user directory.
            ttl_s: How long a checked credential is trusted.
            clock: Monotonic seconds, for the cache.
            now: The service's clock (UTC), for credential expiry; the directory's own by default.
        """
        self.directory = directory
        self.ttl_s = ttl_s
        self._clock = clock
        self._now = now
        self._tokens: dict[str, tuple[float, Principal]] = {}
        self._sessions: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self.epoch = 0
        self._database_epoch = directory.epoch()

    # -- the epoch ----------------------------------------------------------------------------------

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` (on any thread) whenever the epoch moves; return the remover."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def changed(self, database_epoch: int | None = None) -> None:
        """Move the epoch: something was revoked or a user changed (thread-safe).

        Args:
            database_epoch: The directory's epoch as announced or polled; an epoch already seen is
                ignored. None for a change this process made itself.
        """
        with self._lock:
            if database_epoch is not None:
                if database_epoch <= self._database_epoch:
                    return
                self._database_epoch = database_epoch
            self._tokens.clear()
            self._sessions.clear()
            self.epoch += 1
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def poll(self) -> None:
        """Read the directory's epoch and move ours if it moved (for changes no notification brought)."""
        self.changed(self.directory.epoch())

    # -- authentication -----------------------------------------------------------------------------

    async def token(self, token: str) -> Principal:
        """Return the principal of a valid API token (PermissionDenied if it is not valid)."""
        return await self._cached(self._tokens, token, self._check_token)

    async def session(self, session_id: str) -> Principal:
        """Return the principal of a live browser session (PermissionDenied if it is not live)."""
        return await self._cached(self._sessions, session_id, self._check_session)

    async def token_user(self, token: str) -> User:
        """Return the user of a valid API token (PermissionDenied if it is not valid)."""
        return (await self.token(token)).user

    async def still_valid(self, principal: Principal) -> bool:
        """Check a principal again against the directory: still valid, and its user unchanged."""
        check = self._check_token if principal.kind == "token" else self._check_session
        try:
            fresh = await in_thread(check, principal.secret)
        except PermissionDenied:
            return False
        return fresh.user == principal.user

    def expired(self, principal: Principal) -> bool:
        """Tell whether the principal's credential has expired by the service's clock."""
        if principal.expires_at is None:
            return False
        now = self._now() if self._now is not None else datetime.now(principal.expires_at.tzinfo)
        return principal.expires_at <= now

    def forget_session(self, session_id: str) -> None:
        """Drop a session at once (on logout)."""
        with self._lock:
            self._sessions.pop(digest(session_id), None)

    def log_out(self, session_id: str) -> None:
        """End a browser session at once: forget it, end it in the directory, and move the epoch.

        Open streams on the session end before their next message; API tokens are not affected. Both
        the API's logout and the console's sign-out call this.
        """
        self.forget_session(session_id)
        self.directory.end_session(session_id)
        self.changed()

    def _check_token(self, token: str) -> Principal:
        user, expires = self.directory.check_token(token)
        return Principal(user=user, kind="token", secret=token, expires_at=expires)

    def _check_session(self, session_id: str) -> Principal:
        session = self.directory.session(session_id)
        return Principal(
            user=session.user,
            kind="session",
            secret=session_id,
            expires_at=session.expires_at,
            session=session,
        )

    async def _cached(
        self, table: dict[str, tuple[float, Principal]], secret: str, check: Callable[[str], Principal]
    ) -> Principal:
        key = digest(secret)
        with self._lock:
            hit = table.get(key)
            epoch = self.epoch
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        principal = await in_thread(check, secret)
        with self._lock:
            if self.epoch == epoch:  # nothing was revoked while we looked: keep it
                if len(table) >= MAX_ENTRIES:
                    table.pop(next(iter(table)))
                table[key] = (self._clock() + self.ttl_s, principal)
        return principal


class LoginGate:
    """Logins: throttled per account and address, with a bounded number of password checks at once."""

    def __init__(self, throttle: LoginThrottle, *, concurrency: int | None = None, queue: int = 64) -> None:
        """Gate logins through `throttle`, `concurrency` argon2 checks at once (default: the cores).

        Args:
            throttle: Failed-login backoff per account and per address.
            concurrency: Password checks run at once; each argon2id check takes tens of MiB and a core.
            queue: Logins that may wait for a check; more at once are refused (429) at once.
        """
        self.throttle = throttle
        self.concurrency = concurrency or os.cpu_count() or 1
        self.queue = queue
        self.checking = 0  # password checks running now (for tests and health)
        self.most_checking = 0  # the most that ever ran at once
        self._waiting = 0
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore, self._loop = asyncio.Semaphore(self.concurrency), loop
        return self._semaphore

    async def authenticate(
        self, directory: UserDirectory, username: str, password: str, address: str
    ) -> User:
        """Return the user whose password this is, or refuse.

        Raises:
            Throttled: The account or the address is closed for now, or too many logins are waiting.
            PermissionDenied: Wrong user or password (the same message either way); counted.
        """
        try:
            self.throttle.check(username, address)
        except Throttled:
            log.warning("login for %r from %s refused: throttled", username, address)
            raise
        if self._waiting >= self.queue:
            raise Throttled("too many logins at once; try again in a moment", retry_after_s=1.0)
        gate = self._gate()
        self._waiting += 1
        try:
            await gate.acquire()
        finally:
            self._waiting -= 1
        try:
            self.throttle.check(username, address)  # failures counted while this login waited
            self.checking += 1
            self.most_checking = max(self.most_checking, self.checking)
            try:
                user = await in_thread(directory.authenticate, username, password)
            finally:
                self.checking -= 1
        except PermissionDenied:
            self.throttle.failed(username, address)
            log.warning("failed login for %r from %s", username, address)
            raise
        finally:
            gate.release()
        self.throttle.succeeded(username)
        log.info("login of %r from %s", username, address)
        return user


async def log_in(
    gate: LoginGate, directory: UserDirectory, username: str, password: str, address: str
) -> BrowserSession:
    """Log a user in with a password and start a browser session: what every login form calls.

    Raises:
        Throttled: Too many failed logins for the account or the address, or too many at once.
        PermissionDenied: Wrong user or password.
    """
    user = await gate.authenticate(directory, username, password, address)
    return await in_thread(directory.start_session, user)


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
