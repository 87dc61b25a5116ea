"""MSEL import and export: round trips, every bad row reported at once, other layouts, scenarios both ways."""

from __future__ import annotations

import csv
import re
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.coordination import Law
from kizuna.errors import DataError
from kizuna.exercise.design import msel_for
from kizuna.interop import Msel, MselRow, read_msel, scenario_from_msel, write_msel, write_scenario
from kizuna.interop.msel import format_time, parse_marking, parse_time
from kizuna.model import load_scenario, load_structure
from kizuna.sim import build_inputs

START = datetime(2027, 4, 6, 5, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
ORGS = {"usfj", "jp-mod", "jjoc", "jp-cabinet-secretariat", "iii-mef"}
HEADER = [
    "Serial",
    "Time",
    "Event",
    "From",
    "To",
    "Method",
    "Expected action",
    "Objective",
    "Remarks",
    "Marking",
]
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "taiwan-contingency-msel.csv"


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def good_row(serial: str, when: str = "D+0 06:00", to: str = "usfj") -> list[str]:
    return [serial, when, "PLA forces embark", "EXCON", to, "message", "report", "OBJ-1", "", ""]


def problems(error: DataError) -> list[tuple[int | None, str, str]]:
    return [(p.line, p.field, p.message) for p in error.problems]


def test_times_read_as_designers_write_them() -> None:
    assert parse_time("D+1 06:00", START) == datetime(2027, 4, 7, 6, 0, tzinfo=START.tzinfo)
    assert parse_time("D 05:00", START) == START
    assert parse_time("H+6.5", START) == START + timedelta(hours=6.5)
    assert parse_time("2027-04-06 09:30", START) == datetime(2027, 4, 6, 9, 30, tzinfo=START.tzinfo)
    assert parse_time(datetime(2027, 4, 8, 1, 0), START).tzinfo is START.tzinfo  # noqa: DTZ001 - from a sheet
    assert format_time(START + timedelta(days=2, hours=1), START) == "D+2 06:00"
    with pytest.raises(ValueError):  # noqa: PT011 - any parse failure is reported as the row's problem
        parse_time("tomorrow", START)


def test_markings_read_from_their_banner_line() -> None:
    both = parse_marking("SECRET//REL TO USA, JPN")
    assert both.owner == "USA"
    assert both.rel_to == {"USA", "JPN"}
    assert parse_marking("EXERCISE//SECRET//NOFORN", owner="JPN").rel_to == {"JPN"}
    with pytest.raises(ValueError, match="owner"):
        parse_marking("SECRET//NOFORN")
    with pytest.raises(ValueError, match="unknown level"):
        parse_marking("SEKRET")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_scenario_becomes_an_msel_that_reads_back_unchanged(tmp_path: Path, suffix: str) -> None:
    scenario = load_scenario("taiwan-contingency")
    msel = msel_for(scenario, "us-japan-2025", Law())
    assert [r.request for r in msel.rows if r.request] == [
        "designate-iis",
        "combat-ops-from-japan",
        "logistics-support",
        "designate-sts",
        "defend-us-ships",
    ]
    path = write_msel(msel, tmp_path / f"msel{suffix}")
    back = read_msel(
        path,
        start=scenario.start,
        organizations=load_structure("us-japan-2025").org_by_id,
        requests=[r.id for r in scenario.requests],
    )
    strip = [r.model_dump(exclude={"line"}) for r in msel.rows]
    assert [r.model_dump(exclude={"line"}) for r in back.rows] == strip


def test_an_msel_becomes_the_scenario_it_describes_and_simulates_the_same_filings(tmp_path: Path) -> None:
    scenario = load_scenario("taiwan-contingency")
    msel = msel_for(scenario, "us-japan-2025", Law())
    made = scenario_from_msel(msel, scenario)
    path = write_scenario(made, tmp_path / "from-msel.yaml")
    reloaded = load_scenario(path)  # loads and validates
    original = build_inputs(scenario, ["us-japan-2025"])["us-japan-2025"]
    again = build_inputs(reloaded, ["us-japan-2025"])["us-japan-2025"]
    key = [
        (original.templates[i.template].request, i.release_h, i.after, i.deadlines)
        for i in original.instances
    ]
    assert [
        (again.templates[i.template].request, i.release_h, i.after, i.deadlines) for i in again.instances
    ] == key


def test_request_rows_can_define_their_own_request(tmp_path: Path) -> None:
    header = [*HEADER, "Request", "Executor", "Actor", "Activity", "Supported", "Location"]
    row = [
        *good_row("1"),
        "protect-ships",
        "msdf",
        "msdf",
        "asset-protection",
        "us-forces",
        "high-seas-near-japan",
    ]
    path = write_csv(tmp_path / "defines.csv", [row, [*good_row("2", "D+0 07:00"), "protect-ships"]], header)
    msel = read_msel(path, start=START, organizations=ORGS)
    assert [s.id for s in msel.requests] == ["protect-ships"]
    made = scenario_from_msel(msel, load_scenario("taiwan-contingency"))
    assert made.request_by_id["protect-ships"].activity == "asset-protection"
    assert sum(1 for i in made.injects for e in i.requests if e.request == "protect-ships") == 2


def test_every_bad_row_is_reported_at_once_and_nothing_is_imported(tmp_path: Path) -> None:
    rows = [
        good_row("1"),
        good_row("1", "D+0 07:00"),  # duplicate serial
        good_row("3", "D-1 06:00"),  # before the start
        good_row("4", "D+0 04:59"),  # before the start, same day
        good_row("5", "next tuesday"),  # not a time
        good_row("6", to="usfj, jp-nowhere"),  # unknown organization
        ["7", "D+0 08:00", "", "EXCON", "usfj", "", "", "", "", ""],  # no inject text
        ["8", "D+0 08:00", "text", "EXCON", "usfj", "", "", "", "", "SECRET//REL TO U.S."],  # bad marking
        good_row("9", "D+1 25:00"),  # hour out of range
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(DataError) as caught:
        read_msel(path, start=START, organizations=ORGS)
    found = problems(caught.value)
    assert (3, "column A (serial)", "duplicate serial (first at row 2)") in found
    assert (4, "column B (time)", "before the exercise starts") in found
    assert (5, "column B (time)", "before the exercise starts") in found
    assert (6, "column B (time)", "not an exercise time") in found
    assert (7, "column E (to)", "unknown organization") in found
    assert (8, "column C (event)", "missing inject text") in found
    assert any(line == 9 and field == "column J (marking)" for line, field, _ in found)
    assert (10, "column B (time)", "not an exercise time") in found
    assert len(found) == 8
    text = str(caught.value)
    assert "bad.csv:7: column E (to): unknown organization (got 'jp-nowhere'); expected one of" in text


def test_missing_columns_are_named_with_the_headers_that_would_do(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "short.csv", [["1", "PLA forces embark"]], ["Serial", "Event"])
    with pytest.raises(DataError) as caught:
        read_msel(path, start=START, organizations=ORGS)
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("time", "missing column"),
        ("to", "missing column"),
    ]
    assert "Exercise Time" in str(caught.value)


def test_other_layouts_read_with_a_column_mapping(tmp_path: Path) -> None:
    header = ["Inject #", "DTG (local)", "Scenario event", "Player cell"]
    path = write_csv(tmp_path / "other.csv", [["A-1", "D+0 09:00", "Embarkation reported", "jp-mod"]], header)
    with pytest.raises(DataError):
        read_msel(path, start=START, organizations=ORGS)
    mapping = {"Inject #": "serial", "DTG (local)": "time", "Scenario event": "event", "Player cell": "to"}
    msel = read_msel(path, start=START, organizations=ORGS, mapping=mapping)
    assert msel.rows[0].serial == "A-1"
    assert msel.rows[0].to == ("jp-mod",)
    with pytest.raises(DataError, match="maps to an unknown field"):
        read_msel(path, start=START, organizations=ORGS, mapping={**mapping, "Notes": "nonsense"})


def _sheet(path: Path, rows: list[list[object]]) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "MSEL"
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    return book


def test_merged_cells_down_a_column_fill_and_across_columns_are_refused(tmp_path: Path) -> None:
    book = _sheet(
        tmp_path / "m.xlsx", [good_row("1"), good_row("2", "D+0 07:00"), good_row("3", "D+0 08:00")]
    )
    ws = book.active
    assert ws is not None
    ws["H2"] = "OBJ-7"
    ws.merge_cells("H2:H4")  # one objective for three rows: a designer's grouping
    book.save(tmp_path / "m.xlsx")
    msel = read_msel(tmp_path / "m.xlsx", start=START, organizations=ORGS)
    assert [r.objective for r in msel.rows] == ["OBJ-7", "OBJ-7", "OBJ-7"]
    ws.merge_cells("C3:D3")  # the inject text spills over the sender
    book.save(tmp_path / "m2.xlsx")
    with pytest.raises(DataError) as caught:
        read_msel(tmp_path / "m2.xlsx", start=START, organizations=ORGS)
    assert "cells merged across columns (C3:D3" in str(caught.value)
    assert "sheet 'MSEL'" in str(caught.value)


def test_formulas_read_their_computed_value_and_those_without_one_are_refused(tmp_path: Path) -> None:
    book = _sheet(tmp_path / "f.xlsx", [good_row("1"), good_row("2", "D+0 07:00")])
    ws = book.active
    assert ws is not None
    ws["A3"] = "=A2+1"
    book.save(tmp_path / "f.xlsx")
    with pytest.raises(DataError) as caught:  # openpyxl saves no computed value: as if never opened
        read_msel(tmp_path / "f.xlsx", start=START, organizations=ORGS)
    assert "a formula without a computed value (got '=A2+1')" in str(caught.value)
    # A spreadsheet program stores the value beside the formula: put one there, as it would.
    with zipfile.ZipFile(tmp_path / "f.xlsx") as zin, zipfile.ZipFile(tmp_path / "g.xlsx", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"<f>A2\+1</f><v\s*/?>(</v>)?", b"<f>A2+1</f><v>2</v>", data)
            zout.writestr(item, data)
    msel = read_msel(tmp_path / "g.xlsx", start=START, organizations=ORGS)
    assert [r.serial for r in msel.rows] == ["1", "2"]


def test_unknown_requests_and_sheets_are_named(tmp_path: Path) -> None:
    header = [*HEADER, "Request"]
    path = write_csv(tmp_path / "r.csv", [[*good_row("1"), "no-such-request"]], header)
    with pytest.raises(DataError, match="unknown request"):
        read_msel(path, start=START, organizations=ORGS, requests=["designate-iis"])
    book = _sheet(tmp_path / "s.xlsx", [good_row("1")])
    book.save(tmp_path / "s.xlsx")
    with pytest.raises(DataError, match="no such sheet"):
        read_msel(tmp_path / "s.xlsx", start=START, sheet="Injects")


def test_the_bundled_example_msel_imports() -> None:
    scenario = load_scenario("taiwan-contingency")
    msel = read_msel(
        EXAMPLE,
        start=scenario.start,
        organizations=load_structure("us-japan-2025").org_by_id,
        requests=[r.id for r in scenario.requests],
    )
    assert len(msel.rows) >= 10
    assert {r.objective for r in msel.rows} - {""}


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_50000_row_sheet_is_read_whole(tmp_path: Path, suffix: str) -> None:
    rows = tuple(
        MselRow(
            serial=str(i + 1),
            time=START + timedelta(minutes=i),
            event=f"inject {i}: reports of movement",
            sender="EXCON",
            to=("usfj", "jp-mod"),
            method="message",
            expected_action="assess and report",
            objective="OBJ-1",
        )
        for i in range(50_000)
    )
    path = write_msel(Msel(start=START, rows=rows), tmp_path / f"big{suffix}")
    started = time.perf_counter()
    msel = read_msel(path, start=START, organizations=ORGS)
    print(f"{suffix}: 50,000 rows in {time.perf_counter() - started:.1f} s")  # measured, not asserted
    assert len(msel.rows) == 50_000
    assert msel.rows[-1].serial == "50000"


_TEXT = (
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\r\n\x00"
        ),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 60 * 24 * 30), _TEXT, st.sampled_from(sorted(ORGS)), _TEXT),
        min_size=1,
        max_size=15,
    )
)
def test_any_msel_round_trips_through_csv(tmp_path: Path, rows: list[tuple[int, str, str, str]]) -> None:
    msel = Msel(
        start=START,
        rows=tuple(
            MselRow(
                serial=str(k + 1), time=START + timedelta(minutes=m), event=text, to=(org,), objective=obj
            )
            for k, (m, text, org, obj) in enumerate(rows)
        ),
    )
    path = write_msel(msel, tmp_path / "round.csv")
    back = read_msel(path, start=START, organizations=ORGS)
    key = sorted((r.serial, r.time, r.event, r.to, r.objective) for r in msel.rows)
    assert sorted((r.serial, r.time, r.event, r.to, r.objective) for r in back.rows) == key


def test_apostrophes_and_delimiters_in_the_text_do_not_change_how_the_csv_is_read(tmp_path: Path) -> None:
    """Found by the property above: a report holding a lone apostrophe made the old reader take `'`
    for the quote character; the delimiter comes from the header row, quoting is always RFC 4180."""
    for texts in (["0", "0"], ["it's; a, b", "a\tb ; c", '"quoted"']):
        msel = Msel(
            start=START,
            rows=tuple(
                MselRow(
                    serial=str(k + 1), time=START, event=t, to=("iii-mef",), objective="'"
                )  # the falsifying example: every row's objective a lone apostrophe
                for k, t in enumerate(texts)
            ),
        )
        back = read_msel(write_msel(msel, tmp_path / "quotes.csv"), start=START, organizations=ORGS)
        assert [(r.event, r.objective) for r in back.rows] == [(t, "'") for t in texts]
