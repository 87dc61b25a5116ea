"""The sources catalog: every key cited anywhere in the bundled data resolves to a document, and a key
that resolves nowhere is refused with its file, line and the nearest keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kizuna.authority import load_frameworks
from kizuna.model import check_scenario_file, check_structure_file, load_scenario, load_structure
from kizuna.model.loading import bundled_dir, bundled_ids
from kizuna.model.provenance import is_url, source_key
from kizuna.model.sources import Source, catalog, catalog_path, check_catalog_file
from kizuna.model.yamlfile import read_yaml
from kizuna.planning.procedures import bundled_procedures

DATA = Path(catalog_path()).parent


def all_references() -> list[tuple[str, str]]:
    """Every `source:` reference and citation `source` of every bundled data file, with the file."""
    found: list[tuple[str, str]] = []

    def walk(node: object, file: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "source":
                    for ref in [value] if isinstance(value, str) else value:
                        found.append((file, str(ref)))
                elif key != "sources":
                    walk(value, file)
        elif isinstance(node, list):
            for item in node:
                walk(item, file)

    for path in sorted(DATA.glob("*/*.yaml")):
        walk(read_yaml(path), path.name)
    return found


def test_the_catalog_is_valid_and_each_entry_names_a_document() -> None:
    entries, problems = check_catalog_file(catalog_path())
    assert problems == []
    assert entries is not None
    for key, source in entries.items():
        assert source.key == key
        assert source.title
        assert source.url is None or source.url.startswith(("http://", "https://")), key


def test_every_key_cited_in_the_bundled_data_is_in_the_catalog() -> None:
    refs = all_references()
    assert len(refs) > 300
    keys = {source_key(r) for _, r in refs if not is_url(r)}
    assert keys <= set(catalog()), sorted(keys - set(catalog()))


def test_bundled_files_keep_no_sources_table_of_their_own() -> None:
    """One catalog: a key means the same document wherever it is shown."""
    for path in sorted(DATA.glob("*/*.yaml")):
        assert "sources" not in read_yaml(path), f"{path.name} has its own `sources:` table"


def test_loaded_objects_carry_the_entries_they_cite() -> None:
    s = load_structure("us-japan-2025")
    assert {"JJOC", "USFJ25", "2P2-24", "DOJ24"} <= set(s.sources)
    assert all(isinstance(v, Source) for v in s.sources.values())
    sc = load_scenario("taiwan-contingency")
    assert "FRUS69" in sc.sources
    fw = {f.id: f for f in load_frameworks().frameworks}
    assert {"FRUS57", "JC60", "SATO"} <= set(fw["us-japan-treaty-1960"].sources)
    assert "ART9" in fw["japan-2015"].sources
    assert "5PARTY" in bundled_procedures()[0].sources


def test_the_2024_joint_statement_cites_the_official_text() -> None:
    statement = catalog()["2P2-24"]
    assert statement.official
    assert statement.url is not None
    assert statement.url.startswith("https://www.mod.go.jp/")
    for key in ("DOJ16", "DOJ24", "FRUS38", "FRUS57", "KMIN"):
        assert catalog()[key].official, key
    for key in ("G15", "USFJ25", "5PARTY", "JJOC"):  # no official text was available: said so, not hidden
        assert not catalog()[key].official, key
        assert catalog()[key].url


def test_no_shipped_text_sends_readers_to_a_file_outside_the_package() -> None:
    package = DATA.parent
    for path in [*package.rglob("*.yaml"), *package.rglob("*.py"), *package.rglob("*.j2")]:
        assert "alliance-facts" not in path.read_text(encoding="utf-8"), path


def test_an_unknown_key_names_file_line_and_the_nearest_keys(tmp_path: Path) -> None:
    text = (bundled_dir() / "us-japan-2025.yaml").read_text(encoding="utf-8")
    text = text.replace("extends: us-japan-2015", f"extends: {bundled_dir() / 'us-japan-2015.yaml'}", 1)
    bad = re.sub(r"source: (\[?)JJOC", r"source: \1JJCO", text, count=1)
    assert bad != text
    path = tmp_path / "s.yaml"
    path.write_text(bad, encoding="utf-8")
    structure, problems = check_structure_file(path)
    assert structure is None
    [problem] = [p for p in problems if p.value == "JJCO"]
    assert problem.file == str(path)
    assert problem.line is not None
    assert problem.line == 1 + bad[: bad.index("JJCO")].count("\n")
    assert problem.hint == "did you mean 'JJOC'?"
    assert "kizuna source list" in str(problem)


def test_a_users_file_may_define_its_own_keys_and_cite_the_catalog(tmp_path: Path) -> None:
    scenario = (bundled_dir("scenarios") / "okinawa-earthquake.yaml").read_text(encoding="utf-8")
    own = scenario.replace(
        "id: okinawa-earthquake",
        "id: okinawa-earthquake\nsources:\n  MEMO: {title: Our planning memo, publisher: J5, date: 2026-05}",
        1,
    ).replace("source: DOJ24", "source: MEMO p.2", 1)
    path = tmp_path / "okinawa.yaml"
    path.write_text(own, encoding="utf-8")
    loaded, problems = check_scenario_file(path)
    assert problems == []
    assert loaded is not None
    assert loaded.sources["MEMO"].publisher == "J5"
    assert "DOJ24" in loaded.sources  # still cited elsewhere in the file, from the catalog


@pytest.mark.parametrize("sid", bundled_ids())
def test_structure_show_resolves_every_key_it_prints(sid: str) -> None:
    from rich.console import Console

    from kizuna.report.terminal import structure_tables

    console = Console(width=120, record=True, file=__import__("io").StringIO())
    for part in structure_tables(load_structure(sid), width=120):
        console.print(part)
    text = console.export_text()
    shown = set(re.findall(r"\b([A-Z0-9][A-Z0-9-]*[0-9A-Z])\b(?= (?:Fig|Ref|Part|Ch|§|p\.)|;|$)", text))
    listed = set(re.findall(r"^  ([A-Z0-9][A-Z0-9-]+)  ", text, flags=re.MULTILINE))
    cited = {k for k in shown if k in catalog()}
    assert cited <= listed, sorted(cited - listed)
