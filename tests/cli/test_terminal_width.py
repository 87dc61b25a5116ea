"""Every command at 80 and 120 columns: no line wider than the terminal, no id cut, no column lost.

Each case runs a command as a user would (through `main`, with COLUMNS set) and parses what it printed:
every id a user must type afterwards (structures, organizations, sites, situations, actors, activities,
approvals, scenarios, requests, parameters, users) must appear whole, as a token of its own; every
column header must appear (as a table header or as a label of the long format); and no line may be wider
than the terminal unless it is a single token that cannot break (a URL).

The benchmarks (`kizuna bench ...`) print through the same table helper; they run for minutes and have
tests of their own. `kizuna demo` and `kizuna serve` print lines (their tests read them).
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.cells import cell_len

from kizuna.authority import load_frameworks
from kizuna.cli.app import main
from kizuna.model import load_scenario, load_structure

WIDTHS = (80, 120)


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    width: int,
    *args: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    """Run `kizuna ARGS` at a terminal width; return the exit code, stdout and stderr."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(sys, "argv", ["kizuna", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def too_wide(text: str, width: int) -> list[str]:
    """Lines wider than `width` cells that could have been broken (more than one token)."""
    return [line for line in text.splitlines() if cell_len(line.rstrip()) > width and len(line.split()) > 1]


def tokens(text: str) -> set[str]:
    """The id-like tokens of the output: runs of letters, digits, dots, dashes and underscores."""
    return set(re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9]", text))


def missing(expected: Iterable[str], text: str) -> list[str]:
    found = tokens(text)
    return sorted(i for i in expected if i not in found)


@dataclass
class Case:
    """A command, the ids its output must show whole, and the headers of its other columns.

    Columns of ids are checked through their values (in the long format their ids head each block).
    """

    args: tuple[str, ...]
    ids: Callable[[], Iterable[str]] = list
    headers: tuple[str, ...] = ()
    code: int = 0
    stdin: str = ""
    setup: Callable[[Path], list[str]] = field(default=lambda _: [])


def _structure_ids(sid: str) -> list[str]:
    s = load_structure(sid)
    return [o.id for o in s.organizations] + [x.id for x in s.sites] + [s.id]


def _vocabulary() -> list[str]:
    fw = load_frameworks()
    return [*fw.situations, *fw.actors, *fw.activities, *fw.locations, *fw.approvals]


def _scenario_ids(scid: str) -> list[str]:
    sc = load_scenario(scid)
    return [r.id for r in sc.requests] + list(sc.structures)


# Refueling is a service (IIS Act 6(2)): it needs the Prime Minister's approval, so the table has five rows.
EXPLAIN = ("--situation", "important-influence", "--actor", "jsdf", "--activity", "refueling")
QUERIES = (
    '{"situation": "important-influence", "actor": "jsdf", "activity": "supply", "supported": "us-forces"}\n'
    '{"situation": "survival-threatening", "actor": "msdf", "activity": "escort-us-ships", '
    '"supported": "us-forces", "location": "high-seas-near-japan"}\n'
    '{"situation": "gray-zone", "actor": "jcg", "activity": "bogus"}\n'
)

CASES: dict[str, Case] = {
    "structure list": Case(
        ("structure", "list"),
        lambda: ["us-japan-2015", "us-japan-2025", "us-japan-combined"],
        ("name", "era", "orgs"),
    ),
    "structure show": Case(
        ("structure", "show", "us-japan-2025"), lambda: _structure_ids("us-japan-2025"), ("Sources",)
    ),
    "structure show (combined)": Case(
        ("structure", "show", "us-japan-combined"), lambda: _structure_ids("us-japan-combined")
    ),
    "structure diff": Case(
        ("structure", "diff", "us-japan-2015", "us-japan-2025"),
        lambda: ["jjoc", "usfj", "iii-mef", "JJOC", "DOJ24", "USFJ25"],
        ("Sources",),
    ),
    "structure chain": Case(
        ("structure", "chain", "us-japan-2025", "12th-mlr"),
        lambda: ["12th-mlr", "iii-mef", "usfj", "indopacom"],
    ),
    "structure route": Case(
        ("structure", "route", "us-japan-2015", "iii-mef", "gsdf"), lambda: ["iii-mef", "marforpac", "gsdf"]
    ),
    "structure validate": Case(
        ("structure", "validate", "--all"), lambda: ["us-japan-2015", "us-japan-2025"]
    ),
    "authority vocabulary": Case(("authority", "vocabulary"), _vocabulary, ("name", "meaning")),
    "authority explain": Case(
        ("authority", "explain", *EXPLAIN, "--supported", "us-forces", "--location", "high-seas-near-japan"),
        lambda: [
            "nsc-deliberation",
            "basic-plan",
            "diet-approval",
            "prime-minister-approval",
            "defense-minister-order",
            "DOJ24",
        ],
        ("name", "status", "comes after", "Citations", "Sources"),
    ),
    "authority check": Case(
        ("authority", "check"),
        lambda: [
            "important-influence",
            "survival-threatening",
            "escort-us-ships",
            "msdf",
            "jsdf",
            "gray-zone",
        ],
        ("context", "missing (in order)", "after"),
        code=2,
        stdin=QUERIES,
    ),
    "authority matrix": Case(
        (
            "authority",
            "matrix",
            "--situation",
            "important-influence",
            "--supported",
            "us-forces",
            "--location",
            "high-seas-near-japan",
        ),
        lambda: [*load_frameworks().activities, "nsc-deliberation", "prime-minister-approval"],
    ),
    "authority validate": Case(
        ("authority", "validate", "--all"), lambda: ["japan-2015", "us-japan-treaty-1960"]
    ),
    "simulate": Case(
        ("simulate", "okinawa-earthquake", "-n", "200", "--workers", "1"),
        lambda: _scenario_ids("okinawa-earthquake"),
        ("decision p50", "effect p50", "effect mean", "effect p90", "deadlines met"),
    ),
    "sweep --list": Case(
        ("sweep", "okinawa-earthquake", "--list"),
        lambda: [
            "defaults.servers",
            "organizations.gsdf.servers",
            "organizations.okinawa-prefecture.servers",
        ],
        ("now", "why it has this value"),
    ),
    "sweep": Case(
        ("sweep", "okinawa-earthquake", "--vary", "defaults.servers=1:2", "-n", "50", "--workers", "1"),
        lambda: ["defaults.servers", "sdf-disaster-relief.effect.mean"],
        ("range", "fitted swing (h)", "Spearman ρ"),
    ),
    "source list": Case(("source", "list"), lambda: ["G15", "DOJ24", "2P2-24", "USFJ25", "5PARTY"]),
    "db info": Case(
        ("db", "info"),
        lambda: ["stream-catalog", "sqlite"],
        ("version", "applied to seq"),
        setup=lambda tmp: [f"sqlite:///{tmp / 'w.db'}"],
    ),
    "user list": Case(
        ("user", "list"),
        lambda: ["jp-cabinet-approver", "us-operator"],
        ("name", "active"),
        setup=lambda tmp: [
            f"sqlite:///{tmp / 'w.db'}",
            "jp-cabinet-approver:Ito Yumi, Cabinet Secretariat, Government of Japan:JPN:jp-cabinet:approver",
            "us-operator:Maj. Dana Reyes, U.S. Forces Japan J3:USA:usfj:operator",
        ],
    ),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(CASES))
def test_output_fits_and_keeps_every_id_and_column(
    name: str,
    width: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    case = CASES[name]
    args = list(case.args)
    setup = case.setup(tmp_path)
    if setup:
        url, *users = setup
        code, _, err = run(monkeypatch, capsys, width, "db", "upgrade", "--url", url)
        assert code == 0, err
        for spec in users:
            uid, full, nation, org, role = spec.split(":")
            code, _, err = run(
                monkeypatch,
                capsys,
                width,
                *("user", "add", uid, "--name", full, "--nation", nation, "--org", org, "--role", role),
                *("--no-password", "--url", url),
            )
            assert code == 0, err
        args += ["--url", url]
    code, out, err = run(monkeypatch, capsys, width, *args, stdin=case.stdin)
    assert code == case.code, err
    assert not too_wide(out, width), f"lines wider than {width}:\n" + "\n".join(too_wide(out, width))
    assert not too_wide(err, width), f"error lines wider than {width}:\n" + "\n".join(too_wide(err, width))
    assert not missing(case.ids(), out), f"ids cut or missing at {width} columns: {missing(case.ids(), out)}"
    words = set(out.replace(":", " ").split())
    lost = [h for h in case.headers if not set(h.split()) <= words]  # a header may wrap within its column
    assert not lost, f"columns lost at {width} columns: {lost}"
    assert "…" not in out, "a cell was cut with an ellipsis"


def test_a_table_too_wide_for_the_terminal_reflows_to_one_block_per_row() -> None:
    """The helper's contract, on its own: at 40 columns a five-column table becomes blocks, ids whole."""
    from rich.console import Console

    from kizuna.report.terminal import Column, fit_table

    columns = [
        Column("id", key=True),
        Column("name", wrap=True),
        Column("site", key=True),
        Column("zone", key=True),
        Column("offset"),
    ]
    rows = [
        ["yonaguni-coast-observation-unit", "Yonaguni Coast Observation Unit", "yonaguni", "Asia/Tokyo", "+9"]
    ]
    console = Console(width=40, file=io.StringIO(), record=True)
    console.print(fit_table(columns, rows, width=40))
    text = console.export_text()
    for key in ("yonaguni-coast-observation-unit", "yonaguni", "Asia/Tokyo"):  # ids first, whole
        assert key in text.split()
    for header in ("name:", "offset:"):  # then every other column, labelled
        assert header in text
    assert not too_wide(text, 40)
    wide = Console(width=120, file=io.StringIO(), record=True)
    wide.print(fit_table(columns, rows, width=120))
    assert "name:" not in wide.export_text()  # a table when it fits


def test_a_long_line_wraps_at_words_under_its_own_indent() -> None:
    from kizuna.report.terminal import wrap_markup

    line = "      ↳ source: " + "; ".join(f"DOJ{n} Fig II-4-2-{n}" for n in range(12))
    wrapped = [t.plain for t in wrap_markup(line, 50)]
    assert len(wrapped) > 1
    assert all(cell_len(w.rstrip()) <= 50 for w in wrapped)
    assert all(w.startswith(" " * 10) for w in wrapped[1:])  # continuation under the start, indented
    assert " ".join(" ".join(w.split()) for w in wrapped) == " ".join(line.split())


def test_ids_are_read_without_case_and_a_missing_file_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, 80, "structure", "chain", "US-Japan-2025", "JJOC")
    assert code == 0
    assert "jjoc" in tokens(out)
    code, _, err = run(monkeypatch, capsys, 80, "structure", "show", "no-such-file.yaml")
    assert code == 2
    assert "no such file" in err
    code, _, err = run(monkeypatch, capsys, 80, "structure", "show", "us-japan-2105")
    assert code == 2
    assert "did you mean 'us-japan-2015' or 'us-japan-2025'?" in " ".join(err.split())
    code, _, err = run(monkeypatch, capsys, 80, "simulate", "us-japan-2015")
    assert code == 2
    assert "is a structure, not a scenario" in " ".join(err.split())
