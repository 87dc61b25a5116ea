"""Benchmarks: each prints its figures beside a reference measured in the same run."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True)

#: (name, module, function). Each area registers its benchmark command here with one line.
_BENCHES: list[tuple[str, str, str]] = [
    ("authority", "kizuna.cli.authority", "bench"),
    ("store", "kizuna.cli.db", "bench_store"),
    ("sim", "kizuna.cli.sim_bench", "bench_sim"),
    ("service", "kizuna.cli.service_bench", "bench_service"),
    ("web", "kizuna.cli.web_bench", "bench_web"),
    ("exercise", "kizuna.cli.exercise", "bench_exercise"),
    ("fusion", "kizuna.cli.fusion_bench", "bench_fusion"),
    ("plan", "kizuna.cli.plan", "bench_plan"),
]

for _name, _module, _attr in _BENCHES:
    app.command(_name)(getattr(importlib.import_module(_module), _attr))
