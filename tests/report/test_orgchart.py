"""Org charts a planner can read, and files that really are PNG, SVG and PDF.

Bands, rows, no overlaps; members inside their bilateral bodies; one layout across eras with changes marked;
whole names, in English or Japanese.
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import InvalidQuery
from kizuna.model import (
    BILATERAL,
    Era,
    Nation,
    Organization,
    OrgKind,
    Relation,
    RelationKind,
    Structure,
    load_structure,
)
from kizuna.report.orgchart import Box, Change, changes, chart_layout, draw_orgchart, wrap_name

FIXTURES = Path(__file__).resolve().parents[1] / "model" / "fixtures"
STRUCTURES = [
    "us-japan-2015",
    "us-japan-2025",
    "us-japan-combined",
    str(FIXTURES / "twin-2010.yaml"),
    str(FIXTURES / "twin-2020.yaml"),
]


@pytest.fixture(params=STRUCTURES, ids=lambda r: Path(r).stem)
def structure(request: pytest.FixtureRequest) -> Structure:
    return load_structure(request.param)


def overlap(a: Box, b: Box) -> bool:
    (al, ab, ar, at), (bl, bb, br, bt) = a.bounds, b.bounds
    return al < br - 1e-9 and bl < ar - 1e-9 and ab < bt - 1e-9 and bb < at - 1e-9


def test_every_organization_gets_one_box_and_no_two_boxes_overlap(structure: Structure) -> None:
    layout = chart_layout(structure)
    assert set(layout.boxes) == {o.id for o in structure.organizations}
    for a, b in itertools.combinations(layout.boxes.values(), 2):
        assert not overlap(a, b), f"{a.org} overlaps {b.org}"


def test_nations_side_by_side_with_bilateral_bodies_between(structure: Structure) -> None:
    layout = chart_layout(structure)
    keys = [band.key for band in layout.bands]
    assert keys == [structure.nations[0].id, BILATERAL, structure.nations[1].id]
    band = {b.key: b for b in layout.bands}
    for box in layout.boxes.values():
        left, _, right, _ = box.bounds
        assert band[box.band].x0 <= left
        assert right <= band[box.band].x1
    for first, second in itertools.pairwise(layout.bands):
        assert first.x1 < second.x0


def test_superiors_sit_above_subordinates(structure: Structure) -> None:
    layout = chart_layout(structure)
    for rel in structure.relations:
        if not rel.kind.is_hierarchical:
            continue
        sup, sub = (rel.from_, rel.to) if rel.kind.points_down else (rel.to, rel.from_)
        assert layout.boxes[sup].y > layout.boxes[sub].y, rel.key


def test_political_leadership_on_top_and_units_at_the_bottom() -> None:
    s = load_structure("us-japan-2025")
    layout = chart_layout(s)
    top = max(b.y for b in layout.boxes.values())
    bottom = min(b.y for b in layout.boxes.values() if not b.panel)  # panels list bodies' members beside
    assert layout.boxes["us-president"].y == layout.boxes["jp-pm"].y == top
    assert layout.boxes["12th-mlr"].y == layout.boxes["ardb"].y == bottom


def test_png_and_svg_are_written(tmp_path: Path) -> None:
    s = load_structure("us-japan-2025")
    png = draw_orgchart(s, tmp_path / "chart.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = draw_orgchart(s, tmp_path / "nested" / "chart.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml")
    assert "JSDF Joint Operations" in svg  # labels are wrapped, and kept as text
    assert "commands (operational control)" in svg  # the legend
    assert "us-japan-2025" in svg  # the title names the structure


def test_the_same_structure_gives_the_same_svg(tmp_path: Path) -> None:
    s = load_structure(FIXTURES / "twin-2010.yaml")
    first = draw_orgchart(s, tmp_path / "a.svg").read_bytes()
    second = draw_orgchart(s, tmp_path / "b.svg").read_bytes()
    assert first == second


def test_other_suffixes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidQuery, match=r"\.png, \.svg or \.pdf"):
        draw_orgchart(load_structure(FIXTURES / "twin-2010.yaml"), tmp_path / "chart.jpg")
    assert not (tmp_path / "chart.jpg").exists()


def test_a_pdf_is_written(tmp_path: Path) -> None:
    pdf = draw_orgchart(load_structure("us-japan-2015"), tmp_path / "chart.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


# -- reading the chart -------------------------------------------------------------------------------------


ERAS = ["us-japan-2015", "us-japan-2025", "us-japan-combined"]


def test_the_eras_share_one_layout() -> None:
    """Every organization sits in the same place in every era's chart, so eras compare by eye."""
    structures = [load_structure(s) for s in ERAS]
    shared = chart_layout(structures)
    assert set(shared.boxes) == {o.id for s in structures for o in s.organizations}
    for a, b in itertools.combinations(shared.boxes.values(), 2):
        assert not overlap(a, b), f"{a.org} overlaps {b.org}"
    # the usual per-era rule still holds on the shared layout
    for s in structures:
        for rel in s.relations:
            if rel.kind.is_hierarchical:
                sup, sub = (rel.from_, rel.to) if rel.kind.points_down else (rel.to, rel.from_)
                assert shared.boxes[sup].y > shared.boxes[sub].y, rel.key


def test_a_bilateral_body_lists_its_members_inside_it() -> None:
    s = load_structure("us-japan-2025")
    layout = chart_layout(s)
    bocc = layout.boxes["acm-bocc"]
    assert bocc.panel
    members = {r.from_ for r in s.relations if r.kind is RelationKind.MEMBER_OF and r.to == "acm-bocc"}
    assert set(layout.members["acm-bocc"]) == members
    assert layout.members["acm-bocc"][0] in {
        o.id for o in s.organizations if o.nation == "us"
    }  # nation by nation


def test_subordinates_sit_under_their_superior() -> None:
    """The chain of command reads down the page: GSDF's units sit under GSDF, not across the band."""
    layout = chart_layout(load_structure("us-japan-2025"))
    units = ["ardb", "amami-area-security-force", "yonaguni-coast-observation-unit"]
    xs = [layout.boxes[u].x for u in units]
    assert min(xs) <= layout.boxes["gsdf"].x <= max(xs)


def test_changes_against_the_earlier_era_are_marked(tmp_path: Path) -> None:
    before, after = load_structure("us-japan-2015"), load_structure("us-japan-2025")
    orgs, rels = changes(after, before)
    assert orgs["jjoc"] is Change.ADDED
    assert orgs["gsdf"] is Change.CHANGED  # operational control moved from the Minister to JJOC
    assert orgs["jp-pm"] is Change.SAME
    assert rels["jp-mod commands gsdf"] is Change.REMOVED
    svg = draw_orgchart(after, tmp_path / "c.svg", base=before).read_text(encoding="utf-8")
    assert "new in this era" in svg
    assert "gone in this era" in svg
    assert "changes marked against us-japan-2015" in svg


def test_names_are_never_cut(structure: Structure) -> None:
    for org in structure.organizations:
        lines = wrap_name(org.name)
        assert " ".join(lines) == " ".join(org.name.split())
        assert not any("…" in line for line in lines)


def test_japanese_labels_use_the_japanese_names_and_the_bundled_font(tmp_path: Path) -> None:
    s = load_structure("us-japan-2025")
    svg = draw_orgchart(s, tmp_path / "ja.svg", lang="ja").read_text(encoding="utf-8")
    jjoc = s.org_by_id["jjoc"].name_ja
    assert jjoc
    assert all(line in svg for line in wrap_name(jjoc))
    assert "IPAexGothic" in svg
    with pytest.raises(InvalidQuery, match="en or ja"):
        draw_orgchart(s, tmp_path / "x.svg", lang="fr")


# -- any structure -----------------------------------------------------------------------------------------


@st.composite
def random_structures(draw: st.DrawFn) -> Structure:
    """Structures of 1-3 nations with a command forest and random coordination links."""
    nations = [
        Nation(id=f"n{i}", name=f"Nation {i}", code=f"X{chr(65 + i)}A", assumption="test")
        for i in range(draw(st.integers(1, 3)))
    ]
    count = draw(st.integers(1, 30))
    orgs = [
        Organization(
            id=f"o{i}",
            name=draw(st.sampled_from(["HQ", "A rather long organization name (with a parenthetical)"])),
            nation=draw(st.sampled_from([*(n.id for n in nations), BILATERAL])),
            kind=draw(st.sampled_from(list(OrgKind))),
            assumption="test",
        )
        for i in range(count)
    ]
    relations: dict[str, Relation] = {}
    for i in range(1, count):
        if draw(st.booleans()):
            kind = draw(st.sampled_from([RelationKind.COMMANDS, RelationKind.ADMINISTRATIVE_CONTROL]))
            rel = Relation(from_=f"o{draw(st.integers(0, i - 1))}", kind=kind, to=f"o{i}", assumption="test")
            relations[rel.key] = rel
    for _ in range(draw(st.integers(0, 20))):
        a, b = draw(st.integers(0, count - 1)), draw(st.integers(0, count - 1))
        kind = draw(st.sampled_from([RelationKind.MEMBER_OF, RelationKind.SUPPORTS, RelationKind.LIAISON]))
        if a != b:
            rel = Relation(from_=f"o{a}", kind=kind, to=f"o{b}", assumption="test")
            relations.setdefault(rel.key, rel)
    return Structure(
        id="random",
        name="Random",
        era=Era(valid_from=date(2020, 1, 1)),
        nations=tuple(nations),
        organizations=tuple(orgs),
        relations=tuple(relations.values()),
    )


@settings(max_examples=80, deadline=None)
@given(random_structures())
def test_any_structure_lays_out_without_overlaps_and_top_down(structure: Structure) -> None:
    layout = chart_layout(structure)
    band = {b.key: b for b in layout.bands}
    assert set(layout.boxes) == {o.id for o in structure.organizations}
    for a, b in itertools.combinations(layout.boxes.values(), 2):
        assert not overlap(a, b), f"{a.org} overlaps {b.org}"
    for box in layout.boxes.values():
        left, bottom, right, top = box.bounds
        assert band[box.band].x0 <= left
        assert right <= band[box.band].x1
        assert bottom >= 0
        assert top <= layout.height
    for rel in structure.relations:
        if rel.kind.is_hierarchical:
            assert layout.boxes[rel.from_].y > layout.boxes[rel.to].y, rel.key
