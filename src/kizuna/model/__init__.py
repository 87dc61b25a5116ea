"""Frozen domain types and their YAML loaders: structures (and, in later modules, frameworks, scenarios)."""

from kizuna.model.ids import BILATERAL, ApprovalId, NationId, OrgId, SiteId, SourceKey, StructureId
from kizuna.model.loading import bundled_dir, bundled_ids, check_structure_file, load_structure, resolve
from kizuna.model.provenance import Provenanced
from kizuna.model.queries import (
    CommandLink,
    CoordinationRoute,
    chain_of_command,
    coordination_route,
    operational_authority,
    operational_commander,
)
from kizuna.model.request import RequestSpec
from kizuna.model.scenario import (
    Arrival,
    Deadline,
    DutyHours,
    Inject,
    InjectRequest,
    LinkClass,
    Network,
    Parameters,
    Route,
    Scenario,
    check_scenario_file,
    load_scenario,
)
from kizuna.model.schema import structure_file_schema
from kizuna.model.structure import (
    Era,
    Nation,
    Organization,
    OrgKind,
    Relation,
    RelationKind,
    Site,
    Structure,
)

__all__ = [
    "ApprovalId",
    "Arrival",
    "BILATERAL",
    "CommandLink",
    "CoordinationRoute",
    "Deadline",
    "DutyHours",
    "Era",
    "Inject",
    "InjectRequest",
    "LinkClass",
    "Nation",
    "NationId",
    "Network",
    "OrgId",
    "OrgKind",
    "Organization",
    "Parameters",
    "Provenanced",
    "Relation",
    "RelationKind",
    "RequestSpec",
    "Route",
    "Scenario",
    "Site",
    "SiteId",
    "SourceKey",
    "Structure",
    "StructureId",
    "bundled_dir",
    "bundled_ids",
    "chain_of_command",
    "check_scenario_file",
    "check_structure_file",
    "coordination_route",
    "load_scenario",
    "load_structure",
    "operational_authority",
    "operational_commander",
    "resolve",
    "structure_file_schema",
]
