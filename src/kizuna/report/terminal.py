"""Rich renderings of structures, diffs, chains of command and routes, for the terminal.

Lines are returned as Rich markup strings (content escaped) and tables as Rich renderables; the CLI only
prints them. Line-based output keeps `structure diff` independent of the terminal width, so its golden
file compares exactly.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from kizuna.model.diff import ChangeKind, EntityChange, StructureDiff
from kizuna.model.loading import SECTIONS
from kizuna.model.queries import CommandLink, CoordinationRoute, era_instant, format_offset
from kizuna.model.structure import Structure

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

_MARK = {ChangeKind.ADDED: "[green]+[/green]", ChangeKind.REMOVED: "[red]-[/red]", ChangeKind.CHANGED: "~"}
_TITLE = {
    "nations": "Nations",
    "sites": "Sites",
    "organizations": "Organizations",
    "relations": "Relations",
}


#: Field values longer than this are cut in the text diff (the --json form keeps them whole).
VALUE_WIDTH = 100


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    text = "[" + ", ".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)
    return textwrap.shorten(text, VALUE_WIDTH, placeholder=" …")


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
    """Render a coordination route: each hop with the relation used, its site, zone and UTC offset."""
    lines = []
    for i, hop in enumerate(route.hops):
        where = f"{hop.site} ({hop.time_zone}, {hop.offset_text})" if hop.site else "(no site)"
        via = f"--{hop.via}--> " if i else ""
        lines.append(
            f"  {i}. {escape(via)}[bold]{escape(hop.org)}[/bold]  {escape(hop.name)}"
            f"  [dim]{escape(where)}[/dim]"
        )
    spread = route.max_offset_spread.total_seconds() / 3600
    hops = len(route.hops) - 1
    changes = ", ".join(f"{c.from_org} → {c.to_org} {c.hours:+g} h" for c in route.offset_changes) or "none"
    lines.append(
        f"  {hops} hop{'s' if hops != 1 else ''}, cost {route.cost:g}; clock changes: {escape(changes)}; "
        f"widest gap {spread:g} h (offsets at {route.at.isoformat()})"
    )
    return lines


def _table(title: str, *columns: str, wrap: set[str]) -> Table:
    """A table whose ids, kinds and zones stay on one line; the free-text columns wrap."""
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column not in wrap)
    return table


def structure_tables(structure: Structure) -> list[RenderableType]:
    """Render a structure for `structure show`: header, organizations by nation and kind, relations, sites."""
    era = f"{structure.era.valid_from} → {structure.era.valid_to or 'present'}"
    header = f"[bold]{escape(structure.name)}[/bold]  ({escape(structure.id)}; era {era}"
    if structure.extends:
        header += f"; extends {escape(structure.extends)}"
    header += "; hypothetical)" if structure.hypothetical else ")"
    parts: list[RenderableType] = [header]
    if structure.description:
        parts.append(escape(structure.description.strip()))
    parts.append(
        "Nations: " + ", ".join(f"{escape(n.name)} ({escape(n.id)}, {n.code})" for n in structure.nations)
    )
    at = era_instant(structure)

    orgs = _table("Organizations", "nation", "kind", "id", "name", "site", "UTC offset", wrap={"name"})
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    nation_order = [n.id for n in structure.nations] + ["bilateral"]
    for org in structure.organizations:
        grouped[(org.nation, org.kind.value)].append(org)
    for nation, kind in sorted(
        grouped, key=lambda k: (nation_order.index(k[0]) if k[0] in nation_order else 99, k[1])
    ):
        for org in grouped[(nation, kind)]:
            site = structure.site_of(org.id)
            offset = format_offset(at.astimezone(site.zone).utcoffset()) if site else "?"
            name = org.name + (f" ({org.name_ja})" if org.name_ja else "")
            orgs.add_row(nation, kind, org.id, escape(name), site.id if site else "-", offset)
    parts.append(orgs)

    rels = _table("Relations", "from", "kind", "to", "source / assumption", wrap={"source / assumption"})
    for rel in sorted(structure.relations, key=lambda r: (r.kind.value, r.from_, r.to)):
        rels.add_row(rel.from_, rel.kind.value, rel.to, escape("; ".join(rel.source) or rel.assumption or ""))
    parts.append(rels)

    sites = _table("Sites", "id", "name", "lat", "lon", "time zone", "UTC offset", wrap={"name"})
    for site in structure.sites:
        sites.add_row(
            site.id,
            escape(site.name),
            f"{site.latitude:.3f}",
            f"{site.longitude:.3f}",
            site.time_zone,
            format_offset(at.astimezone(site.zone).utcoffset()),
        )
    parts.append(sites)
    parts.append(f"[dim]UTC offsets at {at.isoformat()} (the era's first day, noon UTC)[/dim]")
    return parts
