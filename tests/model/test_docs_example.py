"""The format documentation's examples: another alliance loads with the same code; the docs tell the truth.

docs/examples holds a small U.S.–ROK structure (with a standing combined command) and a file that extends
it; nothing in the loader or the queries knows about the U.S.–Japan data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kizuna.model import BILATERAL, RelationKind, Structure, check_structure_file, load_structure

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
FORMAT_DOC = DOCS / "structure-format.md"


def commander(structure: Structure, org_id: str) -> str | None:
    sups = [r.from_ for r in structure.relations if r.kind is RelationKind.COMMANDS and r.to == org_id]
    return sups[0] if sups else None


def test_the_example_alliance_loads_by_path() -> None:
    structure = load_structure(EXAMPLES / "us-rok-2024.yaml")
    assert structure.id == "us-rok-2024"
    assert {n.code for n in structure.nations} == {"USA", "KOR"}
    assert not any(o.id.startswith("jp-") for o in structure.organizations)
    assert {s.time_zone for s in structure.sites} >= {"Asia/Seoul", "Pacific/Honolulu"}
    cfc = structure.org("cfc")
    assert cfc.nation == BILATERAL
    assert cfc.kind.value == "command"
    # In armistice the ROK JCS, not CFC, holds operational control of ROK forces.
    assert commander(structure, "rok-army") == "rok-jcs"
    assert commander(structure, "cfc") == "military-committee"


def test_the_extending_example_moves_operational_control_to_the_combined_command() -> None:
    base = load_structure(EXAMPLES / "us-rok-2024.yaml")
    war = load_structure(EXAMPLES / "us-rok-wartime.yaml")
    assert war.extends == "us-rok-2024"
    assert war.hypothetical
    assert war.sources == base.sources  # inherited
    for force in ("rok-army", "eighth-army"):
        assert commander(war, force) == "cfc"
    assert war.org("cfc").source == ("BELL12",)
    assert war.org("cfc").name == base.org("cfc").name  # `change:` keeps what it does not name


def test_the_first_file_in_the_format_doc_is_valid(tmp_path: Path) -> None:
    text = FORMAT_DOC.read_text(encoding="utf-8")
    section = text.split("## A first file", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    path = tmp_path / "first.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    structure = load_structure(path)
    assert structure.org("council").is_bilateral
    assert [o.id for o in structure.granters("cabinet-decision")] == ["north-gov"]


def test_the_error_listing_in_the_format_doc_is_what_the_loader_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    structure, problems = check_structure_file(Path("docs/examples/broken-example.yaml"))
    assert structure is None
    assert len(problems) >= 6
    listing = FORMAT_DOC.read_text(encoding="utf-8")
    for problem in problems:
        assert f"error {problem}\n" in listing, f"docs do not show: {problem}"
    assert f"{len(problems)} problems" in listing
