"""Authority rulings: check queries, explain one, print the matrix of a situation, validate frameworks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from kizuna.cli.console import EXIT_INVALID, EXIT_OK, EXIT_USAGE, err, fail, out, plural, print_problems

if TYPE_CHECKING:
    from kizuna.authority import FrameworkSet, Ruling

app = typer.Typer(no_args_is_help=True)

FrameworkOption = Annotated[
    list[str] | None,
    typer.Option(
        "--framework",
        "-f",
        help="Framework id or file (repeatable). Default: japan-2015 and us-japan-treaty-1960.",
    ),
]
_STYLE = {"permitted": "green", "requires-approval": "yellow", "prohibited": "red"}


def _frameworks(refs: list[str] | None) -> FrameworkSet:
    from kizuna.authority import load_frameworks

    return load_frameworks(*(refs or ()))


def _read_text(source: str | None) -> str:
    if source in (None, "-"):
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        fail(f"{source}: no such file")
    return path.read_text(encoding="utf-8")


def _parse_batch(text: str) -> list[tuple[int, Any, str | None]]:
    """Split input into (line, parsed JSON or None, error) items: one object, an array, or JSON Lines."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    else:
        if isinstance(whole, list):
            return [(i + 1, item, None) for i, item in enumerate(whole)]
        return [(1, whole, None)]
    items: list[tuple[int, Any, str | None]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line), None))
        except json.JSONDecodeError as error:
            items.append((number, None, f"not valid JSON: {error.msg} (column {error.colno})"))
    return items


def _error_record(error: Exception) -> dict[str, Any]:
    from kizuna.errors import UnknownId

    if isinstance(error, UnknownId):
        return {
            "type": "unknown-id",
            "kind": error.kind,
            "value": error.value,
            "known": list(error.known),
            "message": str(error),
        }
    return {"type": "invalid-query", "message": str(error)}


@app.command()
def check(
    source: Annotated[
        str | None, typer.Argument(help="A JSON or JSON Lines file of queries; '-' or nothing: stdin.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Write one JSON ruling per input line.")] = False,
    frameworks: FrameworkOption = None,
) -> None:
    """Rule on queries: one JSON object, a JSON array, or JSON Lines in; one ruling per query out, in order.

    A query with an unknown field or id is reported (naming it and the valid ones) and the others are
    still answered; the exit code is then 2.
    """
    from kizuna.authority import Query
    from kizuna.errors import InvalidQuery, UnknownId

    fw = _frameworks(frameworks)
    items = _parse_batch(_read_text(source))
    if not items:
        fail("no queries in the input (one JSON object, a JSON array, or JSON Lines)")
    results: list[tuple[int, dict[str, Any], Ruling | None, dict[str, Any] | None]] = []
    for number, data, problem in items:
        raw = data if isinstance(data, dict) else {}
        if problem is not None:
            results.append((number, raw, None, {"type": "invalid-json", "message": problem}))
            continue
        try:
            query = Query.from_dict(data, fw)
        except (InvalidQuery, UnknownId) as error:
            results.append((number, raw, None, _error_record(error)))
            continue
        results.append((number, query.to_dict(), fw.rule(query), None))

    bad = 0
    for number, query_data, ruling, problem_record in results:
        if problem_record is not None:
            bad += 1
            err.print(f"[red]error[/red] line {number}: {escape(problem_record['message'])}")
        if as_json:
            record: dict[str, Any] = {"line": number, "query": query_data}
            if ruling is not None:
                record.update(ruling.to_dict())
            else:
                record["error"] = problem_record
            typer.echo(json.dumps(record, ensure_ascii=False))
    if not as_json:
        _print_table(results)
    raise typer.Exit(EXIT_USAGE if bad else EXIT_OK)


def _print_table(results: list[tuple[int, dict[str, Any], Ruling | None, dict[str, Any] | None]]) -> None:
    from rich.table import Table

    table = Table(
        "line", "situation", "actor", "activity", "context", "outcome", "missing (in order)", "after"
    )
    for number, q, ruling, error in results:
        if ruling is None:
            short = error or {}
            if short.get("type") == "unknown-id":
                note = f"unknown {short['kind']} {short['value']!r}"
            else:
                note = str(short.get("message", "")).split(";")[0]
            table.add_row(str(number), "", "", "", "", "[red]error[/red]", escape(note), "")
            continue
        context = ", ".join(
            part
            for part in (
                f"supported={q['supported']}" if q["supported"] != "none" else "",
                f"at {q['location']}",
                ("flags " + " ".join(q["flags"])) if q["flags"] else "",
                ("granted " + " ".join(q["granted"])) if q["granted"] else "",
            )
            if part
        )
        outcome = ruling.outcome.value
        table.add_row(
            str(number),
            q["situation"],
            q["actor"],
            q["activity"],
            context,
            f"[{_STYLE[outcome]}]{outcome}[/]",
            " > ".join(ruling.missing) or "-",
            ", ".join(ruling.after) or "-",
        )
    out.print(table)


@app.command()
def explain(
    *,
    situation: Annotated[str | None, typer.Option(help="Situation id.")] = None,
    actor: Annotated[str | None, typer.Option(help="Actor id.")] = None,
    activity: Annotated[str | None, typer.Option(help="Activity id.")] = None,
    supported: Annotated[str, typer.Option(help="Supported party (or what a missile threatens).")] = "none",
    location: Annotated[str, typer.Option(help="Location id.")] = "japan-territory",
    flag: Annotated[list[str] | None, typer.Option("--flag", help="A context flag (repeatable).")] = None,
    granted: Annotated[
        list[str] | None, typer.Option("--granted", help="An approval already obtained (repeatable).")
    ] = None,
    query_json: Annotated[
        str | None,
        typer.Option("--query", "-q", help="The query as a JSON object ('-' reads it from stdin)."),
    ] = None,
    frameworks: FrameworkOption = None,
) -> None:
    """Explain one ruling: the rules that fired, the missing approvals in order, and the citations."""
    from kizuna.authority import Query

    fw = _frameworks(frameworks)
    if query_json is not None:
        text = sys.stdin.read() if query_json == "-" else query_json
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            fail(f"--query is not valid JSON: {error.msg}")
    else:
        missing = [
            name
            for name, value in (("situation", situation), ("actor", actor), ("activity", activity))
            if not value
        ]
        if missing:
            fail(f"give --{', --'.join(missing)} (or the whole query with --query JSON)")
        data = {
            "situation": situation,
            "actor": actor,
            "activity": activity,
            "supported": supported,
            "location": location,
            "flags": flag or [],
            "granted": granted or [],
        }
    query = Query.from_dict(data, fw)
    _print_explanation(fw, query, fw.rule(query))


def _print_explanation(fw: FrameworkSet, query: Any, ruling: Ruling) -> None:
    from rich.panel import Panel
    from rich.table import Table

    outcome = ruling.outcome.value
    q = query.to_dict()
    head = (
        f"[bold]{escape(q['actor'])}[/] · [bold]{escape(q['activity'])}[/] "
        f"in [bold]{escape(q['situation'])}[/]"
        f" (supported={escape(q['supported'])}, at {escape(q['location'])}"
        + (f", flags: {escape(' '.join(q['flags']))}" if q["flags"] else "")
        + (f", granted: {escape(' '.join(q['granted']))}" if q["granted"] else "")
        + ")"
    )
    out.print(Panel(f"{head}\n[{_STYLE[outcome]}][bold]{outcome}[/bold][/]", title="ruling", expand=False))
    out.print("[bold]Rules that fired[/bold]")
    for rid, reason in zip(ruling.rule_ids, ruling.reasons, strict=True):
        out.print(f"  • [cyan]{escape(rid)}[/cyan]: {escape(reason)}")
    if ruling.lawful_under:
        out.print(f"[bold]Would be lawful under:[/bold] {escape(', '.join(ruling.lawful_under))}")
    if ruling.required:
        table = Table(
            "#", "approval", "name", "status", "comes after", title="Approvals in the order they are obtained"
        )
        granted = set(query.granted)
        for i, aid in enumerate(ruling.required, start=1):
            approval = fw.approvals[aid]
            if aid in ruling.missing:
                status = "[yellow]missing[/]"
                if aid in granted:
                    status = "[yellow]needed anew (the granted one does not cover this act)[/]"
            elif aid in ruling.after:
                status = "[blue]may come after acting[/]"
            else:
                status = "[green]granted[/]" if aid in granted else "[green]done (needed by a granted one)[/]"
            before = ", ".join(p for p in approval.prerequisites if p in ruling.required)
            table.add_row(str(i), aid, approval.name, status, before or "-")
        out.print(table)
        for aid in ruling.required:
            assumption = fw.approvals[aid].assumption
            if assumption:
                out.print(f"  [dim]{escape(aid)}: assumption: {escape(assumption)}[/dim]")
    out.print("[bold]Citations[/bold]")
    for c in ruling.citations:
        out.print(f"  - {escape(str(c))}")


@app.command()
def matrix(
    *,
    situation: Annotated[str, typer.Option(help="Situation id.")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or html.")] = "table",
    supported: Annotated[str, typer.Option(help="Supported party for every cell.")] = "us-forces",
    location: Annotated[str, typer.Option(help="Location for every cell.")] = "japan-territory",
    flag: Annotated[
        list[str] | None, typer.Option("--flag", help="A context flag for every cell (repeatable).")
    ] = None,
    granted: Annotated[
        list[str] | None, typer.Option("--granted", help="An approval granted (repeatable).")
    ] = None,
    actor: Annotated[
        list[str] | None, typer.Option("--actor", help="Actors to show (default: top-level actors).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    frameworks: FrameworkOption = None,
) -> None:
    """Print what each actor may do in a situation: actor x activity -> outcome and missing approvals."""
    from kizuna.authority.matrix import build_matrix, cell_text, matrix_csv, matrix_html

    if fmt not in ("table", "csv", "html"):
        fail(f"unknown --format {fmt!r}; valid: table, csv, html")
    fw = _frameworks(frameworks)
    m = build_matrix(
        fw,
        situation,
        supported=supported,
        location=location,
        flags=flag or (),
        granted=granted or (),
        actors=actor,
    )
    if fmt == "table":
        from rich.table import Table

        table = Table("activity", *m.actors, title=f"{fw.situations[situation].name} — {m.context}")
        for act in m.activities:
            cells = []
            for a in m.actors:
                r = m.cell(a, act)
                cells.append(f"[{_STYLE[r.outcome.value]}]{cell_text(r)}[/]")
            table.add_row(act, *cells)
        if output is not None:
            fail("--output needs --format csv or html")
        out.print(table)
        return
    text = matrix_csv(m) if fmt == "csv" else matrix_html(m, fw)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        typer.echo(text, nl=False)


@app.command()
def validate(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Framework files, checked together as one set.")
    ] = None,
    all_bundled: Annotated[bool, typer.Option("--all", help="Check the bundled frameworks.")] = False,
) -> None:
    """Validate framework files (each alone, then together for conflicts): exit 0 valid, 1 invalid."""
    from kizuna.authority import FrameworkSet
    from kizuna.errors import DataError
    from kizuna.model.framework import bundled_framework_ids, bundled_frameworks_dir, check_framework_file

    paths = list(files or [])
    if all_bundled:
        paths += [bundled_frameworks_dir() / f"{fid}.yaml" for fid in bundled_framework_ids()]
    if not paths:
        fail("name one or more framework files, or --all")
    loaded = []
    bad = False
    for path in paths:
        framework, problems = check_framework_file(path)
        if problems or framework is None:
            bad = True
            print_problems(problems)
            err.print(f"[red]invalid[/red] {path}: {plural(len(problems), 'problem')}")
        else:
            loaded.append(framework)
    if not bad:
        try:
            fs = FrameworkSet(loaded)
        except DataError as error:
            print_problems(error.problems)
            err.print(f"[red]invalid[/red] set: {plural(len(error.problems), 'problem')}")
            raise typer.Exit(EXIT_INVALID) from None
        out.print(
            f"[green]valid[/green] {', '.join(fs.ids)}: {len(fs.rules)} rules, {len(fs.approvals)} approvals"
        )
    raise typer.Exit(EXIT_INVALID if bad else EXIT_OK)


@app.command()
def vocabulary(
    field: Annotated[
        str | None, typer.Argument(help="situation, actor, activity, supported, location, flags or approval.")
    ] = None,
    frameworks: FrameworkOption = None,
) -> None:
    """List the ids a query may use, with what they mean."""
    from rich.table import Table

    fw = _frameworks(frameworks)
    sections: dict[str, dict[str, Any]] = {
        "situation": fw.situations,
        "actor": fw.actors,
        "activity": fw.activities,
        "supported": fw.supported,
        "location": fw.locations,
        "flags": fw.flags,
        "approval": fw.approvals,
    }
    if field is not None and field not in sections:
        fail(f"unknown field {field!r}; valid: {', '.join(sections)}")
    for name, terms in sections.items():
        if field is not None and name != field:
            continue
        table = Table("id", "name", "meaning", title=name)
        for tid, term in terms.items():
            table.add_row(tid, term.name, term.description)
        out.print(table)


def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    queries: Annotated[int, typer.Option("--queries", "-n", min=1000, help="Batch size.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of the query generator.")] = 0,
) -> None:
    """Rulings per second on a random batch: compiled engine (cold, warm) against the reference evaluator."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from kizuna.authority import load_frameworks
    from kizuna.authority.bench import measure

    fw = load_frameworks()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("authority bench", total=None)
        result = measure(fw, queries, seed, step=lambda name: progress.update(task, description=name))
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    from rich.table import Table

    table = Table(
        "evaluator",
        "rulings/s",
        "vs reference",
        title=f"authority: {result.queries:,} random queries, {result.rules} rules",
    )
    table.add_row("compiled, cold caches", f"{result.compiled_cold:,.0f}", f"{result.ratio:,.1f}x")
    table.add_row(
        "compiled, warm caches",
        f"{result.compiled_warm:,.0f}",
        f"{result.compiled_warm / result.reference:,.1f}x",
    )
    table.add_row("reference (uncompiled)", f"{result.reference:,.0f}", "1.0x")
    out.print(table)
    out.print(
        f"compile time {result.compile_seconds * 1000:.1f} ms; "
        f"rulings identical: {result.agree:,}/{result.queries:,}; goal 200,000 rulings/s on one core: "
        f"{'met' if result.compiled_cold >= 200_000 else 'not met'} (cold caches)"
    )
