"""Adapters between Kizuna's objects and the file formats other tools use.

`kizuna.interop.msel` reads and writes a Master Scenario Events List (MSEL) as `.xlsx` or `.csv`, turns a
scenario into an MSEL and an MSEL with request rows back into a scenario; `kizuna.interop.scenario`
writes a scenario back to YAML that the loader reads; `kizuna.interop.geo` writes maps (GeoJSON, KML)
of a structure's sites and units; `kizuna.interop.cot` speaks Cursor on Target (CoT XML and TAK
Protocol v1) and writes fused tracks as GeoJSON/KML (import it by name: it needs takproto).
"""

from kizuna.interop.geo import MAP_FORMATS, structure_geojson, structure_kml, write_structure_map
from kizuna.interop.msel import (
    COLUMNS,
    REQUIRED,
    Msel,
    MselRow,
    format_time,
    msel_from_scenario,
    parse_marking,
    parse_time,
    read_msel,
    scenario_from_msel,
    write_msel,
)
from kizuna.interop.scenario import scenario_data, write_scenario

__all__ = [
    "COLUMNS",
    "MAP_FORMATS",
    "Msel",
    "MselRow",
    "REQUIRED",
    "format_time",
    "msel_from_scenario",
    "parse_marking",
    "parse_time",
    "read_msel",
    "scenario_data",
    "scenario_from_msel",
    "structure_geojson",
    "structure_kml",
    "write_msel",
    "write_scenario",
    "write_structure_map",
]
