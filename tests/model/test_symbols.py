"""Organization symbols: every bundled organization has a valid MIL-STD-2525D SIDC with its provenance,
and a malformed code is refused with the file, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from kizuna.errors import DataError
from kizuna.model import Symbol, load_structure

BUNDLED = ("us-japan-2015", "us-japan-2025", "us-japan-combined")


@pytest.mark.parametrize("structure_id", BUNDLED)
def test_every_bundled_organization_has_a_symbol_and_a_japanese_name(structure_id: str) -> None:
    structure = load_structure(structure_id)
    for org in structure.organizations:
        assert org.symbol is not None, org.id
        assert org.symbol.source or org.symbol.assumption, org.id
        assert org.symbol.sidc[2] == "0", f"{org.id}: the data holds the reality context"
        assert org.name_ja, org.id
    for site in structure.sites:
        assert site.name_ja, site.id


@pytest.mark.parametrize(
    ("sidc", "complaint"),
    [
        ("1003100026110000000", "20 digits"),
        ("1003100026110000000X", "20 digits"),
        ("20031000261100000000", "version 20"),
        ("10731000261100000000", "context 7"),
        ("10091000261100000000", "standard identity 9"),
        ("10039900261100000000", "symbol set 99"),
        ("10031090261100000000", "status 9"),
    ],
)
def test_a_malformed_sidc_is_refused_naming_what_is_wrong(sidc: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Symbol(sidc=sidc, assumption="test")


def test_a_bad_symbol_in_a_file_names_the_file_line_and_field(tmp_path: Path) -> None:
    lines = (Path(__file__).parent / "fixtures" / "twin-2010.yaml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "id: a-ocean" in line)
    bad_symbol = 'symbol: {sidc: "1003100026", assumption: x},'
    lines[at] = lines[at].replace("kind: command,", f"kind: command, {bad_symbol}")
    bad = tmp_path / "bad.yaml"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as caught:
        load_structure(bad)
    message = str(caught.value)
    assert f"bad.yaml:{at + 1}:" in message
    assert "symbol.sidc" in message
    assert "20 digits" in message
