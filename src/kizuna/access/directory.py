"""The user directory: local accounts, API tokens and browser sessions in the store's database.

The tables (users, api_tokens, sessions) are created by the store's migrations (revision 0002); this
module reads and writes them with SQLAlchemy Core and knows nothing else of the store, so access stays
below the store in the layers. Give it the store's engine: `UserDirectory(store.engine)`.

Failures to authenticate all raise the same `PermissionDenied` message, and an unknown user costs the
same password check as a known one, so the answers do not tell which user ids exist.

Every change that takes access away (a user changed or deactivated, a password set, a token revoked, a
session ended) raises the credential epoch in the same transaction (table `credential_epoch`) and, on
PostgreSQL, announces it on the store's signal channel (`credentials:<epoch>`), so every service
process learns at once that open streams must check their credentials again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from kizuna.access.credentials import (
    Passwords,
    check_password,
    csrf_matches,
    digest,
    new_api_token,
    new_csrf_token,
    new_session_id,
)
from kizuna.access.marking import Classification
from kizuna.access.users import Role, User
from kizuna.errors import ConflictError, NotFound, PermissionDenied, UnknownId

#: The tables as the store's migration 0002 creates them.
metadata = MetaData()
users_table = Table(
    "users",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("nation", String(3), nullable=False),
    Column("organization", String(80), nullable=False),
    Column("role", String(40), nullable=False),
    Column("clearance", String(40), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
tokens_table = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(80), ForeignKey("users.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked", Boolean, nullable=False),
)
sessions_table = Table(
    "sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", String(80), ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

credential_epoch_table = Table(
    "credential_epoch",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("epoch", BigInteger, nullable=False),
)

#: The one message for every failed authentication.
DENIED = "invalid credentials"
#: The store's channel for signals between processes (`kizuna.store.notify.SIGNALS`).
SIGNALS_CHANNEL = "kizuna_signals"
#: How many hex digits of a token's SHA-256 name it in listings (its public id).
TOKEN_ID_LENGTH = 16
#: Lifetime of an API token issued without one of its own.
DEFAULT_TOKEN_TTL = timedelta(days=90)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """A logged-in browser: the user, the CSRF token its forms must echo, and when it expires.

    `session_id` is the cookie value; it is only known when the session is started (the database keeps
    its hash), so sessions looked up later carry an empty `session_id`.
    """

    session_id: str
    user: User
    csrf_token: str
    expires_at: datetime

    def check_csrf(self, given: str | None) -> None:
        """Accept a state-changing request only if it echoes this session's CSRF token.

        Raises:
            PermissionDenied: The token is missing or wrong.
        """
        if not csrf_matches(self.csrf_token, given):
            raise PermissionDenied("missing or invalid CSRF token")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as listed (never the token itself): `id` is the start of its SHA-256."""

    id: str
    user_id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


class UserDirectory:
    """Local accounts: add and list users, log in, issue API tokens, start and check sessions."""

    def __init__(
        self,
        engine: Engine,
        *,
        passwords: Passwords | None = None,
        clock: Callable[[], datetime] = _now,
        session_ttl: timedelta = timedelta(hours=8),
        token_ttl: timedelta = DEFAULT_TOKEN_TTL,
    ) -> None:
        """Use the accounts tables of the database behind `engine` (the store's engine).

        Args:
            engine: An engine on a database migrated by `kizuna.store` (revision 0004 or later).
            passwords: The password hasher; argon2id at the default cost unless given.
            clock: The current time (for token and session expiry).
            session_ttl: How long a browser session lasts.
            token_ttl: How long an API token lasts unless issued with its own lifetime.
        """
        self.engine = engine
        self.passwords = passwords or Passwords.default()
        self._clock = clock
        self._session_ttl = session_ttl
        self.token_ttl = token_ttl
        self._postgresql = engine.dialect.name == "postgresql"

    # -- the credential epoch -----------------------------------------------------------------------

    def epoch(self) -> int:
        """Return the credential epoch: it grows whenever access was taken away from anyone."""
        with self.engine.connect() as connection:
            return int(connection.execute(select(credential_epoch_table.c.epoch)).scalar_one())

    def _raise_epoch(self, connection: Connection) -> None:
        """Raise the epoch inside the caller's transaction; on PostgreSQL announce it at commit."""
        connection.execute(
            update(credential_epoch_table)
            .where(credential_epoch_table.c.id == 1)
            .values(epoch=credential_epoch_table.c.epoch + 1)
        )
        if self._postgresql:
            epoch = connection.execute(select(credential_epoch_table.c.epoch)).scalar_one()
            connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": SIGNALS_CHANNEL, "payload": f"credentials:{epoch}"},
            )

    @cached_property
    def _dummy_hash(self) -> str:
        """A hash to check unknown users' passwords against, so they cost what known users cost."""
        return self.passwords.hash("kizuna-no-such-user")

    # -- users --------------------------------------------------------------------------------------

    def add(self, user: User, password: str | None = None) -> User:
        """Create a user, with a password if given (a user without one logs in by API token only).

        Raises:
            ConflictError: A user with this id exists.
            InvalidQuery: The password is shorter than MIN_PASSWORD_LENGTH.
        """
        password_hash = self._hash_new(password, user.id) if password is not None else None
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(users_table).values(
                        **_user_row(user), password_hash=password_hash, created_at=_utc(self._clock())
                    )
                )
        except SqlIntegrityError as error:
            raise ConflictError(f"user {user.id!r} already exists", current=user.id) from error
        return user

    def get(self, user_id: str) -> User:
        """Return a user.

        Raises:
            UnknownId: No user has this id.
        """
        with self.engine.connect() as connection:
            row = connection.execute(select(users_table).where(users_table.c.id == user_id)).first()
            if row is None:
                known = connection.execute(select(users_table.c.id)).scalars().all()
                raise UnknownId("user", user_id, known)
        return _user(row)

    def users(self) -> list[User]:
        """Return every user, ordered by id."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(users_table).order_by(users_table.c.id)).all()
        return [_user(row) for row in rows]

    def update(self, user: User) -> User:
        """Replace a user's name, nation, organization, role, clearance and active flag.

        Raises:
            UnknownId: No user has this id.
        """
        with self.engine.begin() as connection:
            result = connection.execute(
                update(users_table).where(users_table.c.id == user.id).values(**_user_row(user))
            )
            self._raise_epoch(connection)
        if result.rowcount == 0:
            self.get(user.id)  # raises UnknownId naming the known users
        return user

    def set_password(self, user_id: str, password: str) -> None:
        """Set a user's password and end the user's browser sessions (API tokens stay valid).

        Raises:
            UnknownId: No user has this id.
            InvalidQuery: The password breaks the policy (`check_password`).
        """
        password_hash = self._hash_new(password, user_id)
        with self.engine.begin() as connection:
            result = connection.execute(
                update(users_table).where(users_table.c.id == user_id).values(password_hash=password_hash)
            )
            if result.rowcount:
                connection.execute(delete(sessions_table).where(sessions_table.c.user_id == user_id))
                self._raise_epoch(connection)
        if result.rowcount == 0:
            self.get(user_id)

    def _hash_new(self, password: str, user_id: str) -> str:
        check_password(password, user_id)
        return self.passwords.hash(password)

    # -- passwords ----------------------------------------------------------------------------------

    def authenticate(self, user_id: str, password: str) -> User:
        """Return the active user whose password this is (re-hashing it if the cost changed).

        Raises:
            PermissionDenied: Unknown user, wrong password, no password, or an inactive user.
        """
        with self.engine.connect() as connection:
            row = connection.execute(select(users_table).where(users_table.c.id == user_id)).first()
        if row is None or row.password_hash is None:
            self.passwords.verify(self._dummy_hash, password)  # the same cost as a real check
            raise PermissionDenied(DENIED)
        if not self.passwords.verify(row.password_hash, password) or not row.active:
            raise PermissionDenied(DENIED)
        if self.passwords.needs_rehash(row.password_hash):
            with self.engine.begin() as connection:
                connection.execute(
                    update(users_table)
                    .where(users_table.c.id == user_id)
                    .values(password_hash=self.passwords.hash(password))
                )
        return _user(row)

    # -- API tokens ---------------------------------------------------------------------------------

    def issue_token(self, user_id: str, name: str, *, ttl: timedelta | None = None) -> str:
        """Create an API token for a user and return it; it cannot be shown again.

        Every token expires: after `ttl`, or the directory's `token_ttl` when not given.

        Raises:
            UnknownId: No user has this id.
        """
        self.get(user_id)
        token = new_api_token()
        now = _utc(self._clock())
        with self.engine.begin() as connection:
            connection.execute(
                insert(tokens_table).values(
                    token_hash=digest(token),
                    user_id=user_id,
                    name=name,
                    created_at=now,
                    expires_at=now + (ttl if ttl is not None else self.token_ttl),
                    revoked=False,
                )
            )
        return token

    @staticmethod
    def token_id(token: str) -> str:
        """Return the public id of a token (the start of its SHA-256), as listings show it."""
        return digest(token)[:TOKEN_ID_LENGTH]

    def user_for_token(self, token: str) -> User:
        """Return the active user an unrevoked, unexpired API token belongs to.

        Raises:
            PermissionDenied: The token is unknown, revoked or expired, or the user is inactive.
        """
        return self.check_token(token)[0]

    def check_token(self, token: str) -> tuple[User, datetime | None]:
        """Return the active user of an unrevoked, unexpired API token, and when the token expires.

        Raises:
            PermissionDenied: The token is unknown, revoked or expired, or the user is inactive.
        """
        with self.engine.connect() as connection:
            row = connection.execute(
                select(users_table, tokens_table.c.revoked, tokens_table.c.expires_at)
                .join(tokens_table, users_table.c.id == tokens_table.c.user_id)
                .where(tokens_table.c.token_hash == digest(token))
            ).first()
        if row is None or row.revoked or not row.active:
            raise PermissionDenied(DENIED)
        expires = _utc(row.expires_at) if row.expires_at is not None else None
        if expires is not None and expires <= _utc(self._clock()):
            raise PermissionDenied(DENIED)
        return _user(row), expires

    def revoke_token(self, token: str) -> bool:
        """Revoke an API token; return whether it existed."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(tokens_table).where(tokens_table.c.token_hash == digest(token)).values(revoked=True)
            )
            if result.rowcount:
                self._raise_epoch(connection)
        return bool(result.rowcount)

    def revoke_token_id(self, token_id: str, *, user_id: str | None = None) -> TokenInfo:
        """Revoke an API token by its public id (of `user_id` only, if given); return it as listed.

        Raises:
            NotFound: No token has this id (or none of `user_id`'s): the same answer either way.
        """
        found = [t for t in self.tokens(user_id) if t.id == token_id.lower()] if token_id else []
        if len(found) != 1:
            raise NotFound(f"no token {token_id!r}")
        with self.engine.begin() as connection:
            connection.execute(
                update(tokens_table)
                .where(tokens_table.c.token_hash.startswith(found[0].id, autoescape=True))
                .values(revoked=True)
            )
            self._raise_epoch(connection)
        return replace(found[0], revoked=True)

    def tokens(self, user_id: str | None = None) -> list[TokenInfo]:
        """List API tokens (all, or one user's), oldest first."""
        query = select(tokens_table).order_by(tokens_table.c.created_at)
        if user_id is not None:
            query = query.where(tokens_table.c.user_id == user_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            TokenInfo(
                id=r.token_hash[:TOKEN_ID_LENGTH],
                user_id=r.user_id,
                name=r.name,
                created_at=_utc(r.created_at),
                expires_at=_utc(r.expires_at) if r.expires_at is not None else None,
                revoked=r.revoked,
            )
            for r in rows
        ]

    # -- browser sessions ---------------------------------------------------------------------------

    def start_session(self, user: User) -> BrowserSession:
        """Start a browser session for an authenticated user; its `session_id` goes in the cookie."""
        session_id, csrf = new_session_id(), new_csrf_token()
        now = _utc(self._clock())
        expires = now + self._session_ttl
        with self.engine.begin() as connection:
            connection.execute(
                insert(sessions_table).values(
                    session_hash=digest(session_id),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return BrowserSession(session_id=session_id, user=user, csrf_token=csrf, expires_at=expires)

    def session(self, session_id: str) -> BrowserSession:
        """Return the live session a cookie names.

        Raises:
            PermissionDenied: The session is unknown or expired, or its user is inactive.
        """
        with self.engine.connect() as connection:
            row = connection.execute(
                select(users_table, sessions_table.c.csrf_token, sessions_table.c.expires_at)
                .join(sessions_table, users_table.c.id == sessions_table.c.user_id)
                .where(sessions_table.c.session_hash == digest(session_id))
            ).first()
        if row is None or not row.active or _utc(row.expires_at) <= _utc(self._clock()):
            raise PermissionDenied(DENIED)
        return BrowserSession(
            session_id="", user=_user(row), csrf_token=row.csrf_token, expires_at=_utc(row.expires_at)
        )

    def end_session(self, session_id: str) -> None:
        """Log a browser session out (and purge every expired session)."""
        with self.engine.begin() as connection:
            connection.execute(
                delete(sessions_table).where(sessions_table.c.session_hash == digest(session_id))
            )
            connection.execute(
                delete(sessions_table).where(sessions_table.c.expires_at <= _utc(self._clock()))
            )
            self._raise_epoch(connection)


def _user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "nation": user.nation,
        "organization": user.organization,
        "role": user.role.value,
        "clearance": user.clearance.value,
        "active": user.active,
    }


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        name=row.name,
        nation=row.nation,
        organization=row.organization,
        role=Role(row.role),
        clearance=Classification(row.clearance),
        active=row.active,
    )
