"""Documents and figures made from the model: org charts, terminal renderings, the demo's era comparison."""

from kizuna.report.comparison import (
    US_JAPAN,
    Counterparts,
    EraComparison,
    EraRoute,
    compare_eras,
    counterpart_route,
    write_orgcharts,
)
from kizuna.report.orgchart import ChartLayout, chart_layout, draw_orgchart
from kizuna.report.terminal import chain_lines, diff_lines, route_lines, structure_tables

__all__ = [
    "ChartLayout",
    "Counterparts",
    "EraComparison",
    "EraRoute",
    "US_JAPAN",
    "chain_lines",
    "chart_layout",
    "compare_eras",
    "counterpart_route",
    "diff_lines",
    "draw_orgchart",
    "route_lines",
    "structure_tables",
    "write_orgcharts",
]
