"""The era comparison of the main job: what changed, and how the two operational commands reach each other.

For each era the question is the same: *which U.S. commander holds operational authority over U.S. forces
in the host nation, which organization holds operational control of the host nation's forces, and how does
word travel between the two?* Both ends are derived from the structure with the queries of
`kizuna.model.queries`, from two anchors the caller names (for the bundled data: USFJ, and the three SDF
services), so that the same code answers the question for any alliance written in the format.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kizuna.errors import NotFound
from kizuna.model.diff import StructureDiff, diff
from kizuna.model.queries import (
    CoordinationRoute,
    coordination_route,
    operational_authority,
    operational_commander,
)
from kizuna.model.structure import OrgKind, RelationKind, Structure
from kizuna.report.orgchart import FORMATS, draw_orgchart


@dataclass(frozen=True, slots=True)
class Counterparts:
    """The anchors of the comparison's question, as organization ids of the structures compared.

    Attributes:
        forces_abroad: the headquarters of one nation's forces stationed in the other; the route starts
            at the nearest organization at or above it that holds operational control.
        host_forces: the other nation's forces; the route ends at the organization holding operational
            control (`commands`) over them (the first one's, when they differ), or, where that holder is
            a ministry or government, at the military staff that `supports` it (before JJOC the Joint
            Staff ran SDF joint operations for the Minister, and that is who the U.S. command works with).
    """

    forces_abroad: str
    host_forces: tuple[str, ...]


#: The question the bundled demo asks of the U.S.–Japan structures.
US_JAPAN = Counterparts(forces_abroad="usfj", host_forces=("gsdf", "msdf", "asdf"))


@dataclass(frozen=True, slots=True)
class EraRoute:
    """One era's answer: the two commanders and the coordination route between them."""

    structure: Structure
    abroad_commander: str
    host_commander: str
    route: CoordinationRoute


@dataclass(frozen=True, slots=True)
class EraComparison:
    """The diff between two eras and the counterpart route in each structure compared."""

    diff: StructureDiff
    routes: tuple[EraRoute, ...]


def counterpart_route(structure: Structure, question: Counterparts) -> EraRoute:
    """Answer the comparison's question for one structure.

    Raises:
        UnknownId: an anchor is not an organization of the structure.
        NotFound: nobody holds operational control over the anchors, or no route connects the two.
    """
    abroad = operational_authority(structure, question.forces_abroad)
    commanders = [operational_commander(structure, org) for org in question.host_forces]
    host = next((c for c in commanders if c is not None), None)
    if host is None:
        raise NotFound(
            f"{structure.id}: no organization holds operational control of {', '.join(question.host_forces)}"
        )
    host_id = _operational_staff(structure, host.id)
    return EraRoute(structure, abroad.id, host_id, coordination_route(structure, abroad.id, host_id))


def _operational_staff(structure: Structure, commander: str) -> str:
    """Return the military staff or command that supports a political commander, or the commander."""
    if structure.org(commander).kind not in {OrgKind.MINISTRY, OrgKind.GOVERNMENT}:
        return commander
    for relation in structure.relations:
        if (
            relation.kind is RelationKind.SUPPORTS
            and relation.to == commander
            and structure.org(relation.from_).kind in {OrgKind.STAFF, OrgKind.COMMAND}
        ):
            return relation.from_
    return commander


def compare_eras(
    before: Structure, after: Structure, question: Counterparts, *, also: Sequence[Structure] = ()
) -> EraComparison:
    """Diff two eras and answer the counterpart question in each (and in `also`, e.g. a hypothetical)."""
    routes = tuple(counterpart_route(s, question) for s in (before, after, *also))
    return EraComparison(diff(before, after), routes)


def write_orgcharts(
    structures: Iterable[Structure],
    out_dir: str | Path,
    formats: Sequence[str] = FORMATS,
    *,
    lang: str = "en",
    layout_of: Sequence[Structure] = (),
) -> list[Path]:
    """Draw the structures' org charts into `out_dir` as `<id>.<format>` on one shared layout.

    Each chart after the first marks what changed against the one before it (eras in order); the layout
    is that of the union of `layout_of` (default: the structures drawn), so an organization sits in the
    same place in every chart. Japanese charts (`lang="ja"`) are written as `<id>.ja.<format>`.
    """
    folder = Path(out_dir)
    eras = list(structures)
    shared = list(layout_of) or eras
    suffix_lang = ".ja" if lang == "ja" else ""
    written = []
    for i, s in enumerate(eras):
        base = eras[i - 1] if i else None
        for suffix in formats:
            out = folder / f"{s.id}{suffix_lang}{suffix}"
            written.append(draw_orgchart(s, out, base=base, layout_of=shared, lang=lang))
    return written
