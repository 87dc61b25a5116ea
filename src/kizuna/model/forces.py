"""Forces as data: units with their nation, site, parent, capabilities, readiness and capacity.

A forces file belongs to one structure (`structure: us-japan-2025`): units sit at the structure's sites (or
at sites the file adds), hang under its organizations (`parent:`, or another unit of the file), and a unit
whose id is an organization of the structure *is* that organization. The file also defines the two
vocabularies plans use: `capabilities` (air and missile defense, anti-ship strike, ISR, ...) and
`mission_kinds` (BMD, island defense, ...), each kind naming the authority activity it is for the law.

```yaml
id: us-japan-2025
name: Forces in and around Japan, 2025
structure: us-japan-2025
capabilities:                  # every source: key resolves in the sources catalog
  - {id: anti-ship-strike, name: Anti-ship strike, source: DOJ24}
mission_kinds:
  - id: island-defense
    name: Island defense
    activity: {default: defensive-positions, armed-attack: use-of-force}
    needs: [island-defense]
    source: G15 IV.C.2
sites: []                      # sites the structure lacks (same keys as a structure's sites)
units:
  - id: ishigaki-ssm-unit
    name: Surface-to-ship missile unit, Ishigaki
    nation: jp
    actor: gsdf                # who acts, for the authority engine
    site: ishigaki
    parent: yaeyama-area-security-force
    capabilities: [anti-ship-strike]
    readiness_h: 6             # hours from tasking to ready
    capacity: 1                # missions it can take at once (in one phase)
    reach_km: 200              # radius it covers from where it stands
    speed_kmh: 0               # how fast it moves to a mission's area (0: it stays at its site)
    mobility: land             # land (the default), sea or air: a land unit cannot stand at sea
    source: [ISG, DOJ24]
```

Every entity carries `source:` or `assumption:`. `load_forces` reports every problem at once with file,
line, field, value and what was expected; activity and actor ids are checked against the frameworks when
a plan is solved (`kizuna.planning.assign`), because the model layer knows no law.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from kizuna.errors import DataError, Problem, UnknownId
from kizuna.model.ids import Ident
from kizuna.model.provenance import Provenanced
from kizuna.model.recompute import Recomputed
from kizuna.model.sources import Source
from kizuna.model.structure import Site, Structure
from kizuna.model.validation import (
    duplicate_ids,
    field_name,
    index_of,
    known_sample,
    line_at,
    pydantic_problems,
    raw_ids,
    read_source_table,
    validate_items,
    with_cited_sources,
)
from kizuna.model.yamlfile import line_of, lines_of, plain, read_yaml

#: The key of a mission kind's `activity` mapping that applies in situations it does not name.
DEFAULT = "default"


class Capability(Provenanced):
    """Something a unit can contribute to a mission (a vocabulary defined in the data)."""

    id: Ident
    name: str = Field(min_length=1)
    description: str = ""


class MissionKind(Provenanced):
    """A kind of mission: the authority activity it is, and the capabilities it needs by default.

    `activity` is one activity id, or a mapping from situation to activity with a `default` entry
    (air defense is a response to an airspace violation in peacetime and a use of force in an armed
    attack situation). `actors`, when given, limits the actors that may take the mission (protection of
    U.S. ships is the SDF's).
    """

    id: Ident
    name: str = Field(min_length=1)
    description: str = ""
    activity: Ident | dict[Ident, Ident]
    needs: tuple[Ident, ...] = Field(default=(), description="Capabilities needed, one unit each.")
    supported: Ident | None = Field(
        default=None,
        description="Whose forces the mission supports or protects; None: not stated (no default decides "
        "the law: a mission whose ruling depends on it must state it).",
    )
    actors: tuple[Ident, ...] = Field(default=(), description="Only these actors (and their services).")

    @field_validator("activity")
    @classmethod
    def _has_default(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        if isinstance(value, dict) and DEFAULT not in value:
            raise ValueError("a mapping of situation to activity needs a `default:` entry")
        return value

    def activity_in(self, situation: str) -> str:
        """Return the authority activity this kind of mission is in a situation."""
        if isinstance(self.activity, str):
            return self.activity
        return self.activity.get(situation, self.activity[DEFAULT])

    def activities(self) -> tuple[str, ...]:
        """Return every activity id the kind may stand for."""
        return (self.activity,) if isinstance(self.activity, str) else tuple(self.activity.values())


class Unit(Provenanced):
    """A unit: who it belongs to, where it is, what it can do, how soon, and how much at once."""

    id: Ident
    name: str = Field(min_length=1)
    name_ja: str | None = None
    nation: Ident
    actor: Ident = Field(description="Who acts, for the law: gsdf, msdf, asdf, jcg, us-forces, ...")
    site: Ident = Field(description="Where the unit is: a site of the structure or of this file.")
    parent: Ident = Field(description="An organization of the structure, or another unit of this file.")
    capabilities: tuple[Ident, ...] = Field(min_length=1)
    readiness_h: float = Field(ge=0, description="Hours from tasking until the unit is ready.")
    capacity: int = Field(ge=1, description="Missions the unit can take at once (within one phase).")
    speed_kmh: float = Field(
        default=0.0, ge=0, description="How fast it moves to a mission's area; 0: it stays at its site."
    )
    mobility: Literal["land", "sea", "air"] = Field(
        default="land",
        description="How it moves and where it can stand: a land unit cannot stand at sea, so it covers a "
        "sea area only from its own site, within its reach.",
    )
    reach_km: float = Field(default=0.0, ge=0, description="The radius it covers from where it stands.")
    note: str | None = None


class Forces(Recomputed):
    """The forces of one structure, with the capability and mission-kind vocabularies plans use.

    `sites` holds every site a unit may stand at: the structure's, then the file's own. `executor` maps
    each unit to the organization of the structure that acts for it (the unit itself where the structure
    has it, else its nearest ancestor that the structure has), which is who a tasking is addressed to.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Ident
    name: str = Field(min_length=1)
    description: str = ""
    structure: str = Field(description="The structure (bundled id or path) the units belong to.")
    sources: dict[str, Source] = Field(
        default_factory=dict,
        description="The documents cited, by key: the file's own `sources:` entries, then the catalog's.",
    )
    capabilities: tuple[Capability, ...] = Field(min_length=1)
    mission_kinds: tuple[MissionKind, ...] = ()
    sites: tuple[Site, ...] = ()
    units: tuple[Unit, ...] = Field(min_length=1)
    executor: dict[str, str] = Field(default_factory=dict)
    file: str | None = None

    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @cached_property
    def unit_by_id(self) -> dict[str, Unit]:
        """Units by id."""
        return {u.id: u for u in self.units}

    @cached_property
    def capability_by_id(self) -> dict[str, Capability]:
        """Capabilities by id."""
        return {c.id: c for c in self.capabilities}

    @cached_property
    def kind_by_id(self) -> dict[str, MissionKind]:
        """Mission kinds by id."""
        return {k.id: k for k in self.mission_kinds}

    @cached_property
    def site_by_id(self) -> dict[str, Site]:
        """Sites by id (the structure's and the file's)."""
        return {s.id: s for s in self.sites}

    def unit(self, unit_id: str) -> Unit:
        """Return a unit by id, or raise UnknownId naming the known ones."""
        try:
            return self.unit_by_id[unit_id]
        except KeyError:
            raise UnknownId("unit", unit_id, self.unit_by_id) from None

    def site_of(self, unit_id: str) -> Site:
        """Return the site a unit stands at."""
        return self.site_by_id[self.unit(unit_id).site]

    def line(self, path: str) -> int | None:
        """Return the line of a dotted field path in the file ('units.3.actor'), or of its nearest parent."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path.rpartition(".")[0]
        return None


# -- loading ------------------------------------------------------------------------------------------

#: The entity sections of a forces file, with the model of each.
_SECTIONS: dict[str, type[BaseModel]] = {
    "capabilities": Capability,
    "mission_kinds": MissionKind,
    "sites": Site,
    "units": Unit,
}


def load_forces(ref: str | Path) -> Forces:
    """Load and validate a forces file by bundled id (e.g. `us-japan-2025`) or path.

    Raises:
        DataError: the file is invalid; every problem is listed with its line.
        UnknownId: `ref` is not a file and not a bundled forces id.
    """
    from kizuna.model.loading import load_checked

    return load_checked(ref, kind="forces", check=check_forces_file)


def check_forces_file(path: str | Path) -> tuple[Forces | None, list[Problem]]:
    """Validate one forces file; return the forces (None when invalid) and every problem found."""
    file = str(path)
    try:
        root = read_yaml(path)
    except DataError as err:
        return None, list(err.problems)
    if not isinstance(root, dict):
        keys = ", ".join(k for k in Forces.model_fields if k not in {"executor", "file"})
        return None, [Problem(file, 1, "(top level)", "a forces file is a mapping", expected=keys)]
    problems: list[Problem] = []
    sources = read_source_table(file, root, problems)
    data = plain(root)
    data["sources"] = with_cited_sources(file, root, sources, problems)
    for key in ("executor", "file"):
        if key in data:
            problems.append(Problem(file, line_of(root, key), key, "unknown key (set by the loader)"))
            data.pop(key)
    data["file"] = file
    # Entities one by one, so that one bad entity does not hide the problems of the others.
    checked = len(problems)
    items: dict[str, list[Any]] = {
        section: validate_items(file, root, section, model, problems) for section, model in _SECTIONS.items()
    }
    failed = frozenset(s for s in _SECTIONS if any(p.field.startswith(s) for p in problems[checked:]))
    data.update({s: [i.model_dump() for i in v] for s, v in items.items() if s in data})
    forces: Forces | None = None
    try:
        forces = Forces.model_validate(data)
    except ValidationError as err:
        problems.extend(pydantic_problems(file, root, err, Forces, skip=failed))
    for section in _SECTIONS:
        problems.extend(duplicate_ids(file, root, section))
    structure_ref = data.get("structure")
    partial = forces or Forces.model_construct(**{**data, **items, "executor": {}})
    if isinstance(structure_ref, str):
        structure = _structure(file, root, structure_ref, Path(file).parent, problems)
        if structure is not None:
            checked_forces = _cross_check(file, root, partial, structure, problems)
            forces = checked_forces if forces is not None else None
    if forces is not None:
        forces._lines.update(lines_of(root))
    problems = sorted(set(problems), key=lambda p: (p.line or 0, p.field))
    return (forces if not problems else None), problems


def _structure(file: str, root: Any, ref: str, base: Path, problems: list[Problem]) -> Structure | None:
    from kizuna.model.loading import load_structure, resolve

    try:
        return load_structure(resolve(ref, relative_to=base) if looks_like_path(ref) else ref)
    except UnknownId as err:
        problems.append(Problem(file, line_of(root, "structure"), "structure", str(err), ref))
    except DataError as err:
        problems.append(
            Problem(
                file,
                line_of(root, "structure"),
                "structure",
                f"the structure is invalid ({len(err.problems)} problem(s); run `kizuna structure validate`)",
                ref,
            )
        )
    return None


def _cross_check(
    file: str, root: Any, forces: Forces, structure: Structure, problems: list[Problem]
) -> Forces | None:
    """Check references against the structure and the file's vocabularies; resolve sites and executors."""
    before = len(problems)

    def bad(loc: tuple[Any, ...], message: str, value: object, expected: str) -> None:
        # Entities are numbered by their place in the file (invalid ones were left out of `forces`).
        section, position, *rest = loc
        entity = getattr(forces, section)[position]
        where = (section, index_of(root, section, entity.id, position), *rest)
        problems.append(
            Problem(file, line_at(root, where), field_name(root, where), message, value, expected)
        )

    for i, site in enumerate(forces.sites):
        if site.id in structure.site_by_id:
            bad(("sites", i, "id"), f"site already defined by {structure.id}", site.id, "a new site id")
    # Ids defined but invalid still count as defined, so that one bad entity does not cascade.
    sites = set(structure.site_by_id) | raw_ids(root, "sites")
    capabilities = set(forces.capability_by_id) | raw_ids(root, "capabilities")
    nations = set(structure.nation_by_id)
    units = set(forces.unit_by_id) | raw_ids(root, "units")
    orgs = set(structure.org_by_id)
    for i, kind in enumerate(forces.mission_kinds):
        for j, need in enumerate(kind.needs):
            if need not in capabilities:
                bad(("mission_kinds", i, "needs", j), "unknown capability", need, known_sample(capabilities))
    for i, unit in enumerate(forces.units):
        if unit.site not in sites:
            bad(
                ("units", i, "site"),
                "unknown site id",
                unit.site,
                f"a site of {structure.id} or of this file",
            )
        if unit.nation not in nations:
            bad(("units", i, "nation"), "unknown nation id", unit.nation, known_sample(nations))
        if unit.parent not in orgs | units:
            bad(
                ("units", i, "parent"),
                "unknown parent",
                unit.parent,
                f"an organization of {structure.id} or a unit of this file",
            )
        if unit.parent == unit.id:
            bad(("units", i, "parent"), "a unit cannot be its own parent", unit.parent, "another unit")
        if unit.id in orgs and structure.org(unit.id).nation != unit.nation:
            bad(
                ("units", i, "nation"),
                f"{unit.id} is an organization of {structure.id} of nation {structure.org(unit.id).nation}",
                unit.nation,
                structure.org(unit.id).nation,
            )
        for j, cap in enumerate(unit.capabilities):
            if cap not in capabilities:
                bad(("units", i, "capabilities", j), "unknown capability", cap, known_sample(capabilities))
    executor: dict[str, str] = {}
    for i, unit in enumerate(forces.units):
        seen = [unit.id]
        current = unit.id
        while current not in orgs:
            parent = forces.unit_by_id[current].parent if current in forces.unit_by_id else None
            if parent is None or parent in seen:
                if parent in seen:
                    bad(
                        ("units", i, "parent"),
                        "units are each other's parents in a cycle",
                        unit.parent,
                        "a chain of parents that ends at an organization of the structure",
                    )
                break
            seen.append(parent)
            current = parent
        else:
            executor[unit.id] = current
    if len(problems) > before:
        return None
    merged = (*structure.sites, *forces.sites)
    return forces.model_copy(update={"sites": merged, "executor": executor})


def looks_like_path(ref: str) -> bool:
    """Tell whether a data reference is a file path (resolved beside the file) rather than a bundled id."""
    return ref.endswith((".yaml", ".yml")) or "/" in ref
