"""The Master Scenario Events List (MSEL) as exercise designers keep it: `.xlsx` or `.csv`, one inject a row.

Columns (headers are matched without regard to case, spaces or punctuation; `mapping` names others):

* `serial` (Serial, Ser, No, #): unique in the MSEL.
* `time` (Time, Exercise time, DTG): `D+1 06:00` (D = the exercise's first day), `H+6.5` (hours after
  the start), or a date-time (without an offset: in the exercise's zone).
* `event` (Event, Inject, Description): the inject text.
* `sender` (From, Originator): who the inject comes from (free text: EXCON, a simulated headquarters).
* `to` (To, Recipient, Player): player organizations (ids of the structure) separated by `,` `;` or
  new lines, or `all`.
* `method` (Method, Delivery method), `expected_action` (Expected action, Expected player action),
  `objective` (Objective), `remarks` (Remarks, Notes).
* `marking` (Marking, Classification): `SECRET//REL TO USA, JPN`, `UNCLASSIFIED//REL TO USA`, or
  `SECRET//NOFORN` (of the `owner` nation).
* `request`: a request the recipients file (an id of the scenario, or one this MSEL defines); `after`:
  request ids whose first filing must be decided first; `deadlines`: `NAME: D+3 05:00 effect; NAME:
  +24h decision` (absolute, or hours after filing).
* `requester`, `executor`, `actor`, `activity`, `supported`, `location`, `flags`, `granted`,
  `designates`, `situation`: a request this MSEL defines (RequestSpec fields).

Every bad row is reported at once, with sheet, row, column, value and what was expected, and nothing is
imported (`DataError`). Cells merged down one column take the merged value in every row (a designer's
grouping); cells merged across columns are refused. A formula's computed value is read; a formula
without one (a file never opened in a spreadsheet program) is refused. `write_msel` writes `.xlsx` and
`.csv` that `read_msel` reads back unchanged.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kizuna.access import Classification, Marking
from kizuna.errors import DataError, Problem
from kizuna.model.request import RequestSpec
from kizuna.model.scenario import Deadline, Inject, InjectRequest, Scenario
from kizuna.model.structure import Structure

#: Every field of a row, in the order the columns are written.
COLUMNS: tuple[str, ...] = (
    "serial",
    "time",
    "event",
    "sender",
    "to",
    "method",
    "expected_action",
    "objective",
    "remarks",
    "marking",
    "request",
    "after",
    "deadlines",
    "requester",
    "executor",
    "actor",
    "activity",
    "supported",
    "location",
    "flags",
    "granted",
    "designates",
    "situation",
)
#: The columns an MSEL must have.
REQUIRED: tuple[str, ...] = ("serial", "time", "event", "to")
#: The request fields a row may define a request with.
SPEC_FIELDS: tuple[str, ...] = (
    "requester",
    "executor",
    "actor",
    "activity",
    "supported",
    "location",
    "flags",
    "granted",
    "designates",
    "situation",
)
#: Header words written for each field (the first is what `write_msel` writes).
HEADERS: dict[str, tuple[str, ...]] = {
    "serial": ("Serial", "Ser", "Serial No", "Serial Number", "No", "#", "Inject No", "MSEL No", "ID"),
    "time": ("Time", "Exercise Time", "DTG", "Date Time", "When", "Scheduled Time", "Delivery Time"),
    "event": ("Event", "Inject", "Event Inject", "Inject Text", "Description", "Event Description", "Text"),
    "sender": ("From", "Sender", "Originator"),
    "to": ("To", "Recipient", "Recipients", "Player", "Players", "Receiving Cell"),
    "method": ("Method", "Delivery Method", "Delivery", "Means"),
    "expected_action": ("Expected Action", "Expected Player Action", "Expected Response"),
    "objective": ("Objective", "Objectives", "Exercise Objective", "Obj"),
    "remarks": ("Remarks", "Notes", "Comments", "Remark"),
    "marking": ("Marking", "Classification", "Class"),
    "request": ("Request",),
    "after": ("After",),
    "deadlines": ("Deadlines", "Deadline"),
    **{f: (f.capitalize(),) for f in SPEC_FIELDS},
}
#: Words in `to` that address every player organization.
ALL = "all"

_WORD = re.compile(r"[^a-z0-9#]+")
_D_TIME = re.compile(r"^D\s*(?:([+-])\s*(\d+))?(?:\s+(\d{1,2}):?(\d{2}))?$", re.IGNORECASE)
_H_TIME = re.compile(r"^H\s*\+\s*(\d+(?:\.\d+)?)(?::(\d{2}))?$", re.IGNORECASE)
_AFTER_H = re.compile(r"^\+\s*(\d+(?:\.\d+)?)\s*h$", re.IGNORECASE)
_SPLIT = re.compile(r"[,;\n]+")
_MERGE_REF = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_TIME_HELP = "D+1 06:00, H+6.5 or a date-time such as 2027-04-07 06:00"


def _key(header: str) -> str:
    return _WORD.sub("", header.lower())


_ALIASES: dict[str, str] = {_key(word): field for field, words in HEADERS.items() for word in words}


class MselRow(BaseModel):
    """One inject of the MSEL: when, what, from whom, to which player organizations, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    serial: str = Field(min_length=1)
    time: datetime = Field(description="Exercise time the inject is delivered (aware).")
    event: str = Field(min_length=1)
    sender: str = ""
    to: tuple[str, ...] = Field(min_length=1, description="Player organizations, or ('all',).")
    method: str = ""
    expected_action: str = ""
    objective: str = ""
    remarks: str = ""
    marking: Marking | None = Field(default=None, description="None: the exercise's marking.")
    request: str | None = Field(default=None, description="The request the recipients file.")
    after: tuple[str, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    line: int | None = Field(default=None, description="Row of the sheet it was read from.")

    def addressed_to(self, organization: str) -> bool:
        """Tell whether the inject goes to an organization."""
        return organization in self.to or ALL in self.to


class Msel(BaseModel):
    """A Master Scenario Events List: the exercise's start and its rows in time order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: datetime = Field(description="Exercise hour 0 (aware); D+0 is its date in its zone.")
    rows: tuple[MselRow, ...]
    requests: tuple[RequestSpec, ...] = Field(default=(), description="Requests the MSEL's rows define.")
    source: str | None = None

    @property
    def zone(self) -> tzinfo:
        """The zone D+n times and date-times without an offset are read in."""
        return self.start.tzinfo or UTC

    def hours(self, when: datetime) -> float:
        """Return an exercise time as hours after the start."""
        return (when - self.start) / timedelta(hours=1)

    def row(self, serial: str) -> MselRow:
        """Return a row by serial.

        Raises:
            KeyError: no row has this serial.
        """
        for row in self.rows:
            if row.serial == serial:
                return row
        raise KeyError(serial)


# -- values -------------------------------------------------------------------------------------------


def parse_time(value: Any, start: datetime) -> datetime:
    """Read an exercise time: `D+1 06:00`, `H+6.5`, a date-time or an ISO string (naive: in start's zone).

    Raises:
        ValueError: the value is none of these.
    """
    zone = start.tzinfo or UTC
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=zone)
    if not isinstance(value, str):
        raise ValueError("not a time")
    text = value.strip()
    if m := _D_TIME.match(text):
        sign, days, hour, minute = m.groups()
        offset = int(days or 0) * (-1 if sign == "-" else 1)
        h, mi = int(hour or 0), int(minute or 0)
        if h > 23 or mi > 59:
            raise ValueError("hour or minute out of range")
        day = start.astimezone(zone).date() + timedelta(days=offset)
        return datetime.combine(day, time(h, mi), tzinfo=zone)
    if m := _H_TIME.match(text):
        hours = float(m.group(1)) + (int(m.group(2)) / 60.0 if m.group(2) else 0.0)
        return start + timedelta(hours=hours)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def format_time(when: datetime, start: datetime) -> str:
    """Write an exercise time as `D+n HH:MM` in start's zone (whole minutes), the way designers read it."""
    zone = start.tzinfo or UTC
    local = when.astimezone(zone)
    days = (local.date() - start.astimezone(zone).date()).days
    sign = "-" if days < 0 else "+"
    text = f"D{sign}{abs(days)} {local:%H:%M}"
    if local.second or local.microsecond:  # a time that is not a whole minute: exact hours instead
        return f"H+{(when - start) / timedelta(hours=1):.6f}".rstrip("0").rstrip(".")
    return text


def parse_marking(text: str, *, owner: str | None = None) -> Marking:
    """Read a marking line: `LEVEL`, `LEVEL//REL TO A, B` (owner: the first), `LEVEL//NOFORN` (`owner`).

    A leading `EXERCISE//` is accepted (every exercise object is marked exercise anyway). A bare level
    is releasable to `owner` alone when given, else joint with no nation named (which nobody may see):
    name the nations.

    Raises:
        ValueError: the text is not a marking.
    """
    parts = [p.strip() for p in text.strip().split("//") if p.strip()]
    exercise = bool(parts) and parts[0].upper() == "EXERCISE"
    if exercise:
        parts = parts[1:]
    if not parts:
        raise ValueError("empty marking")
    level_text = parts[0].lower().replace(" ", "-")
    try:
        level = Classification(level_text)
    except ValueError:
        raise ValueError(f"unknown level {parts[0]!r}") from None
    rest = [p.upper() for p in parts[1:]]
    if not rest:
        if owner is None:
            raise ValueError("a level alone names no nation; add //REL TO ...")
        return Marking.releasable(level, owner, [], exercise=exercise)
    if rest == ["NOFORN"]:
        if owner is None:
            raise ValueError("NOFORN needs the owner nation; write //REL TO <nation>")
        return Marking.national(level, owner, exercise=exercise)
    if len(rest) == 1 and rest[0].startswith("REL TO "):
        nations = [n.strip() for n in rest[0].removeprefix("REL TO ").split(",") if n.strip()]
        if not nations or any(not re.fullmatch(r"[A-Z]{3}", n) for n in nations):
            raise ValueError("REL TO lists three-letter nation codes")
        return Marking.releasable(level, nations[0], nations[1:], exercise=exercise)
    raise ValueError(f"unknown control {'//'.join(rest)!r}")


def format_marking(marking: Marking) -> str:
    """Write a marking so `parse_marking` reads it back (U.S. level names)."""
    level = marking.level.display("USA")
    if marking.noforn and marking.owner is not None:
        return f"{level}//REL TO {marking.owner}"
    first = [marking.owner] if marking.owner else []
    rest = sorted(marking.rel_to - set(first))
    return f"{level}//REL TO {', '.join([*first, *rest])}"


def _deadlines(text: str, start: datetime) -> tuple[Deadline, ...]:
    """Read `NAME: WHEN [decision|effect]; ...` where WHEN is an exercise time or `+Nh` after filing."""
    out: list[Deadline] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, when = part.partition(": ")
        if not sep or not name.strip() or not when.strip():
            raise ValueError(f"{part!r} is not NAME: WHEN [decision|effect]")
        of = "effect"
        words = when.strip().rsplit(" ", 1)
        if len(words) == 2 and words[1].lower() in {"decision", "effect"}:
            when, of = words[0], words[1].lower()
        if m := _AFTER_H.match(when.strip()):
            hours = float(m.group(1))
            out.append(Deadline.model_validate({"name": name.strip(), "after_h": hours, "of": of}))
        else:
            moment = parse_time(when.strip(), start)
            out.append(Deadline.model_validate({"name": name.strip(), "at": moment, "of": of}))
    return tuple(out)


def format_deadlines(deadlines: Iterable[Deadline], start: datetime) -> str:
    """Write deadlines in the `Deadlines` column's syntax."""
    parts: list[str] = []
    for d in deadlines:
        if d.after_h is not None:
            when = f"+{d.after_h:g}h"
        elif d.at is not None:
            when = format_time(d.at, start)
        else:
            when = format_time(start + timedelta(hours=d.at_h or 0.0), start)
        parts.append(f"{d.name}: {when} {d.of}")
    return "; ".join(parts)


def _ids(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in _SPLIT.split(text) if p.strip())


# -- reading ------------------------------------------------------------------------------------------


class _Sheet:
    """Rows of cell values of one sheet, with the facts the checks need (formulas, merged cells)."""

    def __init__(self, name: str, rows: list[tuple[Any, ...]], problems: list[Problem]) -> None:
        self.name = name
        self.rows = rows
        self.problems = problems


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters.decode():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _read_xlsx(path: Path, sheet: str | None) -> tuple[_Sheet, str]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise DataError.single(str(path), "(file)", f"not an .xlsx workbook: {error}") from error
    try:
        name = sheet or book.sheetnames[0]
        if name not in book.sheetnames:
            raise DataError.single(
                str(path), "(sheet)", "no such sheet", value=name, expected=", ".join(book.sheetnames)
            )
        where = f"{path} sheet {name!r}"
        ws = book[name]
        rows: list[tuple[Any, ...]] = []
        formulas: list[tuple[int, int]] = []
        for r, row in enumerate(ws.iter_rows(), start=1):
            values = []
            for c, cell in enumerate(row):
                value = cell.value
                if getattr(cell, "data_type", None) == "f":
                    formulas.append((r, c))
                values.append(value)
            rows.append(tuple(values))
        merged = _merged_ranges(book, ws)
    finally:
        book.close()
    problems: list[Problem] = []
    if formulas:
        _computed_values(path, name=name, rows=rows, formulas=formulas, where=where, problems=problems)
    _fill_merged(rows, merged, where, name, problems)
    return _Sheet(name, rows, problems), where


def _merged_ranges(book: Any, ws: Any) -> list[tuple[int, int, int, int]]:
    """Merged ranges (first row, first column, last row, last column; 1-based rows, 0-based columns).

    openpyxl's read-only worksheets (the fast reader) do not parse `<mergeCells>`, so the element is
    read from the worksheet's XML part directly; the merges come after the cell data.
    """
    part = getattr(ws, "_worksheet_path", None)
    archive = getattr(book, "_archive", None)
    if part is None or archive is None:  # pragma: no cover - openpyxl changed its internals
        return []
    with archive.open(part) as stream:
        data = stream.read()
    return [
        (int(r1), _column_index(c1), int(r2), _column_index(c2))
        for c1, r1, c2, r2 in _MERGE_REF.findall(data)
    ]


def _computed_values(
    path: Path,
    *,
    name: str,
    rows: list[tuple[Any, ...]],
    formulas: Sequence[tuple[int, int]],
    where: str,
    problems: list[Problem],
) -> None:
    """Replace formulas by the values the spreadsheet program computed (cached in the file)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        cached = [tuple(c.value for c in row) for row in book[name].iter_rows()]
    finally:
        book.close()
    for r, c in formulas:
        formula = rows[r - 1][c]
        value = cached[r - 1][c] if r - 1 < len(cached) and c < len(cached[r - 1]) else None
        if value is None:
            problems.append(
                Problem(
                    where,
                    r,
                    f"column {_column_letter(c)}",
                    "a formula without a computed value",
                    formula,
                    "a value: open and save the file in a spreadsheet program, or paste values",
                )
            )
        row = list(rows[r - 1])
        row[c] = value
        rows[r - 1] = tuple(row)


def _fill_merged(
    rows: list[tuple[Any, ...]],
    merged: Sequence[tuple[int, int, int, int]],
    where: str,
    name: str,
    problems: list[Problem],
) -> None:
    for r1, c1, r2, c2 in merged:
        ref = f"{_column_letter(c1)}{r1}:{_column_letter(c2)}{r2}"
        if c1 != c2:
            problems.append(
                Problem(
                    where,
                    r1,
                    f"columns {_column_letter(c1)}-{_column_letter(c2)}",
                    f"cells merged across columns ({ref} in sheet {name!r})",
                    expected="one value per column: unmerge them",
                )
            )
            continue
        value = rows[r1 - 1][c1] if r1 - 1 < len(rows) and c1 < len(rows[r1 - 1]) else None
        for r in range(r1 + 1, min(r2, len(rows)) + 1):
            row = list(rows[r - 1]) + [None] * max(0, c1 + 1 - len(rows[r - 1]))
            row[c1] = value
            rows[r - 1] = tuple(row)


#: The delimiters a CSV MSEL may use (a comma; a semicolon where the comma is the decimal mark; a tab).
_DELIMITERS = (",", ";", "\t")


def _read_csv(path: Path) -> _Sheet:
    """Read a CSV sheet: the delimiter is the one the header row (the first line with text) uses most;
    fields are quoted with double quotes (RFC 4180), whatever the text holds.

    Guessing from the whole sample (`csv.Sniffer`) let the rows' own text decide: a report holding a
    lone apostrophe made it take `'` for the quote character and swallow the rows after it.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next((line for line in handle if line.strip()), "")
        handle.seek(0)
        delimiter = max(_DELIMITERS, key=header.count) if any(d in header for d in _DELIMITERS) else ","
        rows = [tuple(r) for r in csv.reader(handle, csv.excel, delimiter=delimiter)]
    return _Sheet("csv", rows, [])


def read_msel(
    path: str | Path,
    *,
    start: datetime,
    organizations: Collection[str] | None = None,
    requests: Collection[str] = (),
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    owner: str | None = None,
) -> Msel:
    """Read an MSEL from `.xlsx` or `.csv` and check every row; nothing is returned unless all are good.

    Args:
        path: The file.
        start: Exercise hour 0 (aware): D+0 is its date; no inject may come before it.
        organizations: The player organizations (`to` must name them); None skips the check.
        requests: Request ids rows may file without defining them (the scenario's).
        mapping: Header -> field for layouts the built-in header words do not cover
            (`{"DTG (Z)": "time", "Player": "to"}`); fields are those of `COLUMNS`.
        sheet: The sheet of an `.xlsx` (default: the first).
        owner: The nation a bare level or NOFORN marking belongs to.

    Raises:
        DataError: every problem found, each with sheet, row, column, value and what was expected.
    """
    file = Path(path)
    if not file.is_file():
        raise DataError.single(str(file), "(file)", "no such file")
    suffix = file.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        data, where = _read_xlsx(file, sheet)
    elif suffix == ".csv":
        data = _read_csv(file)
        where = str(file)
    else:
        raise DataError.single(
            str(file), "(file)", "unknown format", value=file.suffix, expected=".xlsx or .csv"
        )
    context = _Context(
        where=where,
        start=start,
        organizations=set(organizations) if organizations is not None else None,
        owner=owner,
    )
    return _parse(data, context, requests, mapping, source=str(file))


def _header(
    first: Sequence[Any], mapping: Mapping[str, str] | None, where: str, problems: list[Problem]
) -> dict[str, int]:
    wanted = {_key(k): v for k, v in (mapping or {}).items()}
    for header, target in (mapping or {}).items():
        if target not in COLUMNS:
            problems.append(
                Problem(
                    where,
                    1,
                    "mapping",
                    "maps to an unknown field",
                    f"{header} -> {target}",
                    ", ".join(COLUMNS),
                )
            )
    columns: dict[str, int] = {}
    for c, cell in enumerate(first):
        if cell is None or not str(cell).strip():
            continue
        k = _key(str(cell))
        fld = wanted.get(k) or _ALIASES.get(k) or ""
        if fld not in COLUMNS:
            continue  # a column Kizuna does not use (designers add their own): ignored
        if fld in columns:
            problems.append(
                Problem(
                    where,
                    1,
                    f"column {_column_letter(c)}",
                    f"a second {fld!r} column (the first is column {_column_letter(columns[fld])})",
                    str(cell),
                    "one column per field",
                )
            )
            continue
        columns[fld] = c
    for fld in REQUIRED:
        if fld not in columns:
            problems.append(
                Problem(
                    where,
                    1,
                    fld,
                    "missing column",
                    expected=f"a header such as {', '.join(HEADERS[fld][:3])} (or a --map HEADER=FIELD)",
                )
            )
    return columns


@dataclass(frozen=True, slots=True)
class _Context:
    """What rows are checked against: where they come from, the start, the organizations, the owner."""

    where: str
    start: datetime
    organizations: set[str] | None
    owner: str | None


@dataclass
class _Defined:
    """Requests rows define (id -> spec and first row) and the rows that define them."""

    specs: dict[str, tuple[RequestSpec, int]] = field(default_factory=dict)
    rows: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)


def _parse(
    data: _Sheet,
    context: _Context,
    requests: Collection[str],
    mapping: Mapping[str, str] | None,
    *,
    source: str,
) -> Msel:
    where = context.where
    problems = list(data.problems)
    rows = data.rows
    while rows and all(v is None or str(v).strip() == "" for v in rows[0]):
        rows = rows[1:]  # blank lines above the header
    if not rows:
        raise DataError.single(where, "(sheet)", "empty: no header row", expected=", ".join(REQUIRED))
    columns = _header(rows[0], mapping, where, problems)
    if any(p.message == "missing column" for p in problems):
        raise DataError(problems)
    defined = _Defined()
    first_serial: dict[str, int] = {}
    out: list[MselRow] = []
    for offset, values in enumerate(rows[1:], start=2):
        cell = _Cells(values, columns, where, offset, problems)
        if not cell.blank:
            row = _row(cell, context, first_serial, defined)
            if row is not None:
                out.append(row)
    for offset, request, fields in defined.rows:
        spec = _spec(request, fields, where=where, offset=offset, columns=columns, problems=problems)
        if spec is None:
            continue
        if request in defined.specs and defined.specs[request][0] != spec:
            problems.append(
                Problem(
                    where,
                    offset,
                    "request",
                    f"defines request {request!r} differently from row {defined.specs[request][1]}",
                    request,
                    "the same fields on every row of one request (or on its first row only)",
                )
            )
        defined.specs.setdefault(request, (spec, offset))
    known_requests = set(requests) | set(defined.specs)
    for row in out:
        for ref in ((row.request,) if row.request else ()) + row.after:
            if ref not in known_requests:
                column = columns["request" if ref == row.request else "after"]
                problems.append(
                    Problem(
                        where,
                        row.line,
                        f"column {_column_letter(column)}",
                        "unknown request",
                        ref,
                        _sample(known_requests) if known_requests else "a request of the scenario",
                    )
                )
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.field))
        raise DataError(problems)
    out.sort(key=lambda r: (r.time, r.line or 0))
    specs = tuple(s for s, _ in defined.specs.values())
    return Msel(start=context.start, rows=tuple(out), requests=specs, source=source)


def _row(cell: _Cells, context: _Context, first_serial: dict[str, int], defined: _Defined) -> MselRow | None:
    """Check one row; return it, or None when it has problems (recorded in `cell.problems`)."""
    start = context.start
    serial = cell.text("serial")
    if not serial:
        cell.problem("serial", "missing serial", None, "a serial unique in the MSEL")
    elif serial in first_serial:
        cell.problem("serial", f"duplicate serial (first at row {first_serial[serial]})", serial, "unique")
    else:
        first_serial[serial] = cell.row
    when = cell.time("time", start)
    if when is not None and when < start:
        earliest = f"at or after {format_time(start, start)}"
        cell.problem("time", "before the exercise starts", cell.raw("time"), earliest)
    event = cell.text("event")
    if not event:
        cell.problem("event", "missing inject text", None, "what happens")
    to = _ids(cell.text("to"))
    if not to:
        cell.problem("to", "no recipient", None, "player organization ids, or all")
    elif context.organizations is not None:
        for org in to:
            if org != ALL and org not in context.organizations:
                cell.problem("to", "unknown organization", org, _sample(context.organizations))
    marking: Marking | None = None
    if text := cell.text("marking"):
        try:
            marking = parse_marking(text, owner=context.owner)
        except ValueError as error:
            cell.problem("marking", str(error), text, "LEVEL//REL TO A, B or LEVEL//NOFORN")
    request = cell.text("request") or None
    fields = {f: v for f in SPEC_FIELDS if (v := cell.text(f))}
    after = _ids(cell.text("after"))
    deadlines: tuple[Deadline, ...] = ()
    if written := cell.text("deadlines"):
        try:
            deadlines = _deadlines(written, start)
        except (ValueError, ValidationError) as error:
            cell.problem("deadlines", _short(error), written, "NAME: D+3 05:00 effect; NAME: +24h decision")
    if (fields or after or deadlines) and request is None:
        cell.problem("request", "request fields without a request id", None, "the request's id")
    if request is not None and fields:
        defined.rows.append((cell.row, request, fields))
    if cell.failed or when is None:
        return None
    # Every field was checked above; constructing without validating again keeps 50,000 rows quick.
    return MselRow.model_construct(
        serial=serial,
        time=when,
        event=event,
        sender=cell.text("sender"),
        to=to,
        method=cell.text("method"),
        expected_action=cell.text("expected_action"),
        objective=cell.text("objective"),
        remarks=cell.text("remarks"),
        marking=marking,
        request=request,
        after=after,
        deadlines=deadlines,
        line=cell.row,
    )


def _short(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
    return str(error)


def _sample(known: Collection[str]) -> str:
    ids = sorted(known)
    return "one of " + ", ".join(ids[:10]) + (f" ... ({len(ids)} in all)" if len(ids) > 10 else "")


def _spec(
    request: str,
    fields: dict[str, str],
    *,
    where: str,
    offset: int,
    columns: Mapping[str, int],
    problems: list[Problem],
) -> RequestSpec | None:
    data: dict[str, Any] = {"id": request, "name": request}
    for key, value in fields.items():
        data[key] = list(_ids(value)) if key in {"flags", "granted"} else value
    if "situation" not in data:
        data["situation"] = data.get("designates", "peacetime")
    try:
        return RequestSpec.model_validate(data)
    except ValidationError as error:
        for e in error.errors():
            fld = str(e["loc"][0]) if e["loc"] else "request"
            column = f"column {_column_letter(columns[fld])}" if fld in columns else "request"
            problems.append(
                Problem(where, offset, column, e["msg"].removeprefix("Value error, "), data.get(fld), None)
            )
        return None


class _Cells:
    """The cells of one row by field, and the problems found in them."""

    __slots__ = ("columns", "failed", "problems", "row", "values", "where")

    def __init__(
        self, values: Sequence[Any], columns: Mapping[str, int], where: str, row: int, problems: list[Problem]
    ) -> None:
        self.values = values
        self.columns = columns
        self.where = where
        self.row = row
        self.problems = problems
        self.failed = False

    @property
    def blank(self) -> bool:
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in self.values)

    def raw(self, fld: str) -> Any:
        c = self.columns.get(fld)
        if c is None or c >= len(self.values):
            return None
        return self.values[c]

    def text(self, fld: str) -> str:
        value = self.raw(fld)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a serial typed as a number
        return str(value).strip()

    def time(self, fld: str, start: datetime) -> datetime | None:
        value = self.raw(fld)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.problem(fld, "missing time", None, _TIME_HELP)
            return None
        try:
            return parse_time(value, start)
        except ValueError:
            self.problem(fld, "not an exercise time", value, _TIME_HELP)
            return None

    def problem(self, fld: str, message: str, value: Any, expected: str | None) -> None:
        c = self.columns.get(fld)
        column = f"column {_column_letter(c)} ({fld})" if c is not None else fld
        self.problems.append(Problem(self.where, self.row, column, message, value, expected))
        self.failed = True


# -- writing ------------------------------------------------------------------------------------------


def _row_values(
    row: MselRow, start: datetime, columns: Sequence[str], specs: Mapping[str, RequestSpec]
) -> list[Any]:
    spec = specs.get(row.request or "")
    out: list[Any] = []
    for fld in columns:
        if fld == "time":
            out.append(format_time(row.time, start))
        elif fld == "to":
            out.append(", ".join(row.to))
        elif fld == "after":
            out.append(", ".join(row.after))
        elif fld == "marking":
            out.append(format_marking(row.marking) if row.marking else "")
        elif fld == "deadlines":
            out.append(format_deadlines(row.deadlines, start))
        elif fld == "request":
            out.append(row.request or "")
        elif fld in SPEC_FIELDS:
            value = getattr(spec, fld) if spec is not None else None
            out.append(", ".join(value) if isinstance(value, tuple) else (value or ""))
        else:
            out.append(getattr(row, fld))
    return out


def _columns_of(msel: Msel) -> list[str]:
    """The columns worth writing: the usual ones, and request columns when some row files a request."""
    base = [c for c in COLUMNS if c not in SPEC_FIELDS and c not in {"request", "after", "deadlines"}]
    if any(r.request for r in msel.rows):
        base += ["request", "after", "deadlines"]
    if msel.requests:
        used = {f for s in msel.requests for f in SPEC_FIELDS if f in s.model_fields_set}
        base += [f for f in SPEC_FIELDS if f in used]
    return base


def write_msel(msel: Msel, path: str | Path) -> Path:
    """Write an MSEL as `.xlsx` (a formatted sheet `MSEL`) or `.csv`; `read_msel` reads it back unchanged."""
    out = Path(path)
    columns = _columns_of(msel)
    specs = {s.id: s for s in msel.requests}
    header = [HEADERS[c][0] for c in columns]
    suffix = out.suffix.lower()
    if suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in msel.rows:
            # A row that defines a request writes its fields on each of its rows (the same definition).
            writer.writerow(_row_values(row, msel.start, columns, specs))
        out.write_text(buffer.getvalue(), encoding="utf-8")
        return out
    if suffix != ".xlsx":
        raise ValueError(f"write an MSEL as .xlsx or .csv, not {out.suffix!r}")
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill

    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "MSEL"
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F3864")
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    for row in msel.rows:
        ws.append(_row_values(row, msel.start, columns, specs))
    widths = {"serial": 8, "time": 13, "event": 60, "expected_action": 40, "remarks": 30, "marking": 28}
    for c, fld in enumerate(columns):
        ws.column_dimensions[_column_letter(c)].width = widths.get(fld, 18)
    ws.freeze_panes = "A2"
    info = book.create_sheet("About")
    zone = msel.start.tzinfo
    info.append(["Exercise start (D+0, H+0)", msel.start.isoformat()])
    info.append(["Time zone of D+n times", getattr(zone, "key", str(zone))])
    info.append(["Written by", "kizuna (kizuna.interop.msel)"])
    book.save(out)
    return out


# -- scenario <-> MSEL --------------------------------------------------------------------------------


def msel_from_scenario(
    scenario: Scenario,
    structure: Structure,
    *,
    requesters: Mapping[str, str],
    seed: int = 0,
    objective: str = "",
) -> Msel:
    """Turn a scenario's injects into an MSEL: a row for each inject's event, one for each filing.

    Args:
        scenario: An organizational scenario.
        structure: The structure the exercise runs in (recipients are its organizations).
        requesters: The organization that files each request (the first step of its compiled path).
        seed: Arrival processes (`arrival: {process: poisson, ...}`) are drawn once with this seed: an
            MSEL lists fixed times.
        objective: The objective every row serves (designers add their own later).

    Raises:
        DataError: a network scenario, or a request without a requester.
    """
    if scenario.network is not None:
        raise DataError.single(scenario.file or scenario.id, "network", "a network scenario has no MSEL")
    rng = np.random.default_rng(seed)
    rows: list[MselRow] = []
    number = 0

    def serial() -> str:
        nonlocal number
        number += 1
        return f"{number:03d}"

    ordered = sorted(enumerate(scenario.injects), key=lambda x: (scenario.inject_hours(x[1]), x[0]))
    for _, inject in ordered:
        at = scenario.start + timedelta(hours=scenario.inject_hours(inject))
        filers = [requesters[e.request] for e in inject.requests if e.request in requesters]
        if inject.event:
            rows.append(
                MselRow(
                    serial=serial(),
                    time=at,
                    event=inject.event,
                    sender="EXCON",
                    to=tuple(dict.fromkeys(filers)) or (ALL,),
                    method="message",
                    objective=objective,
                    remarks="; ".join(inject.source) or (inject.assumption or ""),
                )
            )
        for entry in inject.requests:
            if entry.request not in requesters:
                raise DataError.single(
                    scenario.file or scenario.id,
                    f"requests[{entry.request}]",
                    f"no organization files this request in {structure.id}",
                    value=entry.request,
                )
            spec = scenario.request_by_id[entry.request]
            times = _filing_times(entry, at, rng)
            for k, when in enumerate(times, start=1):
                label = spec.name or spec.id
                after = f" once {', '.join(entry.after)} is decided" if entry.after else ""
                nth = f" ({k} of {len(times)})" if len(times) > 1 else ""
                rows.append(
                    MselRow(
                        serial=serial(),
                        time=when,
                        event=f"File request: {label}{nth}",
                        sender="EXCON",
                        to=(requesters[entry.request],),
                        method="tasking",
                        expected_action=f"File {entry.request}{after}",
                        objective=objective,
                        request=entry.request,
                        after=entry.after,
                        deadlines=tuple(_as_written(d, scenario) for d in entry.deadlines),
                    )
                )
    rows.sort(key=lambda r: (r.time, r.serial))
    return Msel(start=scenario.start, rows=tuple(rows), source=scenario.file or scenario.id)


def _as_written(deadline: Deadline, scenario: Scenario) -> Deadline:
    """A deadline as an MSEL cell holds it: a date-time or hours after filing (the column has no sources)."""
    if deadline.after_h is not None:
        return Deadline(name=deadline.name, after_h=deadline.after_h, of=deadline.of)
    at = deadline.at or scenario.start + timedelta(hours=deadline.at_h or 0.0)
    return Deadline(name=deadline.name, at=at, of=deadline.of)


def _filing_times(entry: InjectRequest, at: datetime, rng: np.random.Generator) -> list[datetime]:
    if entry.arrival is None:
        return [at] * entry.count
    arrival = entry.arrival
    m = arrival.max_count()
    if arrival.process == "poisson":
        offsets = np.cumsum(rng.exponential(arrival.mean_gap_h, size=m))
    else:
        offsets = arrival.mean_gap_h * np.arange(m, dtype=np.float64)
    if arrival.horizon_h is not None:
        offsets = offsets[offsets <= arrival.horizon_h]
    return [at + timedelta(hours=float(h)) for h in offsets]


def scenario_from_msel(msel: Msel, base: Scenario) -> Scenario:
    """Turn an MSEL into a scenario: each row an inject at its time, each request row one filing.

    The structures, frameworks, parameters and request definitions come from `base` (requests the MSEL
    defines are added); `base`'s own injects are replaced by the MSEL's rows.

    Raises:
        DataError: the result is not a valid scenario (a row files a request neither defines).
    """
    defined = {r.id: r for r in base.requests}
    for spec in msel.requests:
        defined.setdefault(spec.id, spec)
    injects: list[Inject] = []
    for row in msel.rows:
        entries: tuple[InjectRequest, ...] = ()
        if row.request is not None:
            entries = (InjectRequest(request=row.request, after=row.after, deadlines=row.deadlines),)
        injects.append(
            Inject(
                at_h=max(0.0, msel.hours(row.time)),
                event=f"[{row.serial}] {row.event}",
                requests=entries,
                assumption=f"MSEL row {row.serial}" + (f" ({msel.source})" if msel.source else ""),
            )
        )
    own = {r.id for r in base.requests}
    used = {ref for i in injects for e in i.requests for ref in (e.request, *e.after)}
    requests = [spec for rid, spec in defined.items() if rid in used or rid in own]
    data = base.model_dump(exclude={"file", "injects", "requests", "start"})
    data.update(
        injects=[i.model_dump() for i in injects],
        requests=[r.model_dump() for r in requests],
        start=msel.start,
        file=base.file,
    )
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        where = msel.source or "msel"
        raise DataError(
            [Problem(where, None, ".".join(map(str, e["loc"])) or "(msel)", e["msg"]) for e in error.errors()]
        ) from error
