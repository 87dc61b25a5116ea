"""Serve the live coordination service (uvicorn on loopback by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.markup import escape

from kizuna.cli.console import EXIT_INVALID, err, fail_message, out

if TYPE_CHECKING:
    from fastapi import FastAPI

    from kizuna.settings import Settings
    from kizuna.store import TamperedLog, VerifyReport


def serve(
    *,
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
    serve_tampered_log: Annotated[
        bool,
        typer.Option(
            "--serve-tampered-log",
            help="Serve even if the event chain does not verify at start (loudly warned). Without it "
            "the service refuses a tampered log.",
        ),
    ] = False,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            metavar="HASH",
            help="A head hash recorded earlier (kizuna db info): refuse to serve unless the log holds it.",
        ),
    ] = None,
) -> None:
    """Serve the API: crises, requests, steps, taskings, reports, and a stream of events.

    The event chain is verified at start, and the view is built from the rows verified; a log that
    does not verify is refused (exit 1) unless --serve-tampered-log is given.
    """
    import os

    import uvicorn

    from kizuna.service import create_app, open_runtime
    from kizuna.service.demo import login_lines, seed_demo
    from kizuna.service.protocol import GatheringHttpToolsProtocol
    from kizuna.store import TamperedLog, system_clock

    settings = _settings(
        host=host,
        port=port,
        url=url,
        demo=demo,
        serve_tampered_log=serve_tampered_log,
        expect_head=expect_head,
    )
    _check_port(settings.host, settings.port)
    if reset:
        _reset_demo(settings.resolved_database_url(), demo=demo)
    display_host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host  # noqa: S104
    base_url = f"http://{display_host}:{settings.port}"
    database = settings.resolved_database_url()
    try:
        with err.status("Verifying the event chain and building the view..."):
            if workers == 1:
                app = create_app(settings)
                runtime = app.state.runtime
            else:  # seed here, then let each worker open its own runtime from the environment
                runtime = open_runtime(settings, system_clock)
    except TamperedLog as error:
        _refuse(error)
    if runtime.integrity is not None and not runtime.integrity.ok:
        _warn_tampered(runtime.integrity)
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
        if demo:  # live fused tracks around the Nansei islands, from sensors of both nations
            import threading

            from kizuna.service.demo_intel import start_demo_picture

            threading.Thread(  # in the background: the service answers at once
                target=start_demo_picture,
                args=(runtime, app.state.intel),
                name="kizuna-demo-picture",
                daemon=True,
            ).start()
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            http=GatheringHttpToolsProtocol,
            log_level="warning",
            access_log=False,
        )
        return
    os.environ["KIZUNA_DATABASE_URL"] = database
    os.environ["KIZUNA_SERVE_TAMPERED_LOG"] = "true" if settings.serve_tampered_log else "false"
    if settings.expect_head is not None:
        os.environ["KIZUNA_EXPECT_HEAD"] = settings.expect_head
    uvicorn.run(
        "kizuna.cli.serve:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        http=GatheringHttpToolsProtocol,
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


def _settings(
    *,
    host: str | None,
    port: int | None,
    url: str | None,
    demo: bool,
    serve_tampered_log: bool,
    expect_head: str | None,
) -> Settings:
    """Return the settings from the environment with the command line's options over them."""
    from kizuna.settings import get_settings

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
    if serve_tampered_log:
        updates["serve_tampered_log"] = True
    if expect_head is not None:
        updates["expect_head"] = expect_head
    return settings.model_copy(update=updates)


def _refuse(error: TamperedLog) -> NoReturn:
    """Say why the service will not serve this log, fault by fault, and exit 1."""
    for problem in error.report.problems:
        fail_message(str(problem))
    fail_message(
        f"refusing to serve: the event log does not verify ({len(error.report.problems)} problem(s)). "
        "Restore it from a backup, or serve it as it is with --serve-tampered-log."
    )
    raise typer.Exit(EXIT_INVALID)


def _warn_tampered(report: VerifyReport) -> None:
    """Warn, loudly, that the log being served did not verify."""
    banner = "WARNING: SERVING A TAMPERED EVENT LOG"
    err.print(f"[bold red]{banner}[/bold red] (--serve-tampered-log)")
    for problem in report.problems:
        err.print(f"[red]tampered[/red] {escape(str(problem))}")
    err.print(f"[bold red]{banner}[/bold red]: what it shows may not be what was recorded.")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


#: Net new container objects between young-generation garbage collections (Python's default: 700).
GEN0_THRESHOLD = 10_000
#: Young passes per middle-generation pass (Python's default: 10; this service had 20).
GEN1_EVERY = 4
#: Young passes between chances of a full pass (20 × 100 before; unchanged).
FULL_PASS_YOUNG_PASSES = 2_000


def _tune_gc() -> None:
    """Keep the garbage collector from pausing the server for long.

    The live view holds many long-lived objects; the collector's full passes over them show up as
    latency spikes. Objects alive at start are moved out of its sight, and young-generation passes
    run less often than by default (the service allocates in bursts of short-lived request objects),
    but not so rarely that one pass is long: a young pass stops every thread for about a millisecond
    per thousand objects it looks at. At 500 commands/s, a threshold of 50,000 gave two 40–55 ms
    pauses per ten seconds; 10,000 gives a pass of 10–18 ms every second or so, and a lower p99
    (`docs/service.md`, item 18, fourth pass).

    The middle generation is collected every GEN1_EVERY young passes. Its pass looks at everything that
    survived since the last one (the live view grows with every command): at 500 commands/s, one pass
    every 20 young ones (this service's setting before) paused 155–175 ms every 40 s or so; every 4,
    45–60 ms every 12 s, for the same work in all (each survivor is looked at there once either way).
    Full passes stay as rare as before (the oldest generation's threshold times GEN1_EVERY young
    passes, and Python's own rule that the survivors since the last full pass be a quarter of those
    before), and as long.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_EVERY, FULL_PASS_YOUNG_PASSES // GEN1_EVERY)
