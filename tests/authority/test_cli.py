"""`kizuna authority ...` through the real entry point: outputs, batches with bad lines, exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from kizuna.cli.app import main

GOOD = {
    "situation": "armed-attack",
    "actor": "jsdf",
    "activity": "use-of-force",
    "flags": ["urgent", "attack-occurred"],
}
TREATY = {"situation": "peacetime", "actor": "us-forces", "activity": "combat-operations-from-japan"}


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    """Run `kizuna ARGS` in process; return the exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", ["kizuna", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    monkeypatch.setenv("COLUMNS", "200")
    code = 0
    try:
        main()
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_json_lines_answers_every_line_in_order_even_with_a_bad_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    batch = tmp_path / "queries.jsonl"
    lines = [
        json.dumps(GOOD),
        json.dumps({**GOOD, "situation": "armed-atack"}),
        json.dumps({**GOOD, "colour": "red"}),
        "{not json",
        json.dumps(TREATY),
    ]
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(monkeypatch, capsys, "authority", "check", str(batch), "--json")
    assert code == 2
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["outcome"] == "requires-approval"
    assert records[0]["after"] == ["diet-approval"]
    assert records[0]["citations"][0]["law"] == "SDF Act"
    assert records[1]["error"]["type"] == "unknown-id"
    assert records[1]["error"]["value"] == "armed-atack"
    assert "armed-attack" in records[1]["error"]["known"]
    assert records[2]["error"]["type"] == "invalid-query"
    assert "colour" in records[2]["error"]["message"]
    assert "valid fields: situations" in records[2]["error"]["message"]
    assert records[3]["error"]["type"] == "invalid-json"
    assert records[4]["missing"] == ["prior-consultation"]
    assert (
        "line 2: unknown situation 'armed-atack'; did you mean 'armed-attack'? "
        "known: anticipated-armed-attack" in " ".join(err.split())
    )
    assert "line 3: unknown query field 'colour'" in err


def test_check_reads_one_object_from_stdin_and_exits_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        monkeypatch, capsys, "authority", "check", "--json", stdin=json.dumps(GOOD, indent=2)
    )
    assert (code, err) == (0, "")
    [record] = [json.loads(line) for line in out.splitlines()]
    assert record["query"]["supported"] is None  # not given, not defaulted: the ruling does not need it
    assert record["query"]["situations"] == ["armed-attack"]
    assert record["rule_ids"][0] == "aas-defense-operation"


def test_check_accepts_a_json_array_and_prints_a_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "authority", "check", "-", stdin=json.dumps([GOOD, TREATY]))
    assert code == 0
    assert "requires-approval" in out
    assert "prior-consultation" in out
    assert "combat-operations-from-japan" in out


def test_check_with_no_queries_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(monkeypatch, capsys, "authority", "check", stdin="\n")
    assert code == 2
    assert "no queries" in err


def test_explain_shows_rules_order_and_citations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        monkeypatch, capsys, "authority", "explain", "--situation", "important-influence", "--actor", "msdf",
        "--activity", "refueling", "--supported", "us-forces", "--location", "high-seas-near-japan",
        "--flag", "urgent", "--flag", "in-response-plan",
    )  # fmt: skip
    assert code == 0
    assert "iis-services" in out
    assert "iis-diet-after-in-emergency" in out
    assert out.index("nsc-deliberation") < out.index("basic-plan") < out.index("prime-minister-approval")
    assert "may come after acting" in out
    assert "Important Influence Situations Act" in out


def test_explain_asks_for_a_fact_the_ruling_depends_on_instead_of_assuming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8 item 13: `--supported` once defaulted to none and made IIS refueling prohibited."""
    code, out, err = run(
        monkeypatch, capsys, "authority", "explain", "--situation", "important-influence", "--actor", "msdf",
        "--activity", "refueling",
    )  # fmt: skip
    assert code == 2
    assert out == ""
    assert "depends on supported, location" in err
    assert "--supported (none, japan, us-forces, third-country-forces)" in err
    assert "prohibited for none, japan" in err


def test_explain_rules_on_several_designations_and_names_the_basis(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        monkeypatch, capsys, "authority", "explain", "--situation", "armed-attack",
        "--situation", "survival-threatening", "--actor", "msdf", "--activity", "bmd-intercept",
        "--supported", "us-forces", "--location", "high-seas-near-japan", "--flag", "attack-occurred",
    )  # fmt: skip
    assert code == 0
    assert "armed-attack + survival-threatening" in out
    assert "requires-approval under the legal basis of survival-threatening" in out
    assert "sts-with-armed-attack-bmd-collective-defense" in out


def test_check_reports_a_missing_fact_per_line_and_answers_the_others(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    refuel = {"situation": "important-influence", "actor": "msdf", "activity": "refueling"}
    both = {**GOOD, "situation": ["armed-attack", "survival-threatening"], "flags": ["in-response-plan"]}
    lines = [json.dumps(refuel), json.dumps(both)]
    code, out, err = run(monkeypatch, capsys, "authority", "check", "--json", stdin="\n".join(lines))
    assert code == 2
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["error"]["type"] == "missing-fact"
    assert first["error"]["fields"] == ["supported", "location"]
    assert "line 1: the ruling depends on supported, location" in err
    assert second["basis"] == "survival-threatening"
    assert second["query"]["situations"] == ["armed-attack", "survival-threatening"]


def test_explain_takes_a_json_query_and_says_where_a_prohibited_act_would_be_lawful(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    query = {"situation": "peacetime", "actor": "msdf", "activity": "bmd-intercept", "supported": "us-forces"}
    code, out, _ = run(monkeypatch, capsys, "authority", "explain", "--query", json.dumps(query))
    assert code == 0
    assert "prohibited" in out
    assert "Would be lawful under: survival-threatening" in out


def test_explain_unknown_id_exits_2_naming_the_valid_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        monkeypatch,
        capsys,
        "authority",
        "explain",
        "--situation",
        "peacetime",
        "--actor",
        "navy",
        "--activity",
        "isr",
    )
    assert code == 2
    assert "unknown actor 'navy'" in err
    assert "jsdf" in err


@pytest.mark.parametrize("fmt", ["csv", "html", "table"])
def test_matrix_formats(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    code, out, _ = run(
        monkeypatch, capsys, "authority", "matrix", "--situation", "gray-zone", "--format", fmt
    )
    assert code == 0
    assert "maritime-security-operation" in out
    assert "needs location" in out or "needs:location" in out  # facts left out are not assumed
    if fmt == "csv":
        assert out.splitlines()[0].startswith("situation,actor,activity")
    if fmt == "html":
        assert out.startswith("<!DOCTYPE html>")
        target = tmp_path / "sheet.html"
        code, _, _ = run(
            monkeypatch,
            capsys,
            "authority",
            "matrix",
            "--situation",
            "gray-zone",
            "--format",
            "html",
            "-o",
            str(target),
        )
        assert code == 0
        assert target.read_text(encoding="utf-8") == out


def test_matrix_unknown_situation_and_format(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(monkeypatch, capsys, "authority", "matrix", "--situation", "war")
    assert code == 2
    assert "unknown situation 'war'" in err
    code, _, err = run(
        monkeypatch, capsys, "authority", "matrix", "--situation", "peacetime", "--format", "pdf"
    )
    assert code == 2
    assert "valid: table, csv, html" in err


def test_validate_bundled_and_a_broken_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(monkeypatch, capsys, "authority", "validate", "--all")
    assert code == 0
    assert "valid japan-2015, us-japan-treaty-1960" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nname: Broken\ncolour: blue\n", encoding="utf-8")
    code, _, err = run(monkeypatch, capsys, "authority", "validate", str(broken))
    assert code == 1
    assert "broken.yaml:3: colour: unknown key" in err


def test_an_invalid_framework_file_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nname: Broken\ncolour: blue\n", encoding="utf-8")
    code, _, err = run(monkeypatch, capsys, "authority", "check", "-f", str(broken), stdin=json.dumps(GOOD))
    assert code == 1
    assert "colour: unknown key" in err


def test_vocabulary_lists_ids_with_meanings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "authority", "vocabulary", "flags")
    assert code == 0
    assert "first-request" in out
    assert "situation" not in out.split("\n", 1)[0]


def test_bench_reports_both_evaluators_and_the_ratio(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "bench", "authority", "--json", "--queries", "2000")
    assert code == 0
    figures = json.loads(out)
    assert figures["queries"] == 2000
    assert figures["agree"] == 2000
    assert figures["compiled_cold"] > 0
    assert figures["reference"] > 0
    assert figures["ratio"] == pytest.approx(figures["compiled_cold"] / figures["reference"])
    assert figures["compiled_union"] > 0
