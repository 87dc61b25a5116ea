"""The structure file format as pydantic models, and the JSON Schema users' editors validate against.

A structure file takes one of two forms (see `kizuna.model.loading`):

- *base*: metadata plus the lists `nations`, `sites`, `organizations`, `relations`;
- *derived*: metadata plus `extends:` and the sections `add:`, `change:` (partial entries: the identity
  plus the fields that change) and `remove:` (identities).

The loader does the real validation (references, command cycles, sources, with lines); the schema lets an
editor catch typos and wrong types as a person writes. `structure_file_schema()` is what
`kizuna schema structure` prints.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from kizuna.model.ids import Ident
from kizuna.model.loading import SECTIONS
from kizuna.model.structure import Era, Nation, Organization, Relation, RelationKind, Site

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_ID = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_RELATION_KEY = rf"^{_ID} (?:{'|'.join(k.value for k in RelationKind)}) {_ID}$"
RelationKey = Annotated[
    str, Field(pattern=_RELATION_KEY, description="A relation's identity: 'FROM KIND TO'.")
]


class _Meta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Ident = Field(description="The structure's id (kebab-case), used by `extends:` and the CLI.")
    name: str = Field(min_length=1)
    description: str = ""
    era: Era = Field(description="The period the structure describes.")
    hypothetical: bool = Field(default=False, description="True for a structure that never existed.")
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="Source keys used by `source:` fields, each with its document title or URL.",
    )


class BaseStructureFile(_Meta):
    """A structure written out in full: every nation, site, organization and relation."""

    model_config = ConfigDict(title="Base structure file")

    nations: list[Nation] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    organizations: list[Organization] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)


class AddSections(BaseModel):
    """New entities, written in full."""

    model_config = ConfigDict(extra="forbid")

    nations: list[Nation] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    organizations: list[Organization] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)


class ChangeSections(BaseModel):
    """Partial entities: the identity (`id`, or `from`/`kind`/`to`) plus the fields that change."""

    model_config = ConfigDict(extra="forbid")

    nations: list[dict[str, Any]] = Field(default_factory=list)
    sites: list[dict[str, Any]] = Field(default_factory=list)
    organizations: list[dict[str, Any]] = Field(default_factory=list)
    relations: list[dict[str, Any]] = Field(default_factory=list)


class RemoveSections(BaseModel):
    """Identities of entities of the extended structure to drop."""

    model_config = ConfigDict(extra="forbid")

    nations: list[Ident] = Field(default_factory=list)
    sites: list[Ident] = Field(default_factory=list)
    organizations: list[Ident] = Field(default_factory=list)
    relations: list[RelationKey] = Field(default_factory=list)


class DerivedStructureFile(_Meta):
    """A structure written as the changes to another one (`extends:`)."""

    model_config = ConfigDict(title="Derived structure file")

    extends: str = Field(
        min_length=1, description="The structure this one changes: a bundled id or a path to its file."
    )
    add: AddSections | None = None
    change: ChangeSections | None = None
    remove: RemoveSections | None = None


#: The model of each entity section, with the keys that identify an entry of it.
_IDENTITY: dict[str, tuple[str, ...]] = {
    "nations": ("id",),
    "sites": ("id",),
    "organizations": ("id",),
    "relations": ("from", "kind", "to"),
}
_ENTITY_DEFS = {section: model.__name__ for section, model in SECTIONS.items()}


def structure_file_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a structure file, base or derived."""
    adapter: TypeAdapter[BaseStructureFile | DerivedStructureFile] = TypeAdapter(
        BaseStructureFile | DerivedStructureFile
    )
    schema = adapter.json_schema(by_alias=True)
    defs: dict[str, Any] = schema["$defs"]
    for name in _ENTITY_DEFS.values():
        entity = defs[name]
        entity["properties"]["source"] = {
            "description": entity["properties"]["source"].get("description", ""),
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}},
            ],
        }
    for section, name in _ENTITY_DEFS.items():
        partial = copy.deepcopy(defs[name])
        partial["title"] = f"{name} change"
        partial["required"] = list(_IDENTITY[section])
        defs[f"{name}Change"] = partial
        defs["ChangeSections"]["properties"][section]["items"] = {"$ref": f"#/$defs/{name}Change"}
        defs[name]["anyOf"] = [{"required": ["source"]}, {"required": ["assumption"]}]
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": "https://kizuna.invalid/schema/structure.json",
        "title": "Kizuna structure file",
        "description": "One era of an alliance's structure: a base file, or a file that extends another.",
        **schema,
    }
