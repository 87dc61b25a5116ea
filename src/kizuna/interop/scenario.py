"""A scenario written back to YAML: the file the loader reads, with every `source:` and `assumption:` kept.

Used to save the scenario an MSEL describes and the calibrated scenario an after-action review derives.
The written file loads with `kizuna.model.load_scenario` and gives an equal scenario (a test says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kizuna.model.scenario import Scenario
from kizuna.model.yamlfile import dump_yaml


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """Return a scenario as plain data in the file format (defaults and empty entries left out)."""
    data = scenario.model_dump(mode="json", exclude={"file"}, exclude_defaults=True)
    data["id"] = scenario.id
    data["name"] = scenario.name
    data["start"] = scenario.start.isoformat()
    pruned: dict[str, Any] = _prune(data)
    return pruned


def _prune(node: Any) -> Any:
    """Drop None values, which the file format writes by leaving the key out.

    Empty mappings stay: `duty: {}` is a 24/7 watch that overrides office-hour defaults.
    """
    if isinstance(node, dict):
        return {k: _prune(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_prune(v) for v in node]
    return node


def write_scenario(scenario: Scenario, path: str | Path, *, header: str = "") -> Path:
    """Write a scenario as YAML (with `header` as leading comment lines); return the path."""
    out = Path(path)
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    out.write_text(comment + dump_yaml(scenario_data(scenario)), encoding="utf-8")
    return out
