"""Rich renderings of structures, diffs, chains of command and routes, for the terminal.

Lines are returned as Rich markup strings (content escaped) and tables as Rich renderables; the CLI only
prints them. Line-based output keeps `structure diff` independent of the terminal width, so its golden
file compares exactly.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rich.markup import escape

from kizuna.model.diff import ChangeKind, EntityChange, StructureDiff
from kizuna.model.loading import SECTIONS
from kizuna.model.queries import CommandLink, CoordinationRoute, era_instant, format_offset
from kizuna.model.sources import Source, cited_sources
from kizuna.model.structure import Structure

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text

_MARK = {ChangeKind.ADDED: "[green]+[/green]", ChangeKind.REMOVED: "[red]-[/red]", ChangeKind.CHANGED: "~"}
_TITLE = {
    "nations": "Nations",
    "sites": "Sites",
    "organizations": "Organizations",
    "relations": "Relations",
}


def _value(value: Any) -> str:
    """A field's value in the text diff, whole (long values wrap with the line, they are never cut)."""
    if value is None:
        return "(none)"
    text = "[" + ", ".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)
    return " ".join(text.split())


def _entry_lines(change: EntityChange) -> list[str]:
    head = f"  {_MARK[change.change]} {escape(change.key)}"
    if change.section != "relations" and change.label != change.key:
        head += f"  {escape(change.label)}"
    lines = [head]
    lines.extend(
        f"      {escape(f.field)}: {escape(_value(f.before))} → {escape(_value(f.after))}"
        for f in change.fields
    )
    lines.append(f"      [dim]↳ {escape(str(change.provenance))}[/dim]")
    return lines


def diff_lines(result: StructureDiff) -> list[str]:
    """Render a structure diff as lines: each change with its fields and its source or assumption."""
    a, b = result.before, result.after
    lines = [
        f"[bold]{escape(a.id)} → {escape(b.id)}[/bold]  "
        f"(era {a.era.valid_from} → {b.era.valid_from}; "
        f"{len(a.organizations)} → {len(b.organizations)} organizations, "
        f"{len(a.relations)} → {len(b.relations)} relations)"
    ]
    lines.append("")
    lines.append(f"[bold]Operational authority moved[/bold] ({len(result.authority_moved)})")
    for move in result.authority_moved:
        lines.append(
            f"  {escape(move.org)}: {escape(move.before or '(none)')} → {escape(move.after or '(none)')}"
        )
        lines.append(f"      [dim]↳ {escape(str(move.provenance))}[/dim]")
    if not result.authority_moved:
        lines.append("  (none)")
    for section in SECTIONS:
        for kind in ChangeKind:
            entries = result.of(section, kind)
            if not entries:
                continue
            lines.append("")
            lines.append(f"[bold]{_TITLE[section]} {kind.value}[/bold] ({len(entries)})")
            for entry in entries:
                lines.extend(_entry_lines(entry))
    if result.is_empty:
        lines.append("")
        lines.append("No differences.")
    lines += source_lines(result.cited())
    return lines


def source_lines(sources: Sequence[Source], *, title: str = "Sources") -> list[str]:
    """Render the documents cited: key, title, publisher and date, then the URL (marked when unofficial)."""
    if not sources:
        return []
    lines = ["", f"[bold]{escape(title)}[/bold] ({len(sources)})"]
    for source in sources:
        lines.append(f"  [bold]{escape(source.key)}[/bold]  {escape(source.describe())}")
        if source.url:
            mark = "" if source.official else "  [dim](not an official text)[/dim]"
            lines.append(f"      {escape(source.url)}{mark}")
    return lines


def chain_lines(structure: Structure, org_id: str, chain: tuple[CommandLink, ...]) -> list[str]:
    """Render a chain of command, bottom up, one organization a line."""
    org = structure.org(org_id)
    lines = [f"[bold]{escape(org.id)}[/bold]  {escape(org.name)}"]
    for depth, link in enumerate(chain, start=1):
        superior = structure.org(link.superior)
        lines.append(
            f"{'  ' * depth}↑ {link.kind.value}  [bold]{escape(superior.id)}[/bold]  {escape(superior.name)}"
        )
    if not chain:
        lines.append("  (top of its hierarchy: no superior)")
    return lines


def route_lines(route: CoordinationRoute) -> list[str]:
    """Render a coordination route: each organization, how word reaches it, its site, zone and UTC offset."""
    lines = []
    for i, hop in enumerate(route.hops):
        where = f"{hop.site} ({hop.time_zone}, {hop.offset_text})" if hop.site else "(no site)"
        how = f", {hop.words(route.hops[i - 1].name)}" if i else ", where the route starts"
        name = f"{escape(hop.name)}{escape(how)}"
        lines.append(f"  {i}. [bold]{escape(hop.org)}[/bold]  {name}  [dim]{escape(where)}[/dim]")
    spread = route.max_offset_spread.total_seconds() / 3600
    hops = len(route.hops) - 1
    changes = ", ".join(f"{c.from_org} → {c.to_org} {c.hours:+g} h" for c in route.offset_changes) or "none"
    lines.append(
        f"  {hops} hop{'s' if hops != 1 else ''}; clock changes: {escape(changes)}; "
        f"widest gap {spread:g} h (offsets at {route.at.isoformat()})"
    )
    return lines


# -- lines and tables that fit their terminal ----------------------------------------------------------


def wrap_markup(line: str, width: int, *, hang: int = 4) -> list[Text]:
    """Wrap a markup line at words to `width` cells: continuation lines indented `hang` under its start.

    A word longer than the room (a URL, an id) is kept whole on a line of its own rather than cut.
    """
    import re

    from rich.cells import cell_len
    from rich.text import Text

    text = Text.from_markup(line)
    if text.cell_len <= width:
        return [text]
    plain = text.plain
    indent = len(plain) - len(plain.lstrip(" "))
    room = max(width - indent - hang, 20)
    breaks: list[int] = []
    used = 0
    for match in re.finditer(r"\S+", plain[indent:]):
        start = match.start() + indent
        size = cell_len(match.group())
        if used and used + 1 + size > room:
            breaks.append(start)
            used = size
        else:
            used += size + (1 if used else 0)
    lines = text[indent:].divide([b - indent for b in breaks]) if breaks else [text[indent:]]
    out = []
    for i, part in enumerate(lines):
        part.rstrip()
        out.append(Text(" " * (indent if i == 0 else indent + hang)) + part)
    return out


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a `fit_table`: its header and how its cells may be laid out.

    Attributes:
        header: the column's title (wraps at words when the column is narrower).
        key: the cells are ids a user types: never cut, never wrapped, never folded.
        wrap: the cells are free text that wraps at words (other columns keep each cell on one line).
        justify: "left" or "right" (numbers).
    """

    header: str
    key: bool = False
    wrap: bool = False
    justify: Literal["left", "right"] = "left"


#: The narrowest a wrapping column may be; a table that cannot give it this drops to the long format.
MIN_WRAP_WIDTH = 12
#: A wrapping column narrower than this (when its text is longer) reads as a column of fragments: the
#: long format reads better then.
READABLE_WIDTH = 20


def _plain_width(cell: str) -> int:
    """Width of a markup cell in terminal cells (CJK characters count double), its widest line."""
    from rich.text import Text

    text = Text.from_markup(cell)
    return max((line.cell_len for line in text.split("\n")), default=0)


#: Characters a line may break after without a space: CJK ideographs, kana and full-width punctuation.
_BREAKABLE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _longest_word(cell: str) -> int:
    """Width of the widest unbreakable run of a cell (Japanese text may break between any two characters)."""
    from rich.cells import cell_len
    from rich.text import Text

    plain = _BREAKABLE.sub(" ", Text.from_markup(cell).plain)
    return max((cell_len(word) for word in plain.split()), default=0)


def fit_table(
    columns: Sequence[Column],
    rows: Iterable[Sequence[str]],
    *,
    width: int,
    title: str | None = None,
) -> RenderableType:
    """Lay out rows (Rich markup cells, content escaped by the caller) to fit `width` terminal cells.

    A table when every key and one-line column fits at full width and each wrapping column keeps at
    least `MIN_WRAP_WIDTH` cells (or its longest word); otherwise the long format: one block per row,
    its key cells on the first line, then one `header: value` line per other column, the value wrapping
    at words under its label. Either way an id is never cut and no column is dropped.
    """
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    data = [list(row) for row in rows]
    for row in data:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} cells for {len(columns)} columns")
    needs: list[int] = []  # the narrowest each column may be: ids and one-line cells whole, words whole
    fulls: list[int] = []  # the width of each column's widest cell, on one line
    for index, column in enumerate(columns):
        cells = [row[index] for row in data]
        header_word = _longest_word(column.header)
        full = max([_plain_width(c) for c in cells] + [header_word, 1])
        fulls.append(full)
        if column.wrap:
            words = max([_longest_word(c) for c in cells] + [header_word, 0])
            needs.append(min(full, max(MIN_WRAP_WIDTH, words)))
        else:
            needs.append(full)
    overhead = 3 * (len(columns) - 1)  # a space of padding each side of the blank between two columns
    # one-line columns get their whole header on one line when the table has room for it
    headed = [max(n, cell_len(c.header)) if not c.wrap else n for c, n in zip(columns, needs, strict=True)]
    if sum(headed) + overhead <= width:
        needs = headed
    spare = width - overhead - sum(needs)
    widths = list(needs)
    if spare >= 0:
        # share the spare room among the wrapping columns, in proportion to what each still lacks
        lacking = [f - n if c.wrap else 0 for c, n, f in zip(columns, needs, fulls, strict=True)]
        total = sum(lacking)
        if total:
            for i, lack in enumerate(lacking):
                widths[i] += min(lack, spare * lack // total)
    readable = all(
        w >= min(f, READABLE_WIDTH) for c, w, f in zip(columns, widths, fulls, strict=True) if c.wrap
    )
    if spare >= 0 and readable:
        table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
        for column, size in zip(columns, widths, strict=True):
            header = Text(column.header, no_wrap=False, overflow="fold")
            if column.wrap:
                table.add_column(header, justify=column.justify, overflow="fold", width=size)
            else:
                table.add_column(header, justify=column.justify, no_wrap=True, width=size)
        for row in data:
            table.add_row(*row)
        return table
    return _long_format(columns, data, width=width, title=title)


def _long_format(
    columns: Sequence[Column], data: list[list[str]], *, width: int, title: str | None
) -> RenderableType:
    """One block per row: the key cells first, then `header: value` lines with values wrapping."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    keys = [i for i, c in enumerate(columns) if c.key] or [0]
    labels = [len(c.header) + 1 for i, c in enumerate(columns) if i not in keys]
    label_width = min(max(labels, default=1), 24)
    parts: list[RenderableType] = []
    if title:
        parts.append(Text.from_markup(f"[bold]{title}[/bold]"))
    for number, row in enumerate(data):
        if number or title:
            parts.append(Text(""))
        head = "  ".join(row[i] for i in keys if row[i])
        if _plain_width(head) > width:
            parts.extend(Text.from_markup(row[i]) for i in keys)
        else:
            parts.append(Text.from_markup(f"[bold]{head}[/bold]"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=label_width, no_wrap=True, style="dim")
        grid.add_column(overflow="fold")
        for index, column in enumerate(columns):
            if index in keys:
                continue
            label = Text(column.header + ":", overflow="fold", no_wrap=False)
            cell = Text.from_markup(row[index] or "-")
            if column.key:
                cell.no_wrap, cell.overflow = True, "ignore"
            grid.add_row(label, cell)
        parts.append(Padding(grid, (0, 0, 0, 2)))
    return Group(*parts)


def structure_tables(structure: Structure, *, width: int) -> list[RenderableType]:
    """Render a structure for `structure show`, fitting `width` cells.

    The header and description, then one table of organizations per nation (bilateral bodies last),
    relations grouped by kind, the sites with their zones, and the documents cited.
    """
    from rich.text import Text

    era = f"{structure.era.valid_from} → {structure.era.valid_to or 'present'}"
    header = f"[bold]{escape(structure.name)}[/bold]  ({escape(structure.id)}; era {era}"
    if structure.extends:
        header += f"; extends {escape(structure.extends)}"
    header += "; hypothetical)" if structure.hypothetical else ")"
    parts: list[RenderableType] = [*wrap_markup(header, width)]
    if structure.description:
        parts.extend(wrap_markup(escape(" ".join(structure.description.split())), width, hang=0))
    nations = ", ".join(f"{n.name} ({n.id}, {n.code})" for n in structure.nations)
    parts.extend(wrap_markup(escape("Nations: " + nations), width))
    at = era_instant(structure)

    def offset(site_id: str | None) -> str:
        site = structure.site_by_id.get(site_id) if site_id else None
        return format_offset(at.astimezone(site.zone).utcoffset()).removeprefix("UTC") if site else "-"

    nation_order = [n.id for n in structure.nations] + ["bilateral"]
    by_nation: dict[str, list[Any]] = defaultdict(list)
    for org in structure.organizations:
        by_nation[org.nation].append(org)
    org_columns = [Column("id", key=True), Column("name · kind · site (UTC offset)", wrap=True)]
    for nation in sorted(by_nation, key=lambda n: nation_order.index(n) if n in nation_order else 99):
        found = structure.nation_by_id.get(nation)
        title = f"Organizations: {found.name if found else 'bilateral bodies'}"
        rows = []
        for org in sorted(by_nation[nation], key=lambda o: (o.kind.value, o.id)):
            name = escape(org.name) + (f" ({escape(org.name_ja)})" if org.name_ja else "")
            where = f" · {org.site} ({offset(org.site)})" if org.site else ""
            rows.append([org.id, f"{name} [dim]· {org.kind.value}{where}[/dim]"])
        parts.append(Text(""))
        parts.append(fit_table(org_columns, rows, width=width, title=f"[bold]{title}[/bold]"))

    by_kind: dict[str, list[Any]] = defaultdict(list)
    for rel in structure.relations:
        by_kind[rel.kind.value].append(rel)
    rel_columns = [Column("from", key=True), Column("to", key=True), Column("source / assumption", wrap=True)]
    for kind in sorted(by_kind):
        rows = [
            [rel.from_, rel.to, escape("; ".join(rel.source) or f"assumption: {rel.assumption or ''}")]
            for rel in sorted(by_kind[kind], key=lambda r: (r.from_, r.to))
        ]
        parts.append(Text(""))
        parts.append(fit_table(rel_columns, rows, width=width, title=f"[bold]Relations: {kind}[/bold]"))

    site_columns = [Column("id", key=True), Column("name · lat, lon · time zone (UTC offset)", wrap=True)]
    site_rows = [
        [
            site.id,
            f"{escape(site.name)} [dim]· {site.latitude:.3f}, {site.longitude:.3f} · {site.time_zone} "
            f"({offset(site.id)})[/dim]",
        ]
        for site in structure.sites
    ]
    parts.append(Text(""))
    parts.append(fit_table(site_columns, site_rows, width=width, title="[bold]Sites[/bold]"))
    parts.extend(
        wrap_markup(f"[dim]UTC offsets at {at.isoformat()} (the era's first day, noon UTC)[/dim]", width)
    )
    cited = cited_sources(
        [
            r
            for section in (structure.nations, structure.sites, structure.organizations, structure.relations)
            for entity in section
            for r in entity.source
        ],
        structure.sources,
    )
    for line in source_lines(cited):
        parts.extend(wrap_markup(line, width))
    return parts
