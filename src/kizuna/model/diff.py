"""What changed between two structures: entities added, removed and changed, and operational authority moved.

The diff is how an era's reforms are read: `diff(us-japan-2015, us-japan-2025)` names JJOC's creation and
USFJ's new operational authority. Every entry carries the provenance (`source:` or `assumption:`) of the
entity in the structure that has it, so a reader can check each claimed change against its document.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kizuna.model.loading import SECTIONS
from kizuna.model.provenance import Provenanced
from kizuna.model.queries import operational_commander
from kizuna.model.sources import Source, cited_sources
from kizuna.model.structure import Relation, RelationKind, Structure


class ChangeKind(StrEnum):
    """How an entity differs between the two structures."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an entry's fact comes from: the entity's sources or assumption, in the structure that has it."""

    structure: str
    source: tuple[str, ...]
    assumption: str | None

    @classmethod
    def of(cls, structure: Structure, entity: Provenanced) -> Provenance:
        """Take the provenance of an entity of `structure`."""
        return cls(structure.id, entity.source, entity.assumption)

    def __str__(self) -> str:
        parts = []
        if self.source:
            parts.append("source: " + "; ".join(self.source))
        if self.assumption:
            parts.append("assumption: " + self.assumption)
        return " | ".join(parts)

    def to_data(self) -> dict[str, Any]:
        """Return plain data."""
        return {"structure": self.structure, "source": list(self.source), "assumption": self.assumption}


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of an entity with its value before and after (None where absent)."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class EntityChange:
    """A nation, site, organization or relation added, removed or changed."""

    section: str
    key: str
    change: ChangeKind
    label: str
    fields: tuple[FieldChange, ...]
    provenance: Provenance

    def to_data(self) -> dict[str, Any]:
        """Return plain data."""
        data: dict[str, Any] = {"key": self.key, "change": self.change.value, "label": self.label}
        if self.fields:
            data["fields"] = [{"field": f.field, "before": f.before, "after": f.after} for f in self.fields]
        data["provenance"] = self.provenance.to_data()
        return data


@dataclass(frozen=True, slots=True)
class AuthorityMove:
    """An organization whose operational commander (the holder of `commands` over it) differs."""

    org: str
    before: str | None
    after: str | None
    provenance: Provenance

    def to_data(self) -> dict[str, Any]:
        """Return plain data."""
        return {
            "org": self.org,
            "before": self.before,
            "after": self.after,
            "provenance": self.provenance.to_data(),
        }


@dataclass(frozen=True, slots=True)
class StructureDiff:
    """The differences from structure `before` to structure `after`."""

    before: Structure
    after: Structure
    changes: tuple[EntityChange, ...]
    authority_moved: tuple[AuthorityMove, ...]

    def of(self, section: str, change: ChangeKind) -> tuple[EntityChange, ...]:
        """Return the changes of one kind in one section (nations, sites, organizations, relations)."""
        return tuple(c for c in self.changes if c.section == section and c.change is change)

    @property
    def is_empty(self) -> bool:
        """Tell whether the two structures hold the same entities and authority."""
        return not self.changes and not self.authority_moved

    def cited(self) -> list[Source]:
        """Return the documents the diff's entries cite, each once, sorted by key."""
        refs = [r for c in self.changes for r in c.provenance.source]
        refs += [r for m in self.authority_moved for r in m.provenance.source]
        return cited_sources(refs, self.after.sources, self.before.sources)

    def to_data(self) -> dict[str, Any]:
        """Return the diff as plain data (the `--json` form), grouped by section and kind of change."""
        data: dict[str, Any] = {
            "before": {"id": self.before.id, "era": self.before.era.model_dump(mode="json")},
            "after": {"id": self.after.id, "era": self.after.era.model_dump(mode="json")},
        }
        for section in SECTIONS:
            data[section] = {kind.value: [c.to_data() for c in self.of(section, kind)] for kind in ChangeKind}
        data["authority_moved"] = [m.to_data() for m in self.authority_moved]
        data["sources"] = {source.key: source.to_json() for source in self.cited()}
        return data


def diff(before: Structure, after: Structure) -> StructureDiff:
    """Compare two structures entity by entity, and compare who holds operational control of whom."""
    changes: list[EntityChange] = []
    for section in SECTIONS:
        old = _by_key(getattr(before, section))
        new = _by_key(getattr(after, section))
        for key, entity in new.items():
            if key not in old:
                changes.append(
                    _entry(section=section, key=key, change=ChangeKind.ADDED, structure=after, entity=entity)
                )
            else:
                fields = _field_changes(old[key], entity)
                if fields:
                    changes.append(
                        _entry(
                            section=section,
                            key=key,
                            change=ChangeKind.CHANGED,
                            structure=after,
                            entity=entity,
                            fields=fields,
                        )
                    )
        changes.extend(
            _entry(section=section, key=key, change=ChangeKind.REMOVED, structure=before, entity=entity)
            for key, entity in old.items()
            if key not in new
        )
    return StructureDiff(before, after, tuple(changes), _authority_moves(before, after))


def _key(entity: Provenanced) -> str:
    return entity.key if isinstance(entity, Relation) else str(getattr(entity, "id", ""))


def _by_key(entities: tuple[Provenanced, ...]) -> dict[str, Provenanced]:
    return {_key(e): e for e in entities}


def _label(entity: Provenanced) -> str:
    if isinstance(entity, Relation):
        return entity.key
    return str(getattr(entity, "name", _key(entity)))


def _entry(
    *,
    section: str,
    key: str,
    change: ChangeKind,
    structure: Structure,
    entity: Provenanced,
    fields: tuple[FieldChange, ...] = (),
) -> EntityChange:
    return EntityChange(section, key, change, _label(entity), fields, Provenance.of(structure, entity))


def _field_changes(old: Provenanced, new: Provenanced) -> tuple[FieldChange, ...]:
    a = old.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    b = new.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    order = list(a) + [k for k in b if k not in a]
    return tuple(FieldChange(k, a.get(k), b.get(k)) for k in order if a.get(k) != b.get(k))


def _commands_into(structure: Structure, org_id: str) -> Relation | None:
    for rel in structure.relations:
        if rel.kind is RelationKind.COMMANDS and rel.to == org_id:
            return rel
    return None


def _authority_moves(before: Structure, after: Structure) -> tuple[AuthorityMove, ...]:
    moves: list[AuthorityMove] = []
    for org in after.organizations:
        if org.id not in before.org_by_id:
            continue
        old = operational_commander(before, org.id)
        new = operational_commander(after, org.id)
        old_id = old.id if old else None
        new_id = new.id if new else None
        if old_id == new_id:
            continue
        new_rel = _commands_into(after, org.id)
        old_rel = _commands_into(before, org.id)
        if new_rel is not None:
            provenance = Provenance.of(after, new_rel)
        else:
            assert old_rel is not None  # one of the two sides has a commander, or nothing moved
            provenance = Provenance.of(before, old_rel)
        moves.append(AuthorityMove(org.id, old_id, new_id, provenance))
    return tuple(moves)
