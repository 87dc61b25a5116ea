"""Documents and figures from the model: org charts, terminal views, era comparison, simulation report."""

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
from kizuna.report.simulation import (
    compile_paths,
    render_simulation_report,
    simulate_and_report,
    write_report,
    write_simulation_report,
)
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
    "compile_paths",
    "counterpart_route",
    "diff_lines",
    "draw_orgchart",
    "render_simulation_report",
    "route_lines",
    "simulate_and_report",
    "structure_tables",
    "write_orgcharts",
    "write_report",
    "write_simulation_report",
]
