"""Frozen domain types and their YAML loaders: structures (and, in later modules, frameworks, scenarios)."""

from kizuna.model.ids import BILATERAL, ApprovalId, NationId, OrgId, SiteId, SourceKey, StructureId
from kizuna.model.loading import bundled_dir, bundled_ids, check_structure_file, load_structure, resolve
from kizuna.model.provenance import Provenanced
from kizuna.model.request import RequestSpec
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
    "BILATERAL",
    "Era",
    "Nation",
    "NationId",
    "OrgId",
    "OrgKind",
    "Organization",
    "Provenanced",
    "Relation",
    "RelationKind",
    "RequestSpec",
    "Site",
    "SiteId",
    "SourceKey",
    "Structure",
    "StructureId",
    "bundled_dir",
    "bundled_ids",
    "check_structure_file",
    "load_structure",
    "resolve",
]
