"""The report on paper: every era's decision paths printed (browser print and --pdf), sources resolved."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from kizuna.model import load_scenario
from kizuna.model.sources import catalog, reference_in
from kizuna.report.simulation import compile_paths, write_report
from kizuna.sim.runner import simulate

SCENARIO = "okinawa-earthquake"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:  # type: ignore[type-arg]
    sc = load_scenario(SCENARIO)
    result = simulate(sc, replications=100, seed=1, workers=1)
    folder = tmp_path_factory.mktemp("report")
    html, pdf = write_report(result, sc, folder / "r.html", pdf=folder / "r.pdf", findings=[])
    return html, pdf, compile_paths(sc, list(result.structures))


def _text(pdf: Path) -> str:
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(pdf).pages)


def test_the_pdf_holds_every_eras_decision_path(written: tuple) -> None:  # type: ignore[type-arg]
    _, pdf, paths = written
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = _text(pdf)
    for sid, per in paths.items():
        for path in per.values():
            assert f"{sid} — {len(path.steps)} steps" in text  # every era's path is open, not only the first
            for step in path.steps:
                assert " ".join(step.label.split())[:40] in text


def test_the_pdf_embeds_the_japanese_font_when_names_are_japanese(tmp_path: Path) -> None:
    from kizuna.report.pdf import html_to_pdf

    html_to_pdf("<html><body><p>自衛隊統合作戦司令部 (JJOC)</p></body></html>", tmp_path / "ja.pdf")
    reader = PdfReader(tmp_path / "ja.pdf")
    fonts = {
        str(f.get_object()["/BaseFont"]) for p in reader.pages for f in p["/Resources"]["/Font"].values()
    }
    assert any("IPAexGothic" in f for f in fonts)
    assert "自衛隊統合作戦司令部" in (reader.pages[0].extract_text() or "")


def test_every_key_the_report_cites_is_in_its_sources_table(written: tuple) -> None:  # type: ignore[type-arg]
    html, _, paths = written
    page = html.read_text(encoding="utf-8")
    listed = set(re.findall(r'<tr id="source-([^"]+)">', page))
    refs = [
        reference_in(c) for per in paths.values() for p in per.values() for s in p.steps for c in s.citations
    ]
    cited = {r.split()[0] for r in refs if not r.startswith("http")}
    assert {"DOJ24", "G15", "EON60"} <= cited
    assert cited <= listed, sorted(cited - listed)
    assert listed <= set(catalog())
    assert "alliance-facts" not in page


def test_printing_in_a_browser_opens_every_decision_path(written: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """Headless Chromium prints the HTML report: the closed paths of later eras are in the printout."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is a dev dependency")
    html, _, paths = written
    out = tmp_path / "printed.pdf"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(html.as_uri())
        assert page.locator("details[open]").count() < page.locator("details").count()  # closed on screen
        page.pdf(path=str(out))
        browser.close()
    text = _text(out)
    for sid, per in paths.items():
        for path in per.values():
            last = " ".join(path.steps[-1].label.split())[:30]
            assert last in text, f"{sid}: {last!r} not printed"
