"""The authority matrix per situation: golden CSV outputs, and a self-contained HTML page.

Regenerate the golden files after a deliberate change to the rules with
`KIZUNA_UPDATE_GOLDEN=1 .venv/bin/pytest tests/authority/test_matrix.py` and review the diff: it is the
change in the law as the data states it.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kizuna.authority import FrameworkSet, Outcome, load_frameworks
from kizuna.authority.matrix import build_matrix, cell_text, matrix_csv, matrix_html

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "authority"


@pytest.fixture(scope="module")
def fw() -> FrameworkSet:
    return load_frameworks()


@pytest.mark.parametrize("situation", list(load_frameworks().situations))
def test_matrix_matches_the_golden_csv(fw: FrameworkSet, situation: str) -> None:
    text = matrix_csv(build_matrix(fw, situation))
    path = GOLDEN / f"{situation}.csv"
    if os.environ.get("KIZUNA_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}; run with KIZUNA_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_matrix_covers_every_top_level_actor_and_activity(fw: FrameworkSet) -> None:
    m = build_matrix(fw, "armed-attack")
    assert m.actors == ("jsdf", "jcg", "us-forces")
    assert set(m.activities) == set(fw.activities)
    assert len(m.cells) == len(m.actors) * len(m.activities)
    lines = matrix_csv(m).splitlines()
    assert len(lines) == 1 + len(m.cells)
    assert lines[0].startswith("situation,actor,activity")


def test_cell_text_lists_missing_in_order_and_after() -> None:
    flags = ["urgent", "in-response-plan"]
    m = build_matrix(load_frameworks(), "armed-attack", supported="none", flags=flags)
    ruling = m.cell("jsdf", "use-of-force")
    assert ruling.outcome is Outcome.REQUIRES_APPROVAL
    assert cell_text(ruling) == (
        "requires: nsc-deliberation > basic-response-plan > prime-minister-order (after: diet-approval)"
    )


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
    page = matrix_html(build_matrix(fw, "important-influence"), fw)
    checker = _Checker()
    checker.feed(page)
    assert checker.external == []
    assert checker.stack == []
    text = " ".join(checker.text)
    assert "Important Influence Situation" in text
    for activity in fw.activities:
        assert activity in text
    assert "iis-support" in text  # the rules the cells cite are listed with their reasons
    assert "Assumption:" in text
