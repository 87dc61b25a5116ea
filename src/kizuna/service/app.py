"""The app factory: `create_app(settings, clock)` opens the store and wires the routers.

The app reads only from the coordinator's live view and writes only through the coordinator; routes are
thin (parse, call one function, release through the egress). The view follows the log: after each
command, and in a background task woken by PostgreSQL NOTIFY from other workers (wake-ups coalesce, so
a burst costs one read) or every `POLL_S` seconds for writers no notification reaches (another process
on the same SQLite file).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from kizuna import __version__
from kizuna.access import Passwords, UserDirectory
from kizuna.coordination import Coordinator, Law
from kizuna.service import errors
from kizuna.service.credentials import CredentialCache
from kizuna.service.hub import Hub
from kizuna.service.intel import attach_intel
from kizuna.service.routers import ROUTERS
from kizuna.service.runtime import Runtime
from kizuna.settings import Settings, get_settings
from kizuna.store import Clock, open_store, system_clock

#: Seconds between polls of the log for events other processes appended.
POLL_S = 1.0

DESCRIPTION = """\
The live coordination service of an alliance: crises with their situation designations, requests
compiled to decision paths, steps acted on by members of each step's organization, taskings and
situation reports. Every action is checked against the law under the designation in force and recorded
as an event; every answer, stream message and export is filtered by marking at the server.

Authenticate with `Authorization: Bearer <API token>`, or log in (`POST /api/auth/login`) for a
session cookie and send the returned CSRF token as `X-CSRF-Token` on every write.
"""


def open_runtime(
    settings: Settings, clock: Clock, *, law: Law | None = None, passwords: Passwords | None = None
) -> Runtime:
    """Open the store, the user directory and the coordinator described by `settings`."""
    store = open_store(
        settings.resolved_database_url(), clock=clock, sqlite_synchronous=settings.sqlite_synchronous
    )
    try:
        directory = UserDirectory(
            store.engine,
            passwords=passwords,
            clock=clock,
            session_ttl=timedelta(minutes=settings.session_ttl_minutes),
        )
        coordinator = Coordinator(store, law or Law(), clock=clock)
        # Load the law before the first request, not in the first burst of them, all at once.
        coordinator.law.warm({c.structure for c in coordinator.view.crises.values()})
    except BaseException:
        store.close()
        raise
    hub = Hub()
    runtime = Runtime(
        settings=settings,
        clock=clock,
        store=store,
        directory=directory,
        coordinator=coordinator,
        hub=hub,
        credentials=CredentialCache(directory),
    )
    runtime.closers.append(coordinator.add_listener(hub.publish))
    return runtime


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    *,
    law: Law | None = None,
    passwords: Passwords | None = None,
) -> FastAPI:
    """Build the service: open the store named by `settings` and serve the API over it.

    Args:
        settings: Where the store is and how to serve; `get_settings()` (the environment) by default.
        clock: The service's clock (UTC); the wall clock by default. Tests and exercises drive it.
        law: The structures and frameworks; the bundled ones by default.
        passwords: The password hasher; argon2id at the default cost by default.
    """
    runtime = open_runtime(settings or get_settings(), clock or system_clock, law=law, passwords=passwords)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        woken = asyncio.Event()
        if runtime.store.backend == "postgresql":  # other workers' appends arrive as NOTIFY
            loop = asyncio.get_running_loop()

            def wake(seq: int) -> None:
                if seq > runtime.coordinator.view.last_seq:
                    loop.call_soon_threadsafe(woken.set)

            runtime.closers.append(runtime.store.notifier.subscribe(wake))
        follower = asyncio.create_task(_follow(runtime, woken))
        try:
            yield
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            runtime.close()

    app = FastAPI(
        title="Kizuna",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    attach_intel(app, runtime)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


async def _follow(runtime: Runtime, woken: asyncio.Event) -> None:
    """Catch the view up when woken (a notification), or every POLL_S seconds; wake-ups coalesce."""
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(POLL_S):
                await woken.wait()
        woken.clear()
        await run_in_threadpool(runtime.coordinator.catch_up)
