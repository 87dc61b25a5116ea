"""The emitted JSON Schema accepts every real structure file and rejects what an editor should flag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kizuna.model import bundled_dir
from kizuna.model.schema import structure_file_schema
from kizuna.model.yamlfile import plain, read_yaml

ROOT = Path(__file__).resolve().parents[2]
STRUCTURE_FILES = sorted(
    [
        *bundled_dir().glob("*.yaml"),
        *(ROOT / "docs" / "examples").glob("us-rok-*.yaml"),
        *(Path(__file__).parent / "fixtures").glob("twin-*.yaml"),
    ]
)


def _json(path: Path) -> Any:
    """The file as JSON would hold it (YAML dates become ISO strings)."""
    return json.loads(json.dumps(plain(read_yaml(path)), default=str))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = structure_file_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_there_are_files_of_both_forms() -> None:
    forms = {"extends" in _json(p) for p in STRUCTURE_FILES}
    assert forms == {True, False}
    assert any(p.parent == bundled_dir() for p in STRUCTURE_FILES)


@pytest.mark.parametrize("path", STRUCTURE_FILES, ids=lambda p: p.name)
def test_every_structure_file_validates(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_json(path))]
    assert errors == []


def _base() -> dict[str, Any]:
    return {
        "id": "tiny",
        "name": "Tiny",
        "era": {"valid_from": "2020-01-01"},
        "sources": {"DOC": "a document"},
        "nations": [{"id": "aa", "name": "A", "code": "XAA", "source": "DOC"}],
        "organizations": [
            {"id": "a-gov", "name": "Gov", "nation": "aa", "kind": "government", "source": "DOC"}
        ],
        "relations": [],
    }


def test_a_minimal_file_validates(validator: jsonschema.Draft202012Validator) -> None:
    validator.validate(_base())


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["organizations"][0].update(colour="blue"), "unknown key"),
        (lambda d: d["organizations"][0].update(kind="brigade"), "unknown kind"),
        (lambda d: d["organizations"][0].pop("source"), "no source or assumption"),
        (lambda d: d["organizations"][0].update(id="Not Kebab"), "bad id"),
        (lambda d: d.update(add={"organizations": []}), "add: without extends"),
        (
            lambda d: d["relations"].append({"from": "a-gov", "kind": "rules", "to": "x", "source": "DOC"}),
            "kind",
        ),
        (lambda d: d.pop("era"), "missing era"),
    ],
)
def test_mistakes_are_flagged(validator: jsonschema.Draft202012Validator, mutate: Any, where: str) -> None:
    data = _base()
    mutate(data)
    assert not validator.is_valid(data), where


def test_derived_files_take_partial_changes_and_relation_keys(
    validator: jsonschema.Draft202012Validator,
) -> None:
    derived = {
        "id": "later",
        "name": "Later",
        "extends": "tiny",
        "era": {"valid_from": "2021-01-01"},
        "change": {"organizations": [{"id": "a-gov", "name": "Renamed"}]},
        "remove": {"relations": ["a-gov commands a-cmd"]},
    }
    validator.validate(derived)
    derived["remove"] = {"relations": ["a-gov rules a-cmd"]}
    assert not validator.is_valid(derived)
    derived["remove"] = {}
    derived["change"] = {"organizations": [{"name": "no id"}]}
    assert not validator.is_valid(derived)


def test_a_single_source_string_or_a_list_is_accepted(validator: jsonschema.Draft202012Validator) -> None:
    data = _base()
    data["organizations"][0]["source"] = ["DOC §1", "DOC §2"]
    validator.validate(data)
