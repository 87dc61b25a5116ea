"""Forces as data: the bundled 2025 forces load against their structure; mistakes are named with lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kizuna.errors import DataError, Problem, UnknownId
from kizuna.model import check_forces_file, load_forces, load_structure

GOOD = """\
id: tiny-forces
name: Tiny forces
structure: us-japan-2025
sources:
  DOJ24: Defense of Japan 2024
capabilities:
  - {id: isr, name: ISR, source: DOJ24}
  - {id: anti-ship-strike, name: Anti-ship strike, source: DOJ24}
mission_kinds:
  - {id: isr, name: ISR, activity: isr, needs: [isr], source: DOJ24}
  - id: island-defense
    name: Island defense
    activity: {default: defensive-positions, armed-attack: use-of-force}
    needs: [anti-ship-strike]
    assumption: test
sites:
  - {id: test-site, name: Test site, latitude: 24.5, longitude: 124.0, time_zone: Asia/Tokyo,
     assumption: test}
units:
  - id: yaeyama-area-security-force
    name: Yaeyama
    nation: jp
    actor: gsdf
    site: ishigaki
    parent: gsdf
    capabilities: [isr]
    readiness_h: 2
    capacity: 1
    source: DOJ24
  - id: ssm-battery
    name: SSM battery
    nation: jp
    actor: gsdf
    site: test-site
    parent: yaeyama-area-security-force
    capabilities: [anti-ship-strike]
    readiness_h: 6
    capacity: 1
    reach_km: 200
    assumption: test
"""


def write(tmp_path: Path, text: str, name: str = "forces.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    forces, problems = check_forces_file(path)
    assert forces is None, "an invalid file must not give forces"
    return problems


def test_the_bundled_2025_forces_belong_to_their_structure() -> None:
    forces = load_forces("us-japan-2025")
    structure = load_structure(forces.structure)
    # Units the structure already has are those organizations, with the same nation.
    for unit_id in ("12th-mlr", "ardb", "yonaguni-coast-observation-unit", "yaeyama-area-security-force"):
        assert forces.executor[unit_id] == unit_id
        assert structure.org(unit_id).nation == forces.unit(unit_id).nation
    # Others act through the nearest organization above them.
    assert forces.executor["ishigaki-ssm-unit"] == "yaeyama-area-security-force"
    assert forces.executor["msdf-aegis-sasebo"] == "msdf"
    assert forces.executor["kadena-patriot"] == "indopacom"
    # Every unit stands at a known site and every capability is in the vocabulary.
    for unit in forces.units:
        assert unit.site in forces.site_by_id
        assert set(unit.capabilities) <= set(forces.capability_by_id)
    assert {k.id for k in forces.mission_kinds} >= {
        "bmd",
        "air-defense",
        "maritime-security",
        "protect-us-ships",
        "island-defense",
        "logistics-support",
        "isr",
        "evacuation",
        "disaster-relief",
    }


def test_units_the_cited_sources_are_silent_on_are_assumptions() -> None:
    forces = load_forces("us-japan-2025")
    for unit_id in ("msdf-aegis-sasebo", "asdf-pac3-kanto", "us-7th-fleet-ddg", "kadena-patriot"):
        unit = forces.unit(unit_id)
        assert not unit.source, f"{unit_id}: no cited source names it"
        assert unit.assumption is not None
        assert "cited sources" in unit.assumption.lower(), (
            f"{unit_id}: the assumption says the cited sources are silent"
        )
        assert "facts" not in unit.assumption, f"{unit_id}: shipped text names no research notes"
    # Units the cited sources name cite them.
    assert "MLR" in " ".join(forces.unit("12th-mlr").source)
    assert forces.unit("yaeyama-area-security-force").source
    # ... and the loaded forces carry the catalog entries their keys cite.
    assert {"MLR", "DOJ24", "G15"} <= set(forces.sources)


def test_a_mission_kind_reads_its_activity_per_situation() -> None:
    forces = load_forces("us-japan-2025")
    air = forces.kind_by_id["air-defense"]
    assert air.activity_in("armed-attack") == "use-of-force"
    assert air.activity_in("peacetime") == "airspace-violation-response"
    assert forces.kind_by_id["isr"].activity_in("armed-attack") == "isr"


def test_a_good_file_loads_with_its_own_sites(tmp_path: Path) -> None:
    forces = load_forces(write(tmp_path, GOOD))
    assert forces.site_of("ssm-battery").id == "test-site"
    assert forces.site_of("yaeyama-area-security-force").id == "ishigaki"  # the structure's site
    assert forces.executor["ssm-battery"] == "yaeyama-area-security-force"


@pytest.mark.parametrize(
    ("old", "new", "field", "value"),
    [
        (
            "capabilities: [isr]\n",
            "capabilities: [isr, sonar]\n",
            "units[yaeyama-area-security-force].capabilities[1]",
            "sonar",
        ),
        ("site: test-site\n", "site: nowhere\n", "units[ssm-battery].site", "nowhere"),
        ("parent: gsdf\n", "parent: no-such-hq\n", "units[yaeyama-area-security-force].parent", "no-such-hq"),
        (
            "    nation: jp\n    actor: gsdf\n    site: ishigaki",
            "    nation: us\n    actor: gsdf\n    site: ishigaki",
            "units[yaeyama-area-security-force].nation",
            "us",
        ),
        ("readiness_h: 6", "readiness_h: -6", "units[ssm-battery].readiness_h", -6),
        ("capacity: 1\n    reach_km", "capacity: 0\n    reach_km", "units[ssm-battery].capacity", 0),
        (
            "needs: [anti-ship-strike]",
            "needs: [anti-ship]",
            "mission_kinds[island-defense].needs[0]",
            "anti-ship",
        ),
        (
            "source: DOJ24\n  - id: ssm",
            "source: DOJ25\n  - id: ssm",
            "units[yaeyama-area-security-force].source",
            "DOJ25",
        ),
    ],
)
def test_each_bad_value_is_named_with_its_line(
    tmp_path: Path, old: str, new: str, field: str, value: object
) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    problems = problems_of(write(tmp_path, text))
    assert [p.field for p in problems] == [field], "\n".join(map(str, problems))
    problem = problems[0]
    assert problem.value == value
    line = text.splitlines()[problem.line - 1] if problem.line else ""
    assert (
        str(value).lstrip("-") in line or field.rsplit(".", maxsplit=1)[-1].split("[", maxsplit=1)[0] in line
    )


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("site: test-site\n", "site: nowhere\n")
        .replace("capabilities: [isr]\n", "capabilities: [isr]\n    colour: green\n")
        .replace("{id: isr, name: ISR, source: DOJ24}", "{id: isr, name: ISR}")
        + "  - {id: ssm-battery, name: again, nation: jp, actor: gsdf, site: ishigaki, parent: gsdf,"
        " capabilities: [isr], readiness_h: 1, capacity: 1, assumption: dup}\n"
    )
    problems = problems_of(write(tmp_path, text))
    messages = " | ".join(f"{p.field}: {p.message}" for p in problems)
    assert "units[yaeyama-area-security-force].colour: unknown key" in messages
    assert "capabilities[isr]: a fact needs `source:`" in messages
    assert "units[ssm-battery].site: unknown site id" in messages
    assert "duplicate unit id" in messages
    assert len(problems) == 4, messages
    assert all(p.line is not None for p in problems)


def test_parents_in_a_cycle_are_an_error(tmp_path: Path) -> None:
    text = GOOD.replace("parent: yaeyama-area-security-force", "parent: ssm-battery-2") + (
        "  - {id: ssm-battery-2, name: two, nation: jp, actor: gsdf, site: ishigaki, parent: ssm-battery,"
        " capabilities: [isr], readiness_h: 1, capacity: 1, assumption: loop}\n"
    )
    problems = problems_of(write(tmp_path, text))
    assert any("cycle" in p.message for p in problems), problems


def test_an_activity_mapping_needs_a_default(tmp_path: Path) -> None:
    text = GOOD.replace(
        "{default: defensive-positions, armed-attack: use-of-force}", "{armed-attack: use-of-force}"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.field == "mission_kinds[island-defense].activity"
    assert "default" in problem.message


def test_a_site_the_structure_already_has_cannot_be_redefined(tmp_path: Path) -> None:
    text = GOOD.replace("{id: test-site, name: Test site", "{id: naha, name: Naha again").replace(
        "site: test-site", "site: naha"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.field == "sites[naha].id"


def test_an_unknown_structure_is_named(tmp_path: Path) -> None:
    (problem,) = problems_of(
        write(tmp_path, GOOD.replace("structure: us-japan-2025", "structure: us-japan-2099"))
    )
    assert problem.field == "structure"
    assert problem.line == 3
    assert "us-japan-2025" in problem.message  # the known ids are listed


def test_loading_an_unknown_id_or_a_broken_file_raises() -> None:
    with pytest.raises(UnknownId, match="us-japan-2025"):
        load_forces("no-such-forces")
    with pytest.raises(DataError):
        load_forces("docs/examples/no-such-file.yaml")
