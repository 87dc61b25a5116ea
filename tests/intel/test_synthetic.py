"""Picture files: every problem named with file, line and field; the same seed gives the same scans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kizuna.errors import DataError, UnknownId
from kizuna.intel.synthetic import SyntheticPicture, check_picture_file, load_picture
from kizuna.model.sources import catalog

BAD = """\
id: bad
name: Bad
origin: {lat: 95, lon: 123}
start: 2027-04-06T05:00:00Z
duration_s: 60
sensors:
  - id: s1
    name: S
    nation: JPN
    kind: radar
    position: {lat: 25, lon: 123}
    range_km: 50
    interval_s: 2
    pd: 1.5
    sigma_m: [10, 10, 10]
    marking: {level: secret}
    source: NOPE
    colour: red
"""


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    picture, problems = check_picture_file(path)
    assert picture is None
    found = {(p.line, p.field) for p in problems}
    assert (3, "origin.lat") in found
    assert (14, "sensors.0.pd") in found
    assert (17, "sensors.0.source") in found
    assert (18, "sensors.0.colour") in found
    assert all(p.file == str(path) for p in problems)


def test_source_keys_resolve_against_the_catalog_or_the_file_s_own_table(tmp_path: Path) -> None:
    """The bundled picture cites the catalog (no table of its own); a user's file may add its own keys."""
    bundled = load_picture("senkaku-picture")
    assert set(bundled.sources) == {"JALERT", "RD", "SENKAKU"}
    assert bundled.sources["RD"] == catalog()["RD"]
    assert bundled.sources["SENKAKU"].url == "https://en.wikipedia.org/wiki/Senkaku_Islands"

    own = BAD.replace("lat: 95", "lat: 25").replace("pd: 1.5", "pd: 0.9").replace("    colour: red\n", "")
    path = tmp_path / "own.yaml"
    path.write_text(
        own.replace("source: NOPE", "source: [NOPE 3, DOJ24]")
        + "sources:\n  NOPE: A memo, https://example.org/m\n"
    )
    picture, problems = check_picture_file(path)
    assert problems == []
    assert picture is not None
    assert picture.sources["NOPE"].url == "https://example.org/m"
    assert picture.sources["DOJ24"] == catalog()["DOJ24"]

    path.write_text(own.replace("source: NOPE", "source: JALRET"))
    _, problems = check_picture_file(path)
    [problem] = problems
    assert (problem.line, problem.field, problem.value) == (17, "sensors.0.source", "JALRET")
    assert "JALERT" in str(problem)  # the nearest known key


def test_unknown_ids_and_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownId, match="senkaku-picture"):
        load_picture("no-such-picture")
    with pytest.raises(DataError, match="no such file"):
        load_picture(tmp_path / "missing.yaml")


def test_the_same_seed_gives_the_same_scans_and_another_seed_others() -> None:
    picture = load_picture("senkaku-picture")
    first = [s for _, s in zip(range(40), SyntheticPicture(picture).scans(), strict=False)]
    again = [s for _, s in zip(range(40), SyntheticPicture(picture).scans(), strict=False)]
    other = [s for _, s in zip(range(40), SyntheticPicture(picture, seed=99).scans(), strict=False)]
    assert all(np.array_equal(a.lat, b.lat) and a.time == b.time for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a.lat, b.lat) for a, b in zip(first, other, strict=True))


def test_the_missile_climbs_to_its_apogee_and_falls_at_the_impact_point() -> None:
    picture = load_picture("senkaku-picture")
    generator = SyntheticPicture(picture)
    missile = next(t for t in picture.targets if t.id == "ballistic-missile")
    assert missile.flight_s is not None
    top = generator.truth_at(missile.appears_s + missile.flight_s / 2)
    index = top[0].index("ballistic-missile")
    assert top[3][index] == pytest.approx(120_000, rel=1e-6)
    after = generator.truth_at(missile.appears_s + missile.flight_s + 1)
    assert "ballistic-missile" not in after[0]
