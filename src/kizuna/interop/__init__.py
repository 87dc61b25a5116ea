"""Adapters between Kizuna's objects and the file formats other tools use.

`kizuna.interop.msel` reads and writes a Master Scenario Events List (MSEL) as `.xlsx` or `.csv`, turns a
scenario into an MSEL and an MSEL with request rows back into a scenario; `kizuna.interop.scenario`
writes a scenario back to YAML that the loader reads.
"""

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
    "write_msel",
    "write_scenario",
]
