"""The structure loader: every kind of mistake is reported with its file, line, field and value."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kizuna.errors import DataError, Problem
from kizuna.model import check_structure_file, load_structure

BASE = """\
id: alpha
name: Alpha alliance
era: {valid_from: 2020-01-01}
sources:
  DOC: A treaty between A and B
nations:
  - {id: aa, name: A land, code: AAA, source: DOC}
  - {id: bb, name: B land, code: BBB, source: DOC}
sites:
  - {id: cap-a, name: Capital A, latitude: 10.5, longitude: 20.25, time_zone: Asia/Tokyo, source: DOC}
organizations:
  - {id: a-gov, name: A government, nation: aa, kind: government, site: cap-a, source: DOC art. 1}
  - {id: a-cmd, name: A command, nation: aa, kind: command, source: DOC}
  - {id: b-cmd, name: B command, nation: bb, kind: command, source: DOC}
  - {id: council, name: Joint council, nation: bilateral, kind: coordination-body, source: DOC}
relations:
  - {from: a-gov, kind: commands, to: a-cmd, source: DOC}
  - {from: a-cmd, kind: member-of, to: council, source: DOC}
  - {from: b-cmd, kind: member-of, to: council, assumption: both commands sit on the council}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    structure, problems = check_structure_file(path)
    assert structure is None, "an invalid file must not give a structure"
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_a_valid_file_loads_with_everything_in_it(tmp_path: Path) -> None:
    structure = load_structure(write(tmp_path, "a.yaml", BASE))
    assert structure.id == "alpha"
    assert [o.id for o in structure.organizations] == ["a-gov", "a-cmd", "b-cmd", "council"]
    assert structure.org("a-gov").source == ("DOC art. 1",)
    assert structure.site_of("a-gov") is not None
    assert structure.org("council").is_bilateral


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "value"),
    [
        (
            "to: council, source: DOC}\n  - {from: b",
            "to: counsil, source: DOC}\n  - {from: b",
            18,
            "relations[a-cmd member-of counsil].to",
            "counsil",
        ),
        ("site: cap-a,", "site: cap-b,", 12, "organizations[a-gov].site", "cap-b"),
        ("nation: bb, kind", "nation: cc, kind", 14, "organizations[b-cmd].nation", "cc"),
        ("time_zone: Asia/Tokyo", "time_zone: Asia/Tokio", 10, "sites[cap-a].time_zone", "Asia/Tokio"),
        ("latitude: 10.5", "latitude: 100.5", 10, "sites[cap-a].latitude", 100.5),
        ("kind: government", "kind: govt", 12, "organizations[a-gov].kind", "govt"),
        ("source: DOC art. 1", "source: DOX art. 1", 12, "organizations[a-gov].source", "DOX"),
    ],
)
def test_each_bad_value_is_named_with_its_line(
    tmp_path: Path, old: str, new: str, line: int, field: str, value: object
) -> None:
    assert old in BASE
    problem = only(problems_of(write(tmp_path, "bad.yaml", BASE.replace(old, new, 1))))
    assert (problem.line, problem.field, problem.value) == (line, field, value)
    assert problem.file.endswith("bad.yaml")


def test_a_fact_without_source_or_assumption_is_an_error(tmp_path: Path) -> None:
    text = BASE.replace(", source: DOC}\n  - {id: council", "}\n  - {id: council")
    problem = only(problems_of(write(tmp_path, "f.yaml", text)))
    assert problem.line == 14
    assert "source" in problem.message


def test_an_unknown_key_lists_the_allowed_ones(tmp_path: Path) -> None:
    text = BASE.replace("kind: command, source: DOC}", "kind: command, colour: red, source: DOC}", 1)
    problem = only(problems_of(write(tmp_path, "k.yaml", text)))
    assert problem.line == 13
    assert problem.message == "unknown key"
    assert problem.expected is not None
    assert "grants" in problem.expected


def test_an_unknown_top_level_key_is_reported(tmp_path: Path) -> None:
    problem = only(problems_of(write(tmp_path, "t.yaml", BASE + "colour: red\n")))
    assert (problem.line, problem.field) == (20, "colour")


def test_two_operational_superiors_are_one_error_at_the_second(tmp_path: Path) -> None:
    text = BASE + "  - {from: b-cmd, kind: commands, to: a-cmd, source: DOC}\n"
    problem = only(problems_of(write(tmp_path, "o.yaml", text)))
    assert problem.line == 20
    assert "two operational-control superiors" in problem.message
    assert "'a-gov' (line 17)" in problem.message


def test_a_cycle_of_command_relations_is_reported(tmp_path: Path) -> None:
    text = BASE + (
        "  - {from: a-cmd, kind: tactical-control, to: b-cmd, source: DOC}\n"
        "  - {from: a-cmd, kind: reports-to, to: b-cmd, source: DOC}\n"
    )
    problem = only(problems_of(write(tmp_path, "c.yaml", text)))
    assert "cycle of command relations" in problem.message


def test_all_problems_of_a_file_come_at_once_in_line_order(tmp_path: Path) -> None:
    text = BASE.replace("site: cap-a,", "site: nowhere,").replace("time_zone: Asia/Tokyo", "time_zone: X/Y")
    problems = problems_of(write(tmp_path, "m.yaml", text))
    assert [p.line for p in problems] == [10, 12]


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    problem = only(problems_of(write(tmp_path, "y.yaml", BASE + "  - {from: a, kind: [\n")))
    assert problem.field == "yaml"
    assert problem.line is not None
    assert problem.line >= 20


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    text = BASE.replace(
        "organizations:\n",
        "organizations:\n  - {id: a-cmd, name: X, nation: aa, kind: unit, source: DOC}\n",
        1,
    )
    problem = only(problems_of(write(tmp_path, "d.yaml", text)))
    assert problem.value == "a-cmd"
    assert "duplicate" in problem.message


def test_load_raises_one_data_error_with_every_problem(tmp_path: Path) -> None:
    text = BASE.replace("site: cap-a,", "site: nowhere,").replace("time_zone: Asia/Tokyo", "time_zone: X/Y")
    with pytest.raises(DataError) as caught:
        load_structure(write(tmp_path, "e.yaml", text))
    assert len(caught.value.problems) == 2
    assert "nowhere" in str(caught.value)


class TestExtends:
    """A derived era adds, changes and removes entries of the structure it extends."""

    def test_add_change_remove_apply_in_order(self, tmp_path: Path) -> None:
        write(tmp_path, "alpha.yaml", BASE)
        path = write(
            tmp_path,
            "beta.yaml",
            """\
            id: beta
            name: Beta era
            extends: alpha
            era: {valid_from: 2025-01-01}
            sources:
              NEW: A later agreement
            add:
              organizations:
                - {id: joint-hq, name: Joint HQ, nation: bilateral, kind: command, source: NEW}
              relations:
                - {from: joint-hq, kind: commands, to: b-cmd, source: NEW}
            change:
              organizations:
                - {id: a-cmd, name: A joint command, source: NEW}
            remove:
              relations: ["b-cmd member-of council"]
            """,
        )
        beta = load_structure(path)
        assert beta.extends == "alpha"
        assert beta.org("a-cmd").name == "A joint command"
        assert beta.org("a-cmd").kind.value == "command"  # unchanged fields are inherited
        assert "b-cmd member-of council" not in {r.key for r in beta.relations}
        assert "joint-hq commands b-cmd" in {r.key for r in beta.relations}
        assert set(beta.sources) == {"DOC", "NEW"}

    def test_changes_to_missing_entries_and_re_adds_are_errors(self, tmp_path: Path) -> None:
        write(tmp_path, "alpha.yaml", BASE)
        path = write(
            tmp_path,
            "beta.yaml",
            """\
            id: beta
            name: Beta
            extends: alpha
            era: {valid_from: 2025-01-01}
            add:
              organizations:
                - {id: a-cmd, name: Again, nation: aa, kind: command, source: DOC}
            change:
              sites:
                - {id: cap-z, name: Z}
            remove:
              organizations: [ghost]
            """,
        )
        problems = problems_of(path)
        assert {(p.line, p.value) for p in problems} == {(7, "a-cmd"), (10, "cap-z"), (12, "ghost")}

    def test_removing_an_org_still_referenced_reports_the_dangling_relation(self, tmp_path: Path) -> None:
        write(tmp_path, "alpha.yaml", BASE)
        path = write(
            tmp_path,
            "beta.yaml",
            """\
            id: beta
            name: Beta
            extends: alpha
            era: {valid_from: 2025-01-01}
            remove:
              organizations: [council]
            """,
        )
        problems = problems_of(path)
        assert {p.value for p in problems} == {"council"}
        assert all(p.file.endswith("alpha.yaml") for p in problems)

    def test_a_cycle_of_extends_is_an_error(self, tmp_path: Path) -> None:
        write(tmp_path, "one.yaml", "id: one\nname: One\nextends: two\nera: {valid_from: 2020-01-01}\n")
        write(tmp_path, "two.yaml", "id: two\nname: Two\nextends: one\nera: {valid_from: 2020-01-01}\n")
        problem = only(problems_of(tmp_path / "one.yaml"))
        assert "cycle" in problem.message

    def test_a_derived_file_may_not_list_entities_at_top_level(self, tmp_path: Path) -> None:
        write(tmp_path, "alpha.yaml", BASE)
        path = write(
            tmp_path,
            "beta.yaml",
            """\
            id: beta
            name: Beta
            extends: alpha
            era: {valid_from: 2025-01-01}
            organizations: []
            """,
        )
        problem = only(problems_of(path))
        assert (problem.line, problem.field) == (5, "organizations")
        assert "add:/change:/remove:" in problem.message
