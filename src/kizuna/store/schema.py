"""The store's tables as SQLAlchemy Core metadata: the event log, the chain head, idempotency keys,
projection checkpoints, and the accounts tables (users, API tokens, sessions) that `kizuna.access`
reads and writes.

The migrations in `kizuna.store.migrations` create exactly these tables; a test compares them.
Projection tables are not here: each projection brings its own and `rebuild()` recreates them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

#: The append-only log. `seq` is global and gapless; (`stream`, `version`) is unique. Payload and
#: marking hold their canonical JSON text exactly (kizuna.store.canonical), which the hash covers.
events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("stream", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(120), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("actor", String(120), nullable=True),
    Column("marking", JSON, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("idempotency_key", String(200), nullable=True, index=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # How `hash` was computed (kizuna.store.HashFormat); events of databases older than the column are 1.
    Column("hash_format", SmallInteger, nullable=False, server_default=text("1")),
    UniqueConstraint("stream", "version", name="uq_events_stream_version"),
)

#: One row (id 1): the last sequence number and hash. Appends lock it, which serializes the chain.
chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

#: Each idempotency key once, with the events its append produced.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("stream", String(200), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
)

#: How far each registered projection has applied the log, and at which version of its code.
projection_state = Table(
    "projection_state",
    metadata,
    Column("name", String(120), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
)

#: Local user accounts (`kizuna.access.directory`). Nation is a REL TO code (`USA`, `JPN`).
users = Table(
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

#: API tokens, stored as the SHA-256 of the token; the token itself is shown once.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(80), ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked", Boolean, nullable=False),
)

#: Browser sessions, stored as the SHA-256 of the session id, with their CSRF token.
sessions = Table(
    "sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", String(80), ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

#: One row: a counter the user directory raises whenever a credential is revoked or a user changed,
#: so every service process can tell cheaply that open streams must check their credentials again.
credential_epoch = Table(
    "credential_epoch",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("epoch", BigInteger, nullable=False),
)

#: Each user's web console preferences (`kizuna.access.preferences`): language and time zone.
user_preferences = Table(
    "user_preferences",
    metadata,
    Column("user_id", String(80), ForeignKey("users.id"), primary_key=True),
    Column("language", String(16), nullable=True),
    Column("time_zone", String(64), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
