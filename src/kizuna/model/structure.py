"""The alliance structure: nations, organizations, the relations between them, and the sites they sit at.

A Structure is one era of an alliance (valid from/to) with the documents it cites. Structures are frozen;
a later era is written as a file that `extends:` an earlier one (see `kizuna.model.loading`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kizuna.model.ids import BILATERAL, Ident
from kizuna.model.provenance import Provenanced
from kizuna.model.recompute import Recomputed
from kizuna.model.sources import Source


class OrgKind(StrEnum):
    """What kind of body an organization is."""

    GOVERNMENT = "government"
    MINISTRY = "ministry"
    LEGISLATURE = "legislature"
    COUNCIL = "council"
    COMMAND = "command"
    STAFF = "staff"
    COORDINATION_BODY = "coordination-body"
    UNIT = "unit"
    EMBASSY = "embassy"


class RelationKind(StrEnum):
    """How one organization stands to another. Read a relation as `from KIND to`."""

    COMMANDS = "commands"  # operational control over `to`
    TACTICAL_CONTROL = "tactical-control"
    ADMINISTRATIVE_CONTROL = "administrative-control"
    REPORTS_TO = "reports-to"
    COORDINATES_WITH = "coordinates-with"
    LIAISON = "liaison"
    MEMBER_OF = "member-of"
    SUPPORTS = "supports"

    @property
    def is_hierarchical(self) -> bool:
        """Tell whether the relation puts one organization above the other."""
        return self in _HIERARCHICAL

    @property
    def points_down(self) -> bool:
        """Tell whether `from` is the superior (commands) rather than the subordinate (reports-to)."""
        return self in _DOWNWARD


_DOWNWARD = frozenset(
    {RelationKind.COMMANDS, RelationKind.TACTICAL_CONTROL, RelationKind.ADMINISTRATIVE_CONTROL}
)
_HIERARCHICAL = _DOWNWARD | {RelationKind.REPORTS_TO}


class Nation(Provenanced):
    """A member nation of the alliance."""

    id: Ident
    name: str = Field(min_length=1)
    name_ja: str | None = Field(default=None, description="Japanese name, where one exists.")
    code: str = Field(
        pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 code, as used in REL TO markings."
    )


class Site(Provenanced):
    """A place an organization sits at, with its coordinates and IANA time zone."""

    id: Ident
    name: str = Field(min_length=1)
    name_ja: str | None = None
    latitude: float = Field(ge=-90.0, le=90.0, description="Degrees north, WGS 84.")
    longitude: float = Field(ge=-180.0, le=180.0, description="Degrees east, WGS 84.")
    time_zone: str = Field(description="IANA time zone name, e.g. Asia/Tokyo.")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zones():
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Asia/Tokyo, Pacific/Honolulu)")
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.time_zone)


def _zones() -> set[str]:
    global _ZONES  # noqa: PLW0603 - a cache filled once on first use, not at import time
    if _ZONES is None:
        _ZONES = set(available_timezones())
        try:
            ZoneInfo("UTC")
        except ZoneInfoNotFoundError:  # pragma: no cover - tzdata missing on the host
            _ZONES.add("UTC")
    return _ZONES


_ZONES: set[str] | None = None


#: MIL-STD-2525D / APP-6D symbol sets a SIDC may name (digits 5-6).
SYMBOL_SETS = frozenset(
    {"01", "02", "05", "06", "10", "11", "15", "20", "25", "27", "30", "35", "36", "40", "45", "46", "47"}
    | {"50", "51", "52", "53", "54", "60"}
)


class Symbol(Provenanced):
    """An organization's map symbol: a MIL-STD-2525D (APP-6D) symbol identification code, with provenance.

    The SIDC has 20 digits: version (10 for 2525D, 11 for 2525E), context (0 reality, 1 exercise,
    2 simulation), standard identity, symbol set, status, headquarters/task force/dummy, echelon, the
    six-digit entity code and two modifiers. The data holds the reality context; a console showing an
    exercise sets the context digit to exercise.
    """

    sidc: str = Field(
        description="MIL-STD-2525D symbol identification code: 20 digits, e.g. 10031000261100000000."
    )

    @field_validator("sidc")
    @classmethod
    def _sidc(cls, value: str) -> str:
        if len(value) != 20 or not value.isdigit():
            raise ValueError(f"a SIDC has 20 digits (MIL-STD-2525D), not {value!r} ({len(value)} characters)")
        if value[0:2] not in {"10", "11"}:
            raise ValueError(f"SIDC {value}: version {value[0:2]} is not 10 (2525D) or 11 (2525E)")
        if value[2] not in "012":
            raise ValueError(
                f"SIDC {value}: context {value[2]} is not 0 (reality), 1 (exercise) or 2 (simulation)"
            )
        if value[3] not in "0123456":
            raise ValueError(f"SIDC {value}: standard identity {value[3]} is not one of 0-6")
        if value[4:6] not in SYMBOL_SETS:
            raise ValueError(
                f"SIDC {value}: symbol set {value[4:6]} is not one of {', '.join(sorted(SYMBOL_SETS))}"
            )
        if value[6] not in "012345":
            raise ValueError(f"SIDC {value}: status {value[6]} is not one of 0-5")
        return value


class Organization(Provenanced):
    """A government body, command, staff, coordination body, unit or embassy."""

    id: Ident
    name: str = Field(min_length=1)
    name_ja: str | None = Field(default=None, description="Japanese name, where one exists.")
    nation: Ident = Field(description=f"A nation id, or {BILATERAL!r} for a body of both nations.")
    kind: OrgKind
    symbol: Symbol | None = Field(
        default=None, description="The organization's MIL-STD-2525D map symbol (SIDC) with its provenance."
    )
    site: Ident | None = Field(default=None, description="Where the organization sits (a site id).")
    grants: tuple[Ident, ...] = Field(
        default=(), description="Approvals and roles this organization can grant (approval ids)."
    )
    staff: int | None = Field(default=None, ge=1, description="Approximate headcount, where known.")
    established: date | None = Field(default=None, description="Date the organization was set up.")
    note: str | None = None

    @property
    def is_bilateral(self) -> bool:
        """Tell whether the organization belongs to both nations."""
        return self.nation == BILATERAL


class Relation(Provenanced):
    """A directed relation between two organizations: `from KIND to`."""

    from_: Ident = Field(alias="from")
    kind: RelationKind
    to: Ident
    note: str | None = None

    @property
    def key(self) -> str:
        """A stable identity for the relation: 'from kind to'."""
        return f"{self.from_} {self.kind.value} {self.to}"

    @model_validator(mode="after")
    def _not_to_itself(self) -> Relation:
        if self.from_ == self.to:
            raise ValueError(f"an organization cannot relate to itself ({self.from_!r})")
        return self


class Era(BaseModel):
    """The period a structure describes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    valid_from: date
    valid_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Era:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class Structure(Recomputed):
    """One era of an alliance's structure: organizations, relations and sites, with their sources."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Ident
    name: str
    description: str = ""
    era: Era
    extends: Ident | None = Field(default=None, description="The structure this one was derived from.")
    hypothetical: bool = Field(default=False, description="True for a structure that never existed.")
    sources: dict[str, Source] = Field(
        default_factory=dict,
        description="The documents the structure cites, by key (the file's own table, then the catalog).",
    )
    nations: tuple[Nation, ...] = ()
    sites: tuple[Site, ...] = ()
    organizations: tuple[Organization, ...] = ()
    relations: tuple[Relation, ...] = ()

    @cached_property
    def org_by_id(self) -> dict[str, Organization]:
        """Organizations by id."""
        return {o.id: o for o in self.organizations}

    @cached_property
    def site_by_id(self) -> dict[str, Site]:
        """Sites by id."""
        return {s.id: s for s in self.sites}

    @cached_property
    def nation_by_id(self) -> dict[str, Nation]:
        """Nations by id."""
        return {n.id: n for n in self.nations}

    def org(self, org_id: str) -> Organization:
        """Return an organization by id, or raise UnknownId naming the known ones."""
        from kizuna.errors import UnknownId

        try:
            return self.org_by_id[org_id]
        except KeyError:
            raise UnknownId("organization", org_id, self.org_by_id) from None

    def site_of(self, org_id: str) -> Site | None:
        """Return the site of an organization, if it has one."""
        site = self.org(org_id).site
        return self.site_by_id.get(site) if site else None

    def granters(self, approval: str) -> tuple[Organization, ...]:
        """Return the organizations that can grant an approval."""
        return tuple(o for o in self.organizations if approval in o.grants)

    def to_data(self) -> dict[str, Any]:
        """Return the structure as plain data, in the flat file format (no `extends`)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data.pop("extends", None)
        return data
