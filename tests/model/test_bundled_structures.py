"""The bundled U.S.–Japan structures: they load, hold what the engines need, and say what design.md says.

us-japan-2015 has two parallel national chains and U.S. operational control at INDOPACOM; us-japan-2025
adds JJOC and gives USFJ operational authority; us-japan-combined is a hypothetical combined command.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kizuna.model import (
    BILATERAL,
    RelationKind,
    Structure,
    bundled_dir,
    bundled_ids,
    check_structure_file,
    load_structure,
)
from kizuna.model.provenance import is_url, source_key

REAL = ("us-japan-2015", "us-japan-2025")
ALL = (*REAL, "us-japan-combined")

REQUIRED_ORGS = (
    "us-president",
    "us-secdef",
    "indopacom",
    "usfj",
    "us-embassy-tokyo",
    "pacflt",
    "iii-mef",
    "12th-mlr",
    "jp-pm",
    "jp-cabinet",
    "jp-nsc",
    "jp-diet",
    "jp-mofa",
    "jp-mod",
    "jsdf-joint-staff",
    "gsdf",
    "msdf",
    "asdf",
    "jcg",
    "ardb",
    "acm-acg",
    "acm-bocc",
    "acm-ccc",
    "joint-committee",
)
REQUIRED_SITES = (
    "yokota",
    "ichigaya",
    "camp-hm-smith",
    "camp-hansen",
    "kadena",
    "yonaguni",
    "ishigaki",
    "miyako",
    "amami",
    "ainoura",
    "mageshima",
    "washington",
    "kantei",
)
#: The approval ids the authority engine and the planner ask for, and who grants them in every era.
GRANTS = {
    "cabinet-decision": "jp-cabinet",
    "basic-plan": "jp-cabinet",
    "basic-response-plan": "jp-cabinet",
    "prior-consultation": "jp-cabinet",
    "nsc-deliberation": "jp-nsc",
    "diet-approval": "jp-diet",
    "diet-prior-approval": "jp-diet",
    "prime-minister-approval": "jp-pm",
    "prime-minister-order": "jp-pm",
    "defense-minister-order": "jp-mod",
    "foreign-minister-request": "jp-mofa",
    "governor-request": "okinawa-prefecture",
    "us-request": "indopacom",
    # issue 8: amendments, requesters and decisions the law asks for since the review
    "basic-plan-amendment": "jp-cabinet",
    "basic-response-plan-amendment": "jp-cabinet",
    "implementation-plan": "jp-cabinet",
    "ipc-hq-request": "jp-pm",
    "jcg-control-decision": "jp-pm",
    "coast-guard-request": "jcg",
    "governor-security-request": "okinawa-prefecture",
}
#: Where the facts file lives beside the project (see ../shared/README.md); absent in some checkouts.
FACTS = Path(__file__).resolve().parents[3] / "shared" / "sources" / "alliance-facts.md"
#: Documents the bundled data cites that are not in the facts file's §0 table.
EXTRA_SOURCE_KEYS = {"USC10"}


def commander(structure: Structure, org_id: str) -> str | None:
    """The organization with operational control (`commands`) over `org_id`, read from the relations."""
    sups = [r.from_ for r in structure.relations if r.kind is RelationKind.COMMANDS and r.to == org_id]
    assert len(sups) <= 1
    return sups[0] if sups else None


def operational_chain(structure: Structure, org_id: str) -> list[str]:
    """The `commands` superiors of an organization, nearest first, up to the top."""
    chain: list[str] = []
    current = commander(structure, org_id)
    while current is not None:
        assert current not in chain, "a command cycle in a loaded structure"
        chain.append(current)
        current = commander(structure, current)
    return chain


def has(structure: Structure, from_: str, kind: RelationKind, to: str) -> bool:
    return any(r.from_ == from_ and r.kind is kind and r.to == to for r in structure.relations)


# -- every bundled structure ----------------------------------------------------------------------------


def test_the_three_structures_are_bundled() -> None:
    assert set(ALL) <= set(bundled_ids())


@pytest.mark.parametrize("structure_id", ALL)
def test_bundled_file_validates_without_problems(structure_id: str) -> None:
    structure, problems = check_structure_file(bundled_dir() / f"{structure_id}.yaml")
    assert problems == [], "\n".join(map(str, problems))
    assert structure is not None
    assert structure.id == structure_id


@pytest.mark.parametrize("structure_id", ALL)
def test_required_organizations_and_sites_are_present(structure_id: str) -> None:
    structure = load_structure(structure_id)
    assert set(REQUIRED_ORGS) <= set(structure.org_by_id)
    assert set(REQUIRED_SITES) <= set(structure.site_by_id)
    assert {n.code for n in structure.nations} == {"USA", "JPN"}


@pytest.mark.parametrize("structure_id", ALL)
def test_every_site_has_a_zone_that_fits_its_longitude(structure_id: str) -> None:
    """A zone's UTC offset is within a few hours of longitude/15: catches swapped zones or signs."""
    structure = load_structure(structure_id)
    at = datetime.combine(structure.era.valid_from, time(12), tzinfo=UTC)
    for site in structure.sites:
        offset = at.astimezone(ZoneInfo(site.time_zone)).utcoffset()
        assert offset is not None
        solar = site.longitude / 15
        assert abs(offset.total_seconds() / 3600 - solar) <= 2.5, site.id


@pytest.mark.parametrize("structure_id", ALL)
def test_every_organization_points_to_known_sites_and_nations(structure_id: str) -> None:
    structure = load_structure(structure_id)
    nations = set(structure.nation_by_id) | {BILATERAL}
    for org in structure.organizations:
        assert org.nation in nations, org.id
        if org.site is not None:
            assert org.site in structure.site_by_id, org.id
    # Every non-bilateral command or unit has a site, so routes through it have a clock.
    for org in structure.organizations:
        if org.kind.value in {"command", "unit", "ministry", "embassy"}:
            assert structure.site_of(org.id) is not None, org.id


@pytest.mark.parametrize("structure_id", ALL)
def test_the_approvals_the_engines_use_have_their_granters(structure_id: str) -> None:
    structure = load_structure(structure_id)
    for approval, org_id in GRANTS.items():
        assert org_id in {o.id for o in structure.granters(approval)}, approval


@pytest.mark.parametrize("structure_id", ALL)
def test_established_dates_are_not_after_the_era(structure_id: str) -> None:
    structure = load_structure(structure_id)
    end = structure.era.valid_to
    for org in structure.organizations:
        if org.established is not None and end is not None:
            assert org.established <= end, org.id


@pytest.mark.parametrize("structure_id", ALL)
def test_every_source_reference_names_a_document(structure_id: str) -> None:
    structure = load_structure(structure_id)
    for section in ("nations", "sites", "organizations", "relations"):
        for entity in getattr(structure, section):
            assert entity.source or entity.assumption
            for ref in entity.source:
                assert is_url(ref) or source_key(ref) in structure.sources, ref


def test_source_keys_are_those_of_the_facts_file() -> None:
    if not FACTS.is_file():
        pytest.skip(f"the facts file is not beside the project ({FACTS})")
    table = FACTS.read_text(encoding="utf-8").split("## 1.", 1)[0]
    keys: set[str] = set()
    for cell in re.findall(r"^\| ([^|]+?) \|", table, flags=re.MULTILINE):
        keys.update(k.strip() for k in cell.split("/"))
    # "DOJ13/14/15/16/24" names several white papers in one row; drop the header and bare numbers.
    keys = {k for k in keys if re.fullmatch(r"[A-Z0-9-]*[A-Z][A-Z0-9-]*", k)}
    keys |= {f"DOJ{n}" for n in ("13", "14", "15", "16", "24")}
    for structure_id in ALL:
        unknown = set(load_structure(structure_id).sources) - keys - EXTRA_SOURCE_KEYS
        assert not unknown, f"{structure_id}: {sorted(unknown)} are not §0 keys"


# -- the eras --------------------------------------------------------------------------------------------


def test_the_eras_follow_each_other() -> None:
    s2015, s2025, combined = (load_structure(s) for s in ALL)
    assert s2015.era.valid_to is not None
    assert (s2025.era.valid_from - s2015.era.valid_to).days == 1
    assert s2025.extends == "us-japan-2015"
    assert combined.extends == "us-japan-2025"
    assert combined.hypothetical
    assert not s2015.hypothetical
    assert not s2025.hypothetical


def test_jjoc_exists_from_2025_only() -> None:
    s2015, s2025 = (load_structure(s) for s in REAL)
    assert "jjoc" not in s2015.org_by_id
    jjoc = s2025.org("jjoc")
    assert jjoc.site == "ichigaya"
    assert jjoc.established == s2025.era.valid_from
    assert jjoc.source, "JJOC's creation must be sourced"


def test_2015_operational_control_runs_from_indopacom_not_usfj() -> None:
    structure = load_structure("us-japan-2015")
    assert not any(r.from_ == "usfj" and r.kind is RelationKind.COMMANDS for r in structure.relations)
    for org_id in ("iii-mef", "12th-mlr", "pacflt"):
        chain = operational_chain(structure, org_id)
        assert "indopacom" in chain, org_id
        assert "usfj" not in chain, org_id
    hawaii = structure.site_of("indopacom")
    assert hawaii is not None
    assert hawaii.time_zone == "Pacific/Honolulu"
    assert "us-request" not in structure.org("usfj").grants


def test_2025_usfj_holds_operational_authority_under_indopacom() -> None:
    structure = load_structure("us-japan-2025")
    assert has(structure, "indopacom", RelationKind.COMMANDS, "usfj")
    assert commander(structure, "iii-mef") == "usfj"
    assert operational_chain(structure, "12th-mlr")[:3] == ["iii-mef", "usfj", "indopacom"]
    assert "us-request" in structure.org("usfj").grants
    assert structure.org("usfj").assumption, "the phased, unpublished authorities are an assumption"


def test_2025_jjoc_commands_the_sdf_and_answers_to_the_minister() -> None:
    s2015, s2025 = (load_structure(s) for s in REAL)
    for service in ("gsdf", "msdf", "asdf"):
        assert commander(s2015, service) == "jp-mod"
        assert commander(s2025, service) == "jjoc"
    assert operational_chain(s2025, "ardb") == ["gsdf", "jjoc", "jp-mod", "jp-pm"]
    assert has(s2025, "usfj", RelationKind.COORDINATES_WITH, "jjoc")
    assert s2025.org("jjoc-cooperation-team").site == "hardy-barracks"


@pytest.mark.parametrize("structure_id", REAL)
def test_real_eras_have_parallel_national_chains(structure_id: str) -> None:
    """No combined command: every `commands` relation stays inside one nation (G15 III.B)."""
    structure = load_structure(structure_id)
    for rel in structure.relations:
        if rel.kind is RelationKind.COMMANDS:
            a, b = structure.org(rel.from_), structure.org(rel.to)
            assert a.nation == b.nation != BILATERAL, rel.key


def test_the_combined_command_takes_both_joint_commands_but_not_the_law() -> None:
    structure = load_structure("us-japan-combined")
    assert commander(structure, "jjoc") == "combined-command"
    assert commander(structure, "usfj") == "combined-command"
    assert structure.org("combined-command").is_bilateral
    assert structure.org("combined-command").assumption
    # National reporting lines and the legal approvals stay with each nation.
    assert has(structure, "jjoc", RelationKind.REPORTS_TO, "jp-mod")
    assert has(structure, "usfj", RelationKind.REPORTS_TO, "indopacom")
    for approval, org_id in GRANTS.items():
        assert structure.granters(approval)[0].nation != BILATERAL, (approval, org_id)


def test_a_user_file_extending_a_bundled_one_is_told_where_a_dangling_id_was_removed(tmp_path: Path) -> None:
    """Removing an organization but not the relations to it points at the relation and at the removal."""
    child = tmp_path / "child.yaml"
    child.write_text(
        "id: child\nname: Child\nextends: us-japan-2015\nera: {valid_from: 2030-01-01}\n"
        "remove:\n  organizations: [bjocc]\n",
        encoding="utf-8",
    )
    structure, problems = check_structure_file(child)
    assert structure is None
    assert {p.value for p in problems} == {"bjocc"}
    assert {p.field for p in problems} == {
        "relations[asdf member-of bjocc].to",
        "relations[usfj member-of bjocc].to",
    }
    for problem in problems:
        assert problem.file.endswith("us-japan-2015.yaml")
        assert f"removed at {child}:6" in problem.message
    # Removing the relations as well makes the file valid.
    child.write_text(
        child.read_text(encoding="utf-8") + "  relations: [asdf member-of bjocc, usfj member-of bjocc]\n",
        encoding="utf-8",
    )
    structure, problems = check_structure_file(child)
    assert problems == []
    assert structure is not None
    assert "bjocc" not in structure.org_by_id


@pytest.mark.parametrize("structure_id", ALL)
def test_the_cabinet_secretariat_is_the_first_staff_behind_the_nsc_and_the_cabinet(structure_id: str) -> None:
    """Planning takes the first staff that `supports` a collective body or one of its members as the body's
    drafter: for the NSC and the Cabinet that must be the Cabinet Secretariat, not the Joint Staff."""
    structure = load_structure(structure_id)
    for body in ("jp-nsc", "jp-cabinet"):
        members = {body} | {
            r.from_ for r in structure.relations if r.kind is RelationKind.MEMBER_OF and r.to == body
        }
        staffs = [
            r.from_
            for r in structure.relations
            if r.kind is RelationKind.SUPPORTS
            and r.to in members
            and structure.org(r.from_).kind.value == "staff"
        ]
        assert staffs[0] == "jp-cabinet-secretariat", (body, staffs)
