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
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

from kizuna import __version__
from kizuna.access import LoginThrottle, Passwords, Separation, UserDirectory
from kizuna.coordination import Coordinator, Law
from kizuna.service import errors
from kizuna.service.credentials import CredentialCache, LoginGate
from kizuna.service.fastpath import CommandFastPath
from kizuna.service.hub import Hub
from kizuna.service.intel import attach_intel
from kizuna.service.routers import ROUTERS
from kizuna.service.routers.exercises import lifespan as exercises_lifespan
from kizuna.service.runtime import Runtime
from kizuna.service.threads import in_thread
from kizuna.settings import Settings, get_settings
from kizuna.store import Clock, EventStore, TamperedLog, VerifyReport, open_store, system_clock

_log = logging.getLogger("kizuna.service")

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
    settings: Settings,
    clock: Clock,
    *,
    law: Law | None = None,
    passwords: Passwords | None = None,
    throttle: LoginThrottle | None = None,
) -> Runtime:
    """Open the store, verify its chain, and open the user directory and the coordinator on it.

    The coordinator's view is built in the same pass that verifies the chain, from exactly the rows
    verified; the store's projections are brought up to date only after that.

    Raises:
        TamperedLog: The chain does not verify (or does not hold `settings.expect_head`) and
            `settings.serve_tampered_log` is off.
    """
    store = open_store(
        settings.resolved_database_url(),
        clock=clock,
        sqlite_synchronous=settings.sqlite_synchronous,
        prepare=False,
    )
    try:
        separation = Separation(frozenset(settings.filer_excluded_steps))
        coordinator, integrity = _verified_coordinator(store, law or Law(), clock, settings, separation)
        store.prepare_projections()
        directory = UserDirectory(
            store.engine,
            passwords=passwords,
            clock=clock,
            session_ttl=timedelta(minutes=settings.session_ttl_minutes),
            token_ttl=timedelta(days=settings.token_ttl_days),
        )
        # Load the law before the first request, not in the first burst of them, all at once.
        coordinator.law.warm({c.structure for c in coordinator.view.crises.values()})
        credentials = CredentialCache(directory, now=clock)
    except BaseException:
        store.close()
        raise
    hub = Hub()
    gate = LoginGate(
        throttle
        or LoginThrottle(
            account_failures=settings.login_account_failures,
            address_failures=settings.login_address_failures,
            backoff_s=settings.login_backoff_s,
            max_backoff_s=settings.login_backoff_max_s,
        ),
        concurrency=settings.login_concurrency,
    )
    runtime = Runtime(
        settings=settings,
        clock=clock,
        store=store,
        directory=directory,
        coordinator=coordinator,
        hub=hub,
        credentials=credentials,
        login=gate,
        integrity=integrity,
    )
    runtime.closers.append(coordinator.add_listener(hub.publish))
    runtime.closers.append(credentials.on_change(hub.check_all))

    def signal(name: str, value: str) -> None:  # another process revoked something (PostgreSQL)
        if name == "credentials" and value.isascii() and value.isdigit():
            credentials.changed(int(value))

    runtime.closers.append(store.notifier.subscribe_signals(signal))
    return runtime


def _verified_coordinator(
    store: EventStore, law: Law, clock: Clock, settings: Settings, separation: Separation
) -> tuple[Coordinator, VerifyReport]:
    """Build the coordinator's view from a pass that verifies the chain; refuse a tampered log."""
    verification = store.verification(expect_head=settings.expect_head)
    try:
        coordinator = Coordinator(store, law, clock=clock, separation=separation, history=verification)
    except Exception as error:  # an event the view cannot fold: say first whether the log was tampered
        report = verification.finish()
        if not report.ok:
            raise TamperedLog(report) from error
        raise
    report = verification.finish()
    if not report.ok:
        if not settings.serve_tampered_log:
            raise TamperedLog(report)
        _log.warning("SERVING A TAMPERED LOG (serve_tampered_log is on): %s", TamperedLog(report))
    return coordinator, report


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    *,
    law: Law | None = None,
    passwords: Passwords | None = None,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """Build the service: open the store named by `settings` and serve the API over it.

    Args:
        settings: Where the store is and how to serve; `get_settings()` (the environment) by default.
        clock: The service's clock (UTC); the wall clock by default. Tests and exercises drive it.
        law: The structures and frameworks; the bundled ones by default.
        passwords: The password hasher; argon2id at the default cost by default.
        throttle: The failed-login throttle (tests give one with their own clock); built from
            `settings` by default.
    """
    settings = settings or get_settings()
    runtime = open_runtime(settings, clock or system_clock, law=law, passwords=passwords, throttle=throttle)

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
            async with exercises_lifespan(_app):
                yield
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            runtime.close()

    app = CommandApp(
        title="Kizuna",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Kizuna emits no OpenTelemetry; left on, FastAPI looks up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    attach_intel(app, runtime)
    errors.install(app, max_body_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        include_flat(app, router)
    from kizuna.web import install as install_console  # here: kizuna.web imports the service's parts

    install_console(app)  # the web console at `/` (kizuna.web), same users, cookie and CSRF token
    from kizuna.web.security import HEADERS

    app.command_headers = HEADERS
    return app


class CommandApp(FastAPI):
    """The service's app: FastAPI, with the two commands most of the traffic is made of answered in
    front of its middleware (`service/fastpath.py`), which apply to everything else."""

    #: Added to the fast path's answers, as the security-headers middleware adds them to the others'.
    command_headers: tuple[tuple[bytes, bytes], ...] = ()

    def build_middleware_stack(self) -> ASGIApp:
        """Put the command fast path in front of the middleware stack FastAPI builds."""
        return CommandFastPath(super().build_middleware_stack(), headers=self.command_headers)


def include_flat(app: FastAPI, router: APIRouter) -> None:
    """Add a router's routes to the app's own route list (each already carries its prefix and tags).

    `include_router` keeps a router as a nested branch, which FastAPI matches route by route twice per
    request (to pick the branch, then the route in it) after checking every branch for changes: a
    tenth of a command's time went there. A flat list is matched once, in order. A router's own
    lifespan would not run this way: the app's lifespan enters it (the exercises').
    """
    app.router.routes.extend(router.routes)


async def _follow(runtime: Runtime, woken: asyncio.Event) -> None:
    """Catch the view up when woken (a notification), or every POLL_S seconds; wake-ups coalesce.

    Every POLL_S seconds the credential epoch is read too, for revocations made by processes no
    notification reaches (the `kizuna user` commands on a SQLite database).
    """
    loop = asyncio.get_running_loop()
    polled = loop.time()
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(POLL_S):
                await woken.wait()
        woken.clear()
        await in_thread(runtime.coordinator.catch_up)
        if loop.time() - polled >= POLL_S:
            polled = loop.time()
            await in_thread(runtime.credentials.poll)
