"""Manage the event store's database: migrate it, verify its hash chain, rebuild projections, describe it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kizuna.cli.console import EXIT_INVALID, err, fail, fail_message, out, plural, print_table

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from kizuna.store import EventStore

app = typer.Typer(no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Database URL; default: KIZUNA_DATABASE_URL, else a SQLite file in the user's data directory.",
        show_default=False,
    ),
]


def database_url(url: str | None) -> str:
    """Return `url`, or the settings' database URL when it is None."""
    from kizuna.settings import get_settings

    return url or get_settings().resolved_database_url()


def _shown(url: str) -> str:
    from kizuna.store.engine import parse_url

    return parse_url(url).render_as_string(hide_password=True)


def _open(url: str | None, *, prepare: bool = True) -> EventStore:
    from kizuna.store import open_store

    return open_store(database_url(url), listen=False, create=False, prepare=prepare)


ExpectHeadOption = Annotated[
    str | None,
    typer.Option(
        "--expect-head",
        metavar="HASH",
        help="A head hash recorded earlier (kizuna db info prints it): fail unless the chain holds it.",
        show_default=False,
    ),
]


def _progress(label: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """Return a (callback, stop) pair driving a Rich progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True
    )
    task = bar.add_task(label, total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


@app.command()
def upgrade(url: UrlOption = None) -> None:
    """Create or migrate the database to the newest schema revision."""
    from kizuna.store import current_revision
    from kizuna.store import upgrade as run_upgrade
    from kizuna.store.engine import make_engine

    engine = make_engine(database_url(url))
    try:
        before = current_revision(engine)
        after = run_upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        out.print(f"{_shown(database_url(url))} is at the newest revision {after}")
        return
    out.print(f"{_shown(database_url(url))} migrated from revision {before or '(empty)'} to {after}")
    with _open(url) as store:
        legacy = store.hash_formats().get(1, 0)
    if legacy:
        out.print(f"{legacy} event(s) keep their hashes in format 1 (the first canonical JSON),")
        out.print("so head hashes recorded before still hold; new events are hashed in")
        out.print("format 2 (RFC 8785). `kizuna db verify` checks both.")


@app.command()
def info(url: UrlOption = None) -> None:
    """Describe the database: back end, schema revision, events, chain head, streams and projections."""
    from kizuna.report.terminal import Column
    from kizuna.store import current_revision, head_revision, open_store, stream_kind
    from kizuna.store.engine import make_engine

    target = database_url(url)
    engine = make_engine(target, create=False)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    out.print(f"database   {_shown(target)}")
    out.print(f"revision   {revision or '(empty)'}" + ("" if revision == head else f" (newest is {head})"))
    if revision != head:
        fail("the schema is not current; run `kizuna db upgrade`", EXIT_INVALID)
    with open_store(target, listen=False, migrate=False) as store:
        chain = store.head()
        streams = store.streams()
        status = store.projection_status()
        out.print(f"back end   {store.backend}")
        formats = store.hash_formats()
        out.print(f"events     {chain.seq}")
        out.print(f"head hash  {chain.hash}")
        out.print("formats    " + (_formats(formats) or "(no events)"))
    kinds: dict[str, int] = {}
    for stream in streams:
        kinds[stream_kind(stream)] = kinds.get(stream_kind(stream), 0) + 1
    out.print(f"streams    {len(streams)}" + (f" ({_counts(kinds)})" if kinds else ""))
    print_table(
        [
            Column("projection", key=True),
            Column("version", justify="right"),
            Column("applied to seq", justify="right"),
        ],
        [[name, str(version), str(last_seq)] for name, (version, last_seq) in sorted(status.items())],
        title="projections",
    )


def _counts(kinds: dict[str, int]) -> str:
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items()))


def _formats(formats: Mapping[int, int]) -> str:
    """Say how many events are hashed in each format: `9 in hash format 1, 3 in format 2`."""
    parts = [
        f"{count} in {'hash format' if i == 0 else 'format'} {number}"
        for i, (number, count) in enumerate(sorted(formats.items()))
    ]
    return ", ".join(parts)


@app.command()
def verify(url: UrlOption = None, expect_head: ExpectHeadOption = None) -> None:
    """Check every event of the hash chain, then replay the projections; list every fault (exit 1 if any).

    Every row is read as stored, so a value of the wrong type, a NULL, text that is not JSON or not
    canonical, or an altered, removed or reordered event is named (seq or row, field, what is wrong).
    """
    with _open(url, prepare=False) as store:
        update, stop = _progress("verifying")
        try:
            report = store.verify(progress=update, expect_head=expect_head)
        finally:
            stop()
        if report.ok:
            store.prepare_projections()
            projections = store.check_projections()
        else:
            projections = {}
    if not report.ok:
        for problem in report.problems:
            fail_message(str(problem))
        count = len(report.problems)
        err.print(f"the chain does not verify: {plural(count, 'problem')}, the first at {report.first_bad}")
        raise typer.Exit(EXIT_INVALID)
    head = report.head
    formats = f" ({_formats(report.formats)})" if report.formats else ""
    out.print(f"the chain verifies: {report.checked} events{formats}, head seq {head.seq} {head.hash}")
    if expect_head:
        out.print(f"the chain holds the expected head {expect_head.strip().lower()}")
    stale = sorted(name for name, same in projections.items() if not same)
    if stale:
        err.print(
            f"[red]error[/red] {'projection' if len(stale) == 1 else 'projections'} {', '.join(stale)} "
            f"{'differs' if len(stale) == 1 else 'differ'} from a replay of the log; "
            "run `kizuna db rebuild`"
        )
        raise typer.Exit(EXIT_INVALID)
    if projections:
        out.print(f"projections match the log: {', '.join(sorted(projections))}")


@app.command()
def rebuild(url: UrlOption = None) -> None:
    """Drop every projection table and recreate it from the event log, in one transaction."""
    with _open(url) as store:
        update, stop = _progress("rebuilding")
        try:
            replayed = store.rebuild(progress=update)
        finally:
            stop()
        names = ", ".join(p.name for p in store.projections)
    out.print(f"rebuilt {names} from {replayed} events")


def bench_store(
    appends: Annotated[int, typer.Option(min=20, help="Appends per measurement.")] = 400,
    writers: Annotated[int, typer.Option(min=1, help="Threads appending at once in the concurrent run.")] = 4,
    postgresql: Annotated[bool, typer.Option(help="Also measure a throw-away PostgreSQL server.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Measure event-store appends on SQLite and PostgreSQL against a plain insert-and-commit reference."""
    import json

    from kizuna.report.terminal import Column
    from kizuna.store.benchmark import run

    with err.status("measuring") as status:
        figures, skipped = run(
            appends=appends,
            writers=writers,
            postgresql=postgresql,
            report=lambda name: status.update(f"measuring {name}"),
        )
    if as_json:
        out.print_json(
            json.dumps({f.backend: f.to_json() for f in figures} | {"postgresql_skipped": skipped})
        )
        return
    print_table(
        [
            Column("back end", key=True),
            Column("appends/s", justify="right"),
            Column("p50 ms", justify="right"),
            Column("p99 ms", justify="right"),
            Column(f"{writers} threads/s", justify="right"),
            Column("ref/s", justify="right"),
            Column("ratio", justify="right"),
            Column("verify/s", justify="right"),
        ],
        [
            [
                f.backend,
                f"{f.appends_per_s:.0f}",
                f"{f.p50_ms:.2f}",
                f"{f.p99_ms:.2f}",
                f"{f.concurrent_appends_per_s:.0f}",
                f"{f.reference_per_s:.0f}",
                f"{f.ratio:.2f}",
                f"{f.verify_events_per_s:.0f}",
            ]
            for f in figures
        ],
        title="event store: one-event appends",
    )
    out.print(
        "ref/s: plain insert-and-commit on the same database; ratio: appends/s over ref/s; "
        f"{writers} threads/s: appends/s with {writers} threads at once (group commit)"
    )
    if skipped:
        out.print(f"PostgreSQL not measured: {skipped}")
    else:
        out.print("PostgreSQL is a throw-away test server (fsync off): its figures exclude disk syncs.")
