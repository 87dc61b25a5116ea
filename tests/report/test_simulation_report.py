"""The simulation report: a self-contained page whose figures and tables come from the run and the paths."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from kizuna.model import load_structure
from kizuna.model.scenario import Scenario, load_scenario
from kizuna.report.simulation import (
    bottleneck_figure,
    compile_paths,
    deadline_figure,
    distribution_figure,
    gantt_figure,
    render_simulation_report,
    save_figures,
    unit_for,
    write_report,
)
from kizuna.sim import SimResult, simulate

DOCS = Path(__file__).resolve().parents[2] / "docs" / "examples"


@cache
def run(sid: str, n: int = 96) -> tuple[Scenario, SimResult]:
    sc = load_scenario(sid)
    return sc, simulate(sc, replications=n, seed=5, workers=1)


@cache
def page(sid: str) -> str:
    """The rendered report of a scenario (rendered once: drawing the figures is the slow part)."""
    sc, result = run(sid)
    return render_simulation_report(result, sc, compile_paths(sc))


def embedded_images(html: str) -> list[str]:
    return re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)


def test_the_page_is_self_contained_and_has_every_section() -> None:
    _, result = run("taiwan-contingency")
    html = page("taiwan-contingency")
    for section in (
        "summary",
        "distributions",
        "deadlines",
        "comparison",
        "bottlenecks",
        "gantt",
        "critical",
        "observed",
        "paths",
        "sources",
    ):
        assert f'id="{section}"' in html
    images = embedded_images(html)
    # distributions, bottlenecks, one Gantt per structure, deadlines, comparison, observed
    assert len(images) == 5 + len(result.structures)
    assert all(len(i) > 1000 for i in images)
    assert "http://" not in html.split('<h2 id="sources">')[0].replace("http://www.w3.org", "")


def test_the_decision_paths_show_their_approvals_and_citations() -> None:
    sc, _ = run("taiwan-contingency")
    paths = compile_paths(sc)
    html = page("taiwan-contingency")
    combat = paths["us-japan-2015"]["combat-ops-from-japan"]
    assert "prior-consultation" in html
    for step in combat.steps:
        for citation in step.citations:
            assert citation.replace("&", "&amp;").replace('"', "&#34;").replace("'", "&#39;") in html


def test_a_prohibited_request_is_reported_as_such_and_not_simulated() -> None:
    _, result = run("dprk-missile-launch")
    html = page("dprk-missile-launch")
    assert "prohibited by law in this situation" in html
    for sres in result.structures.values():
        assert "intercept-guam-bound" not in sres.requests


def test_the_model_is_set_beside_the_observed_timeline() -> None:
    _, result = run("senkaku-gray-zone")
    html = page("senkaku-gray-zone")
    observed = html.split('id="observed"')[1].split('id="paths"')[0]
    assert "SUB04" in observed
    for sid in result.structures:
        assert sid in observed


def test_the_distribution_figure_has_a_decision_and_an_effect_panel_per_request() -> None:
    sc, result = run("taiwan-contingency")
    fig = distribution_figure(result, sc)
    requests = {r for s in result.structures.values() for r in s.requests}
    assert len(fig.axes) == 2 * len(requests)
    assert {ax.get_xscale() for ax in fig.axes} == {"log"}


def test_the_bottleneck_figure_has_a_panel_per_structure() -> None:
    _, result = run("taiwan-contingency")
    fig = bottleneck_figure(result)
    assert [ax.get_title() for ax in fig.axes] == list(result.structures)


def test_the_gantt_chart_draws_every_step_of_the_median_replication() -> None:
    sc, result = run("okinawa-earthquake")
    bars = result.structures["us-japan-2015"].gantt
    fig = gantt_figure(bars, title="t", start=sc.start)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == len(bars)
    assert len(gantt_figure(bars, title="t", max_rows=3).axes[0].get_yticklabels()) == 3


def test_the_gantt_chart_speaks_in_names_dates_and_one_scale_for_every_era() -> None:
    from kizuna.report.simulation import gantt_window

    sc, result = run("okinawa-earthquake")
    structure = load_structure("us-japan-2025")
    names = {o.id: o.name for o in structure.organizations}
    window = gantt_window([s.gantt for s in result.structures.values()])
    charts = {
        sid: gantt_figure(
            sres.gantt,
            title=sid,
            start=sc.start,
            window=window,
            org_names=names,
            request_names={r.id: r.name or r.id for r in sc.requests},
        )
        for sid, sres in result.structures.items()
    }
    limits = {tuple(round(v, 6) for v in fig.axes[0].get_xlim()) for fig in charts.values()}
    assert len(limits) == 1, "every era's chart has the same time scale"
    ax = charts["us-japan-2025"].axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any(label.startswith("Alliance Coordination Group — ") for label in labels)
    assert not any("·" in label or "relay" in label for label in labels), "no internal ids"
    charts["us-japan-2025"].canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks
    assert all(re.match(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d\d:\d\d|\d\d \w{3})$", t) for t in ticks), ticks
    legend = [t.get_text() for t in charts["us-japan-2025"].legends[0].get_texts()]
    assert any(text.startswith("GSDF disaster relief") for text in legend)  # request names, not ids


def test_a_network_scenario_has_no_deadlines_figure_and_still_reports(tmp_path: Path) -> None:
    sc = load_scenario(DOCS / "mmc.yaml")
    result = simulate(sc, replications=8, seed=1, workers=1)
    assert deadline_figure(result) is None
    [path] = write_report(result, sc, tmp_path / "mmc.html")
    assert path.stat().st_size > 0
    assert "The scenario sets no deadlines." in path.read_text(encoding="utf-8")


def test_figures_can_be_saved_one_by_one(tmp_path: Path) -> None:
    sc, result = run("dprk-missile-launch")
    written = save_figures(result, sc, tmp_path)
    assert {p.suffix for p in written} == {".png"}
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_minutes_are_used_for_short_times() -> None:
    assert unit_for([0.1, 0.5]).name == "min"
    assert unit_for([0.1, 5.0]).name == "h"
