"""Structure diffs: entities added, removed and changed, and operational authority moved, with sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kizuna.model import Structure, load_structure
from kizuna.model.diff import ChangeKind, diff

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def twin_2010() -> Structure:
    return load_structure(FIXTURES / "twin-2010.yaml")


@pytest.fixture
def twin_2020() -> Structure:
    return load_structure(FIXTURES / "twin-2020.yaml")


def test_a_structure_does_not_differ_from_itself(twin_2010: Structure) -> None:
    result = diff(twin_2010, twin_2010)
    assert result.is_empty
    assert result.changes == ()


def test_added_removed_and_changed_entities(twin_2010: Structure, twin_2020: Structure) -> None:
    result = diff(twin_2010, twin_2020)
    assert [c.key for c in result.of("organizations", ChangeKind.ADDED)] == ["b-joint-ops"]
    assert result.of("organizations", ChangeKind.REMOVED) == ()
    (changed,) = result.of("organizations", ChangeKind.CHANGED)
    assert changed.key == "a-forces-borea"
    fields = {f.field: (f.before, f.after) for f in changed.fields}
    assert fields["name"] == ("Aland Forces Borea", "Aland Joint Force Borea")
    removed = {c.key for c in result.of("relations", ChangeKind.REMOVED)}
    assert removed == {
        "b-joint-staff commands b-army",
        "b-joint-staff commands b-navy",
        "a-ocean commands a-marines",
        "a-ocean administrative-control a-forces-borea",
    }
    assert len(result.of("relations", ChangeKind.ADDED)) == 7


def test_each_entry_carries_the_provenance_of_the_structure_that_has_it(
    twin_2010: Structure, twin_2020: Structure
) -> None:
    result = diff(twin_2010, twin_2020)
    for change in result.changes:
        owner = twin_2010 if change.change is ChangeKind.REMOVED else twin_2020
        assert change.provenance.structure == owner.id
        assert change.provenance.source or change.provenance.assumption
    (added,) = result.of("organizations", ChangeKind.ADDED)
    assert added.provenance.source == ("TWIN2 §2",)


def test_operational_authority_moves_are_reported_with_sources(
    twin_2010: Structure, twin_2020: Structure
) -> None:
    moves = {
        m.org: (m.before, m.after, m.provenance.source) for m in diff(twin_2010, twin_2020).authority_moved
    }
    assert moves["b-army"] == ("b-joint-staff", "b-joint-ops", ("TWIN2 §2",))
    assert moves["b-navy"][:2] == ("b-joint-staff", "b-joint-ops")
    assert moves["a-marines"][:2] == ("a-ocean", "a-forces-borea")
    assert "b-joint-ops" not in moves, "a new organization did not move: it was created"
    # Reversing the diff reverses every move.
    back = {m.org: (m.before, m.after) for m in diff(twin_2020, twin_2010).authority_moved}
    assert back == {org: (after, before) for org, (before, after, _) in moves.items()}


def test_json_form_is_plain_data(twin_2010: Structure, twin_2020: Structure) -> None:
    data = json.loads(json.dumps(diff(twin_2010, twin_2020).to_data()))
    assert data["before"]["id"] == "twin-2010"
    assert [o["key"] for o in data["organizations"]["added"]] == ["b-joint-ops"]
    assert {m["org"] for m in data["authority_moved"]} >= {"b-army", "b-navy"}


def test_2015_to_2025_names_jjoc_and_usfj_operational_authority_with_sources() -> None:
    result = diff(load_structure("us-japan-2015"), load_structure("us-japan-2025"))
    added = {c.key: c for c in result.of("organizations", ChangeKind.ADDED)}
    assert "jjoc" in added
    assert added["jjoc"].provenance.source
    moves = {m.org: m for m in result.authority_moved}
    for service in ("gsdf", "msdf", "asdf"):
        assert moves[service].after == "jjoc"
    usfj_commands = [m for m in result.authority_moved if m.after == "usfj"]
    assert usfj_commands, "USFJ gains operational control of forces in 2025"
    assert all(m.provenance.source or m.provenance.assumption for m in result.authority_moved)
