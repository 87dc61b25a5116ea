"""Authority rulings: check queries, explain one, print the matrix of a situation, validate frameworks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from kizuna.cli.console import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    err,
    fail,
    out,
    plural,
    print_lines,
    print_problems,
    print_table,
    say_wrote,
)

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
    from kizuna.errors import MissingFact, UnknownId

    if isinstance(error, MissingFact):
        return {
            "type": "missing-fact",
            "fields": list(error.fields),
            "options": {k: list(v) for k, v in error.options.items()},
            "message": str(error),
        }
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
    export: Annotated[
        Path | None,
        typer.Option("--export", metavar="FILE", help="Also write the rulings as a table (.csv or .xlsx)."),
    ] = None,
    frameworks: FrameworkOption = None,
) -> None:
    """Rule on queries: one JSON object, a JSON array, or JSON Lines in; one ruling per query out, in order.

    `situation` takes one id or a list (designations in force together: the ruling is on their
    union). A query with an unknown field or id, or that leaves out a fact its ruling depends on
    (`supported`, `location`), is reported (naming what to give) and the others are still answered; the
    exit code is then 2.
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
            answer = fw.rule(query)
        except (InvalidQuery, UnknownId) as error:
            results.append((number, raw, None, _error_record(error)))
            continue
        results.append((number, query.to_dict(), answer, None))

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
    if export is not None:
        from kizuna.report.exports import write_rulings

        rows = [(n, q, r, (e or {}).get("message")) for n, q, r, e in results]
        say_wrote(f"wrote {write_rulings(rows, export)}", console=err)
    raise typer.Exit(EXIT_USAGE if bad else EXIT_OK)


def _situations_text(value: object) -> str:
    """Say a query's situation as written: one id, or several joined by `+`."""
    if isinstance(value, list):
        return " + ".join(map(str, value))
    return str(value)


def _print_table(results: list[tuple[int, dict[str, Any], Ruling | None, dict[str, Any] | None]]) -> None:
    from kizuna.report.terminal import Column

    rows = []
    for number, q, ruling, error in results:
        if ruling is None:
            short = error or {}
            if short.get("type") == "unknown-id":
                note = f"unknown {short['kind']} {short['value']!r}"
            elif short.get("type") == "missing-fact":
                note = f"give {', '.join(short['fields'])}"
            else:
                note = str(short.get("message", "")).split(";")[0]
            rows.append(
                [
                    str(number),
                    escape(_situations_text(q.get("situation", "-"))),
                    escape(str(q.get("actor", "-"))),
                    escape(str(q.get("activity", "-"))),
                    "",
                    "[red]error[/red]",
                    escape(note),
                    "",
                ]
            )
            continue
        context = ", ".join(
            part
            for part in (
                f"supported={q['supported']}" if q["supported"] else "",
                f"at {q['location']}" if q["location"] else "",
                ("flags " + " ".join(q["flags"])) if q["flags"] else "",
                ("granted " + " ".join(q["granted"])) if q["granted"] else "",
            )
            if part
        )
        outcome = ruling.outcome.value
        style = _STYLE[outcome]
        if ruling.basis:
            outcome += f" (under {ruling.basis})"
        rows.append(
            [
                str(number),
                " + ".join(q["situations"]),
                q["actor"],
                q["activity"],
                escape(context),
                f"[{style}]{escape(outcome)}[/]",
                " > ".join(ruling.missing) or "-",
                ", ".join(ruling.after) or "-",
            ]
        )
    print_table(
        [
            Column("line", key=True, justify="right"),
            Column("situation", key=True),
            Column("actor", key=True),
            Column("activity", key=True),
            Column("context", wrap=True),
            Column("outcome", key=True),
            Column("missing (in order)", wrap=True),
            Column("after", wrap=True),
        ],
        rows,
    )


@app.command()
def explain(
    *,
    situation: Annotated[
        list[str] | None,
        typer.Option(help="A designation in force (repeatable: several in force together)."),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Actor id.")] = None,
    activity: Annotated[str | None, typer.Option(help="Activity id.")] = None,
    supported: Annotated[
        str | None,
        typer.Option(help="Supported party (or what a missile threatens); needed where the law asks."),
    ] = None,
    location: Annotated[str | None, typer.Option(help="Location id; needed where the law asks.")] = None,
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
    """Explain one ruling: the rules that fired, the missing approvals in order, and the citations.

    Nothing is assumed: a fact the ruling depends on and the query leaves out is asked for (exit 2).
    """
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
            "flags": flag or [],
            "granted": granted or [],
        }
        data.update({k: v for k, v in (("supported", supported), ("location", location)) if v is not None})
    from kizuna.errors import MissingFact

    query = Query.from_dict(data, fw)
    try:
        ruling = fw.rule(query)
    except MissingFact as error:
        asks = "; ".join(f"--{f} ({', '.join(error.options.get(f, ()))})" for f in error.fields)
        fail(f"the ruling depends on {', '.join(error.fields)}: give {asks}. {error.detail}".strip())
    _print_explanation(fw, query, ruling)


def _print_explanation(fw: FrameworkSet, query: Any, ruling: Ruling) -> None:
    from kizuna.model.sources import cited_sources
    from kizuna.report.terminal import Column, source_lines

    outcome = ruling.outcome.value
    q = query.to_dict()
    context = [
        f"supported: {q['supported']}" if q["supported"] else "",
        f"at {q['location']}" if q["location"] else "",
        f"flags: {' '.join(q['flags'])}" if q["flags"] else "",
        f"granted: {' '.join(q['granted'])}" if q["granted"] else "",
    ]
    verdict = f"  [{_STYLE[outcome]}][bold]{outcome}[/bold][/]"
    if ruling.basis:
        verdict += f" under the legal basis of [bold]{escape(ruling.basis)}[/]"
        if ruling.alternatives:
            verdict += f" (also lawful under {escape(', '.join(ruling.alternatives))})"
    stated = "; ".join(c for c in context if c)
    print_lines(
        [
            f"[bold]Ruling[/bold]: [bold]{escape(q['actor'])}[/] · [bold]{escape(q['activity'])}[/] "
            f"in [bold]{escape(' + '.join(q['situations']))}[/]" + (f" ({escape(stated)})" if stated else ""),
            verdict,
            "",
            "[bold]Rules that fired[/bold]",
            *(
                f"  • [cyan]{escape(rid)}[/cyan]: {escape(reason)}"
                for rid, reason in zip(ruling.rule_ids, ruling.reasons, strict=True)
            ),
        ]
    )
    if ruling.lawful_under:
        print_lines([f"[bold]Would be lawful under:[/bold] {escape(', '.join(ruling.lawful_under))}"])
    if ruling.required:
        granted = set(query.granted)
        rows = []
        for i, aid in enumerate(ruling.required, start=1):
            approval = fw.approvals[aid]
            if aid in ruling.missing:
                status = "[yellow]missing[/]"
            elif aid in ruling.after:
                status = "[blue]may come after acting[/]"
            else:
                status = (
                    "[green]granted[/]" if aid in granted else "[green]done (settled by a granted one)[/]"
                )
            before = ", ".join(p for p in approval.prerequisites if p in ruling.required)
            rows.append([str(i), aid, escape(approval.name), status, before or "-"])
        out.print()
        print_table(
            [
                Column("#", justify="right"),
                Column("approval", key=True),
                Column("name", wrap=True),
                Column("status", wrap=True),
                Column("comes after", wrap=True),
            ],
            rows,
            title="[bold]Approvals in the order they are obtained[/bold]",
        )
        print_lines(
            f"  [dim]{escape(aid)}: assumption: {escape(fw.approvals[aid].assumption or '')}[/dim]"
            for aid in ruling.required
            if fw.approvals[aid].assumption
        )
    print_lines(["", "[bold]Citations[/bold]", *(f"  - {escape(str(c))}" for c in ruling.citations)])
    tables = [f.sources for f in fw.frameworks]
    print_lines(source_lines(cited_sources([c.source for c in ruling.citations], *tables)))


@app.command()
def matrix(
    *,
    situation: Annotated[
        list[str], typer.Option(help="A designation in force (repeatable: several in force together).")
    ],
    fmt: Annotated[
        str, typer.Option("--format", metavar="table|csv|html|xlsx", help="What to print or write.")
    ] = "table",
    supported: Annotated[
        str | None,
        typer.Option(help="Supported party for every cell (left out: cells that depend on it say so)."),
    ] = None,
    location: Annotated[
        str | None, typer.Option(help="Location for every cell (left out: cells that depend on it say so).")
    ] = None,
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
    """Print what each actor may do under the designations in force: actor x activity -> outcome.

    Nothing is assumed: a cell whose ruling depends on a fact left out reads `needs supported`.
    """
    from kizuna.authority.matrix import build_matrix, cell_text, matrix_csv, matrix_html

    if fmt not in ("table", "csv", "html", "xlsx"):
        fail(f"unknown --format {fmt!r}; valid: table, csv, html, xlsx")
    if fmt == "xlsx" and output is None:
        fail("--format xlsx writes a file: give --output FILE.xlsx")
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
        from kizuna.errors import MissingFact
        from kizuna.report.terminal import Column

        if output is not None:
            fail("--output needs --format csv, html or xlsx")
        names = " + ".join(fw.situations[s].name for s in m.situations)
        rows = []
        for act in m.activities:
            cells = []
            for a in m.actors:
                r = m.cell(a, act)
                style = "blue" if isinstance(r, MissingFact) else _STYLE[r.outcome.value]
                cells.append(f"[{style}]{escape(cell_text(r))}[/]")
            rows.append([act, *cells])
        print_table(
            [Column("activity", key=True), *(Column(a, wrap=True) for a in m.actors)],
            rows,
            title=escape(f"{names} — {m.context}"),
        )
        return
    if fmt == "xlsx" and output is not None:
        from kizuna.report.exports import matrix_sheets, write_sheets

        say_wrote(f"wrote {write_sheets(matrix_sheets(m), output.with_suffix('.xlsx'))}", console=err)
        return
    text = matrix_csv(m) if fmt == "csv" else matrix_html(m, fw)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        say_wrote(f"wrote {output}", console=err)
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
    from kizuna.report.terminal import Column

    for name, terms in sections.items():
        if field is not None and name != field:
            continue
        print_table(
            [Column("id", key=True), Column("name", wrap=True), Column("meaning", wrap=True)],
            [[tid, escape(term.name), escape(term.description)] for tid, term in terms.items()],
            title=f"[bold]{name}[/bold]",
        )
        out.print()


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
    from kizuna.report.terminal import Column

    print_table(
        [
            Column("evaluator", wrap=True),
            Column("rulings/s", justify="right"),
            Column("vs reference", justify="right"),
        ],
        [
            ["compiled, cold caches", f"{result.compiled_cold:,.0f}", f"{result.ratio:,.1f}x"],
            [
                "compiled, warm caches",
                f"{result.compiled_warm:,.0f}",
                f"{result.compiled_warm / result.reference:,.1f}x",
            ],
            ["reference (uncompiled)", f"{result.reference:,.0f}", "1.0x"],
            [
                "compiled, two designations (cold)",
                f"{result.compiled_union:,.0f}",
                f"{result.compiled_union / result.reference:,.1f}x",
            ],
        ],
        title=f"authority: {result.queries:,} random queries, {result.rules} rules",
    )
    print_lines(
        [
            f"compile time {result.compile_seconds * 1000:.1f} ms; "
            f"rulings identical: {result.agree:,}/{result.queries:,}; goal 200,000 rulings/s on one core: "
            f"{'met' if result.compiled_cold >= 200_000 else 'not met'} (cold caches)"
        ]
    )
