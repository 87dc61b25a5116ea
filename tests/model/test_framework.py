"""Framework files: the bundled ones load; each kind of mistake is reported with file, line, field, value."""

from __future__ import annotations

from pathlib import Path

import pytest

from kizuna.errors import DataError, UnknownId
from kizuna.model.framework import (
    Effect,
    Framework,
    bundled_framework_ids,
    check_framework_file,
    load_framework,
)

#: A small valid framework; tests break one thing in it at a time.
#: A small valid framework; tests break one thing in it at a time.
MINIMAL = (Path(__file__).parents[1] / "authority" / "fixtures" / "tiny-framework.yaml").read_text(
    encoding="utf-8"
)


def write(tmp_path: Path, text: str, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    framework, problems = check_framework_file(write(tmp_path, text))
    assert framework is None
    return [str(p) for p in problems]


def line_of_text(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("framework_id", bundled_framework_ids())
def test_bundled_frameworks_load(framework_id: str) -> None:
    fw = load_framework(framework_id)
    assert isinstance(fw, Framework)
    assert fw.id == framework_id
    assert fw.rules
    assert fw.approvals


def test_the_minimal_framework_is_valid(tmp_path: Path) -> None:
    fw, problems = check_framework_file(write(tmp_path, MINIMAL))
    assert problems == []
    assert fw is not None
    assert [r.effect for r in fw.rules] == [Effect.PROHIBIT, Effect.ALLOW]
    assert fw.rules[1].line == line_of_text(MINIMAL, "id: fight-in-war")


def test_unknown_top_level_key_names_file_line_and_the_valid_keys(tmp_path: Path) -> None:
    text = MINIMAL + "colour: blue\n"
    [message] = problems_of(tmp_path, text)
    assert f"tiny.yaml:{line_of_text(text, 'colour')}: colour: unknown key" in message
    assert "situations" in message


def test_unknown_key_in_a_rule(tmp_path: Path) -> None:
    text = MINIMAL.replace("    reason: War needs", "    colour: red\n    reason: War needs")
    [message] = problems_of(tmp_path, text)
    assert f":{line_of_text(text, 'colour: red')}: rules[fight-in-war].colour: unknown key" in message
    assert "approvals" in message


def test_unknown_id_in_a_rule_condition_names_the_known_ones(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "when: {situation: war, activity: fight}", "when: {situation: warr, activity: fight}"
    )
    [message] = problems_of(tmp_path, text)
    assert "rules[fight-in-war].when.situation: unknown situation id (got 'warr')" in message
    assert "one of calm, war" in message
    assert f"tiny.yaml:{line_of_text(text, 'id: fight-in-war')}:" in message


def test_unknown_flag_and_approval_ids(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "when: {situation: war, activity: fight}", "when: {situation: war, activity: fight, flags: [hurry]}"
    ).replace("approvals: [plan, vote]", "approvals: [plan, ballot]")
    messages = problems_of(tmp_path, text)
    assert any("when.flags.all: unknown flag id (got 'hurry')" in m for m in messages)
    assert any(
        "approvals: unknown approval id (got 'ballot')" in m and "one of plan, vote" in m for m in messages
    )


def test_unknown_source_key(tmp_path: Path) -> None:
    text = MINIMAL.replace('article: "3", source: K 9', 'article: "3", source: Q 9')
    [message] = problems_of(tmp_path, text)
    assert "rules[fight-in-war].citations: unknown source key (got 'Q')" in message


def test_missing_citation_and_reason(tmp_path: Path) -> None:
    text = MINIMAL.replace('    citations: [{law: Act, article: "3", source: K 9}]\n', "").replace(
        "    reason: War needs a plan and a vote.\n", ""
    )
    messages = problems_of(tmp_path, text)
    assert any("rules[fight-in-war].reason: missing required key" in m for m in messages)
    assert any("rules[fight-in-war].citations: missing required key" in m for m in messages)


def test_duplicate_ids(tmp_path: Path) -> None:
    text = MINIMAL.replace("  - {id: fight, name: Fight", "  - {id: patrol, name: Fight")
    messages = problems_of(tmp_path, text)
    assert any("activities[patrol]: duplicate id" in m and "first at line" in m for m in messages)


def test_prerequisites_must_come_first(tmp_path: Path) -> None:
    text = MINIMAL.replace("    prerequisites: [plan]\n", "").replace(
        "  - id: plan\n    name: Plan\n", "  - id: plan\n    name: Plan\n    prerequisites: [vote]\n"
    )
    messages = problems_of(tmp_path, text)
    assert any("approvals[plan].prerequisites: a prerequisite is listed after" in m for m in messages)


def test_an_approval_that_may_not_follow_cannot_be_deferred(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    prerequisites: [plan]\n", "    prerequisites: [plan]\n    may_follow: false\n"
    ) + (
        "  - id: vote-later\n    effect: defer\n    when: {flags: [urgent]}\n    approvals: [vote]\n"
        "    reason: Vote later.\n    citations: [{law: Act, source: K 9}]\n"
    )
    [message] = problems_of(tmp_path, text)
    assert "rules[vote-later].approvals: the law never lets this approval come after acting" in message


def test_effect_specific_fields(tmp_path: Path) -> None:
    text = MINIMAL.replace("    effect: allow\n", "    effect: prohibit\n")
    [message] = problems_of(tmp_path, text)
    assert "a prohibit rule lists no approvals" in message


def test_a_condition_is_a_list_or_not(tmp_path: Path) -> None:
    text = MINIMAL.replace("when: {situation: war, activity: fight}", "when: {situation: {only: war}}")
    [message] = problems_of(tmp_path, text)
    assert "rules[fight-in-war].when.situation" in message
    assert "{not: [ids]}" in message


def test_not_a_mapping_and_not_yaml(tmp_path: Path) -> None:
    assert "a framework file is a mapping" in problems_of(tmp_path, "- just\n- a list\n")[0]
    assert "not valid YAML" in problems_of(tmp_path, "id: [unclosed\n")[0]


def test_load_framework_raises_dataerror_and_unknownid(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_framework(write(tmp_path, MINIMAL + "colour: blue\n"))
    assert info.value.problems[0].field == "colour"
    with pytest.raises(UnknownId) as unknown:
        load_framework("no-such-framework")
    assert "japan-2015" in str(unknown.value)
