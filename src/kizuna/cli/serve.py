"""Serve the live coordination service (uvicorn on loopback by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kizuna.cli.console import err, out

if TYPE_CHECKING:
    from fastapi import FastAPI


def serve(  # noqa: PLR0917 - Typer passes every option as an argument
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port (default 8000).")] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Seed demo users of both nations and a running taiwan-contingency exercise, and print "
            "how to log in. Uses demo.db in the data directory unless --url or KIZUNA_DATABASE_URL says "
            "otherwise.",
        ),
    ] = False,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="With --demo: delete the demo's SQLite database first, so the demo starts clean (requests "
            "carried through on an earlier run are gone).",
        ),
    ] = False,
    url: Annotated[
        str | None, typer.Option("--url", help="Database URL (default: KIZUNA_DATABASE_URL or SQLite).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes. Several workers follow each other's writes through PostgreSQL "
            "NOTIFY at once; on SQLite within a second.",
        ),
    ] = 1,
) -> None:
    """Serve the API: crises, requests, steps, taskings, reports, and a stream of events."""
    import os

    import uvicorn

    from kizuna.service import create_app, open_runtime
    from kizuna.service.demo import login_lines, seed_demo
    from kizuna.settings import get_settings
    from kizuna.store import system_clock

    settings = get_settings()
    updates: dict[str, object] = {}
    if host is not None:
        updates["host"] = host
    if port is not None:
        updates["port"] = port
    if url is not None:
        updates["database_url"] = url
    elif demo and settings.database_url is None:
        updates["database_url"] = f"sqlite:///{settings.data_dir / 'demo.db'}"
    settings = settings.model_copy(update=updates)
    _check_port(settings.host, settings.port)
    if reset:
        _reset_demo(settings.resolved_database_url(), demo=demo)
    display_host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host  # noqa: S104
    base_url = f"http://{display_host}:{settings.port}"
    database = settings.resolved_database_url()
    if workers == 1:
        app = create_app(settings)
        runtime = app.state.runtime
    else:  # seed here, then let each worker open its own runtime from the environment
        runtime = open_runtime(settings, system_clock)
    try:
        if demo:
            with err.status("Seeding the demo (users, crisis, designation, requests)..."):
                info = seed_demo(runtime)
            for line in login_lines(info, base_url, runtime):
                out.print(line, markup=False, highlight=False, soft_wrap=True)  # commands stay one line
    finally:
        if workers > 1:
            runtime.close()
    served = f"{workers} {'worker' if workers == 1 else 'workers'}"
    err.print(f"Serving on {base_url} with {served} (database: {_safe(database)})")
    if workers == 1:
        _tune_gc()
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
        return
    os.environ["KIZUNA_DATABASE_URL"] = database
    uvicorn.run(
        "kizuna.cli.serve:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def _check_port(host: str, port: int) -> None:
    """Exit 2 with a clear message when the port is taken, before anything is seeded or started."""
    import errno
    import socket

    from kizuna.cli.console import EXIT_USAGE, fail

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                fail(
                    f"port {port} on {host} is already in use (another `kizuna serve`?); "
                    f"choose another with --port, e.g. --port {port + 1}",
                    EXIT_USAGE,
                )
            fail(f"cannot listen on {host}:{port}: {error.strerror}", EXIT_USAGE)


def _reset_demo(database: str, *, demo: bool) -> None:
    """Delete the SQLite file of the demo database (and its journal files); exit 2 when that cannot be."""
    from sqlalchemy.engine import make_url

    from kizuna.cli.console import EXIT_USAGE, fail

    if not demo:
        fail("--reset starts the demo afresh: give it with --demo", EXIT_USAGE)
    parsed = make_url(database)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        fail(
            f"--reset deletes a SQLite demo database; {_safe(database)} is not one (drop it yourself)",
            EXIT_USAGE,
        )
    from pathlib import Path

    removed = 0
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(parsed.database + suffix)
        if path.exists():
            path.unlink()
            removed += 1
    err.print(
        f"reset: {'deleted ' + parsed.database if removed else 'no demo database yet at ' + parsed.database}"
    )


def worker_app() -> FastAPI:
    """Build one worker's app from the environment (`kizuna serve --workers N` starts N of them)."""
    from kizuna.service import create_app

    app = create_app()
    _tune_gc()
    return app


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _tune_gc() -> None:
    """Keep the garbage collector from pausing the server for long.

    The live view holds many long-lived objects; the collector's full passes over them show up as
    latency spikes. Objects alive at start are moved out of its sight, and young-generation passes
    run less often (the service allocates in bursts of short-lived request objects).
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
