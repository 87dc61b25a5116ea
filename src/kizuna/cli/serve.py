"""Serve the live coordination service (uvicorn on loopback by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kizuna.cli.console import err, out

if TYPE_CHECKING:
    from fastapi import FastAPI


def serve(
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
            for line in login_lines(info, base_url):
                out.print(line, markup=False, highlight=False)
    finally:
        if workers > 1:
            runtime.close()
    err.print(f"Serving on {base_url} with {workers} worker(s) (database: {_safe(database)})")
    if workers == 1:
        _tune_gc()
        if demo:  # live fused tracks around the Nansei islands, from sensors of both nations
            import threading

            from kizuna.service.demo_intel import start_demo_picture

            threading.Thread(  # in the background: the service answers at once
                target=start_demo_picture,
                args=(runtime, app.state.intel),
                name="kizuna-demo-picture",
                daemon=True,
            ).start()
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
