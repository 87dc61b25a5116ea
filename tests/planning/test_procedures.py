"""Designation procedures: bundled data that completes the frameworks, checked like every data file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kizuna.authority import load_frameworks
from kizuna.errors import DataError
from kizuna.planning import load_procedures
from kizuna.planning.procedures import bundled_procedures


def test_every_bundled_procedure_names_situations_and_approvals_of_its_framework() -> None:
    fw = load_frameworks()
    found = bundled_procedures()
    assert found, "at least one procedures file is bundled"
    for procedures in found:
        assert procedures.framework in fw.ids
        for designation in procedures.designations:
            assert designation.situation in fw.situations
            assert set(designation.approvals) <= set(fw.approvals)
            assert designation.source or designation.assumption
            order = [fw.approval_order[a] for a in designation.approvals]
            assert order == sorted(order), f"{designation.situation}: approvals out of the law's order"


def test_a_broken_file_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: p\nframework: japan-2015\nsources: {DOJ16: x}\ndesignations:\n"
        "  - situation: armed-attack\n    approvals: []\n    source: DOJ16\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as caught:
        load_procedures(path)
    problem = caught.value.problems[0]
    assert problem.line == 6
    assert "approvals" in problem.field


def test_an_unknown_source_key_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: p\nframework: japan-2015\nsources: {DOJ16: x}\ndesignations:\n"
        "  - situation: armed-attack\n    approvals: [basic-response-plan]\n    source: NOPE 1\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="unknown source key"):
        load_procedures(path)


def test_urgent_after_must_name_one_of_the_approvals(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: p\nframework: japan-2015\ndesignations:\n"
        "  - situation: armed-attack\n    approvals: [basic-response-plan]\n"
        "    urgent_after: [diet-approval]\n    assumption: test\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="urgent_after"):
        load_procedures(path)
