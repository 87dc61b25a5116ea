"""The authority matrix per situation: golden CSV outputs, and a self-contained HTML page.

Regenerate the golden files after a deliberate change to the rules with
`KIZUNA_UPDATE_GOLDEN=1 .venv/bin/pytest tests/authority/test_matrix.py` and review the diff: it is the
change in the law as the data states it. The golden sheets state their facts (U.S. forces supported, in
Japan): the matrix assumes none.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kizuna.authority import FrameworkSet, Outcome, Ruling, load_frameworks
from kizuna.authority.matrix import build_matrix, cell_text, matrix_csv, matrix_html
from kizuna.errors import MissingFact

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "authority"


@pytest.fixture(scope="module")
def fw() -> FrameworkSet:
    return load_frameworks()


#: The sheets kept as golden files: each situation alone, and two designations in force together.
SHEETS = [*([s] for s in load_frameworks().situations), ["armed-attack", "survival-threatening"]]


@pytest.mark.parametrize("situations", SHEETS, ids=["+".join(s) for s in SHEETS])
def test_matrix_matches_the_golden_csv(fw: FrameworkSet, situations: list[str]) -> None:
    m = build_matrix(fw, situations, supported="us-forces", location="japan-territory")
    text = matrix_csv(m)
    path = GOLDEN / f"{'+'.join(situations)}.csv"
    if os.environ.get("KIZUNA_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}; run with KIZUNA_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_matrix_covers_every_top_level_actor_and_activity(fw: FrameworkSet) -> None:
    m = build_matrix(fw, "armed-attack", supported="us-forces", location="japan-territory")
    assert m.actors == ("jsdf", "jcg", "us-forces")
    assert set(m.activities) == set(fw.activities)
    assert len(m.cells) == len(m.actors) * len(m.activities)
    lines = matrix_csv(m).splitlines()
    assert len(lines) == 1 + len(m.cells)
    assert lines[0].startswith("situation,actor,activity")


def test_cell_text_lists_missing_in_order_and_after() -> None:
    flags = ["urgent", "in-response-plan", "attack-occurred"]
    m = build_matrix(load_frameworks(), "armed-attack", flags=flags)
    ruling = m.cell("jsdf", "use-of-force")
    assert isinstance(ruling, Ruling)
    assert ruling.outcome is Outcome.REQUIRES_APPROVAL
    assert cell_text(ruling) == (
        "requires: nsc-deliberation > basic-response-plan > prime-minister-order (after: diet-approval)"
    )


def test_the_matrix_assumes_no_fact_and_says_which_one_a_cell_needs(fw: FrameworkSet) -> None:
    """Issue 8 item 13: `authority matrix` once assumed U.S. forces supported; now a cell whose ruling
    depends on a fact the sheet leaves out names it, and cells that do not depend on it are ruled."""
    m = build_matrix(fw, "important-influence")
    refuel = m.cell("jsdf", "refueling")
    assert isinstance(refuel, MissingFact)
    assert refuel.fields == ("supported", "location")
    assert cell_text(refuel) == "needs supported, location"
    force = m.cell("jsdf", "use-of-force")
    assert isinstance(force, Ruling)
    assert force.prohibited
    stated = build_matrix(fw, "important-influence", supported="us-forces", location="high-seas-near-japan")
    assert isinstance(stated.cell("jsdf", "refueling"), Ruling)
    assert "needs:supported+location" in matrix_csv(m)


def test_a_matrix_of_two_designations_rules_on_their_union(fw: FrameworkSet) -> None:
    m = build_matrix(
        fw,
        ["armed-attack", "survival-threatening"],
        supported="us-forces",
        location="high-seas-near-japan",
        flags=["attack-occurred", "in-response-plan"],
    )
    assert m.situation == "survival-threatening+armed-attack"
    guam = m.cell("jsdf", "bmd-intercept")
    assert isinstance(guam, Ruling)
    assert guam.basis == "survival-threatening"
    assert "diet-approval" in guam.missing


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "link", "img", "iframe"} or any(k in {"src", "href"} for k, _ in attrs):
            self.external.append(tag)
        if tag not in {"meta", "br"}:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack.pop() == tag, f"</{tag}> closes the wrong element"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_and_well_formed(fw: FrameworkSet) -> None:
    page = matrix_html(build_matrix(fw, "important-influence", supported="us-forces"), fw)
    checker = _Checker()
    checker.feed(page)
    assert checker.external == []
    assert checker.stack == []
    text = " ".join(checker.text)
    assert "Important Influence Situation" in text
    for activity in fw.activities:
        assert activity in text
    assert "force-only-under-three-conditions" in text  # the rules cells cite are listed, with reasons
    assert "Assumption:" in text
    assert "needs location" in text  # cells that depend on a fact the page leaves out say so
