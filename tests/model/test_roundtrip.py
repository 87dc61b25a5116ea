"""Properties of the structure format over random structures.

- a random valid structure loads from YAML, and goes structure -> to_data() -> YAML -> file -> load back
  unchanged;
- a random broken reference (a relation's end or an organization's site replaced by an unknown id) is
  reported with the bad id and the exact line it is on.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.model import OrgKind, RelationKind, load_structure
from kizuna.model.loading import check_structure_file
from kizuna.model.yamlfile import dump_yaml

ZONES = ["Asia/Tokyo", "Pacific/Honolulu", "America/New_York", "Europe/London", "Asia/Kolkata", "UTC"]
NON_HIERARCHICAL = [
    RelationKind.COORDINATES_WITH,
    RelationKind.LIAISON,
    RelationKind.MEMBER_OF,
    RelationKind.SUPPORTS,
]
ids = st.from_regex(r"\A[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,3}){0,2}\Z")
# Names a YAML writer must quote with care: keywords, numbers, markers, colons, non-ASCII.
tricky = st.sampled_from(
    ["yes", "No", "null", "~", "1.0", "0x1F", "- dash", "a: b", "#hash", "[x]", "統合作戦司令部"]
)
text = st.one_of(
    tricky,
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")),
        min_size=1,
        max_size=24,
    ).filter(lambda s: s.strip() == s and s != ""),
)


@st.composite
def provenance(draw: st.DrawFn) -> dict[str, Any]:
    choice = draw(st.sampled_from(["source", "assumption", "both"]))
    out: dict[str, Any] = {}
    if choice in {"source", "both"}:
        refs = draw(
            st.lists(st.sampled_from(["DOC", "DOC §1", "DOC Fig 2", "MEMO p. 3"]), min_size=1, max_size=2)
        )
        out["source"] = refs[0] if len(refs) == 1 else refs
    if choice in {"assumption", "both"}:
        out["assumption"] = draw(text)
    return out


@st.composite
def structure_data(draw: st.DrawFn) -> dict[str, Any]:
    """A valid base structure: nations, sites, organizations with a command forest, other relations."""
    n_nations = draw(st.integers(1, 2))
    n_sites = draw(st.integers(1, 3))
    n_orgs = draw(st.integers(1, 12))
    total = n_nations + n_sites + n_orgs
    names = draw(
        st.lists(ids, min_size=total, max_size=total, unique=True).filter(lambda xs: "bilateral" not in xs)
    )
    nation_ids, site_ids = names[:n_nations], names[n_nations : n_nations + n_sites]
    org_ids = names[n_nations + n_sites :]
    nations = [
        {"id": n, "name": draw(text), "code": draw(st.from_regex(r"\A[A-Z]{3}\Z")), **draw(provenance())}
        for n in nation_ids
    ]
    sites = [
        {
            "id": s,
            "name": draw(text),
            "latitude": draw(st.floats(-90, 90, allow_nan=False)),
            "longitude": draw(st.floats(-180, 180, allow_nan=False)),
            "time_zone": draw(st.sampled_from(ZONES)),
            **draw(provenance()),
        }
        for s in site_ids
    ]
    orgs = []
    for org_id in org_ids:
        org: dict[str, Any] = {
            "id": org_id,
            "name": draw(text),
            "nation": draw(st.sampled_from([*nation_ids, "bilateral"])),
            "kind": draw(st.sampled_from(list(OrgKind))).value,
        }
        if draw(st.booleans()):
            org["site"] = draw(st.sampled_from(site_ids))
        if draw(st.booleans()):
            org["grants"] = draw(
                st.lists(st.sampled_from(["cabinet-decision", "prior-consultation"]), unique=True)
            )
        orgs.append({**org, **draw(provenance())})
    relations: list[dict[str, Any]] = []
    keys: set[tuple[str, str, str]] = set()
    for i, org_id in enumerate(org_ids[1:], start=1):  # a command forest: each superior comes earlier
        if draw(st.booleans()):
            superior = org_ids[draw(st.integers(0, i - 1))]
            relations.append({"from": superior, "kind": "commands", "to": org_id, **draw(provenance())})
            keys.add((superior, "commands", org_id))
    for _ in range(draw(st.integers(0, 8))):
        a, b = draw(st.sampled_from(org_ids)), draw(st.sampled_from(org_ids))
        kind = draw(st.sampled_from(NON_HIERARCHICAL)).value
        if a != b and (a, kind, b) not in keys:
            keys.add((a, kind, b))
            relations.append({"from": a, "kind": kind, "to": b, **draw(provenance())})
    return {
        "id": draw(ids),
        "name": draw(text),
        "era": {"valid_from": draw(st.dates(date(1950, 1, 1), date(2100, 1, 1)))},
        "sources": {"DOC": "A document", "MEMO": "https://example.org/memo"},
        "nations": nations,
        "sites": sites,
        "organizations": orgs,
        "relations": relations,
    }


def _write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(dump_yaml(data), encoding="utf-8")
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structure_data())
def test_random_structures_round_trip_through_yaml_unchanged(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        original = load_structure(_write(Path(tmp), "original.yaml", data))
        again = load_structure(_write(Path(tmp), "again.yaml", original.to_data()))
    assert again == original
    assert again.model_dump() == original.model_dump()
    assert again.to_data() == original.to_data()
    assert [o.id for o in again.organizations] == [o["id"] for o in data["organizations"]]


@st.composite
def broken(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    """A valid structure with one reference replaced by an id nothing defines."""
    data = draw(structure_data())
    bad = "undefined-" + draw(st.from_regex(r"\A[a-z0-9]{4}\Z"))
    targets = [("relations", i, end) for i in range(len(data["relations"])) for end in ("from", "to")]
    targets += [("organizations", i, "site") for i, o in enumerate(data["organizations"]) if "site" in o]
    if not targets:
        data["organizations"][0]["site"] = bad
        return data, bad, "site"
    section, index, key = draw(st.sampled_from(targets))
    data[section][index][key] = bad
    return data, bad, key


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken())
def test_a_broken_reference_is_reported_with_its_id_and_line(case: tuple[dict[str, Any], str, str]) -> None:
    data, bad, key = case
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "broken.yaml", data)
        text = path.read_text(encoding="utf-8").splitlines()
        structure, problems = check_structure_file(path)
    assert structure is None
    expected_line = next(i for i, line in enumerate(text, start=1) if bad in line)
    hits = [p for p in problems if p.value == bad]
    assert len(hits) == 1, problems
    (problem,) = hits
    assert problem.line == expected_line
    assert problem.field.endswith(f".{key}")
    assert bad in str(problem)
