"""Results a reader should not take at face value, with the assumption that drives each and its weight.

A comparison is flagged when a newer structure (a reform) is slower than the older one with the 95%
interval clear of zero, or no faster (the interval spans zero) although the request's path passes other
organizations under it (a request the reform does not touch, such as Japan's own designation procedure,
is not flagged). For each flagged comparison the organization that accounts for the difference is found in
the median replications (the hours each organization holds the request on its critical path, split into
waiting for staff, waiting for duty hours or a call-in, and work); the scenario parameter behind the
dominant part (duty hours, staff, or step durations) is named with its assumption or source; and the
comparison is simulated again with that parameter changed (duty hours to a 24-hour watch, staff doubled,
or step durations halved), so the finding says how much of the difference the assumption carries.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kizuna.model.scenario import Scenario
    from kizuna.model.structure import Structure
    from kizuna.sim.result import Comparison, GanttBar, SimResult

#: Replications of a sensitivity run (capped by the run's own count).
SENSITIVITY_REPLICATIONS = 2_000


@dataclass(frozen=True, slots=True)
class Finding:
    """A comparison that goes against the reform or does not favour it, and the assumption behind it."""

    request: str
    request_name: str
    structure: str  # the newer structure
    baseline: str  # the structure it is compared with
    diff_h: float  # mean time to effect, structure minus baseline
    ci_h: tuple[float, float]
    against: bool  # True: slower under the reform; False: no faster
    driver: str | None  # the organization that accounts for the difference
    driver_name: str
    part: str  # "duty hours", "staff" or "work": where the driver's hours go
    hours: float  # the driver's hours on the critical path under `structure` (a median replication)
    parameter: str  # the scenario parameter behind that part
    basis: str  # its assumption or source, in words
    change: str  # what the sensitivity run changed
    diff_after_h: float | None  # the difference with the parameter changed
    ci_after_h: tuple[float, float] | None

    def to_json(self) -> dict[str, Any]:
        """Return the finding as JSON-ready data, with its text."""
        data = {k: getattr(self, k) for k in self.__slots__}
        return {**data, "text": self.text()}

    def text(self) -> str:
        """Say the finding in two or three sentences a planner can act on."""
        verdict = "slower" if self.against else "no faster"
        head = (
            f"{self.request_name}: {verdict} under {self.structure} than under {self.baseline} "
            f"({_h(self.diff_h)}, 95% interval {_h(self.ci_h[0])} to {_h(self.ci_h[1])})."
        )
        if self.driver is None:
            return head + " No single organization accounts for the difference."
        held = f"{self.hours:.1f} h on the critical path in a median replication, mostly {self.part}"
        if self.against:
            cause = f" The difference comes mostly from {self.driver_name} ({held}), set by {self.parameter}"
        else:
            cause = (
                f" The time is dominated by {self.driver_name} ({held}), which the reform does not change, "
                f"set by {self.parameter}"
            )
        cause += f" ({self.basis.rstrip('.')})."
        if self.diff_after_h is None or self.ci_after_h is None:
            return head + cause
        after = (
            f" With {self.change}, the difference is {_h(self.diff_after_h)} "
            f"({_h(self.ci_after_h[0])} to {_h(self.ci_after_h[1])})"
        )
        if not self.against:
            return head + cause + after + "."
        moved = abs(self.diff_h - self.diff_after_h)
        weight = (
            "the result rests on that assumption"
            if moved >= 0.5 * abs(self.diff_h)
            else "that assumption carries only part of it"
        )
        return head + cause + after + f": {weight}."


def _h(hours: float) -> str:
    if not math.isfinite(hours):
        return "—"
    if abs(hours) < 2:
        return f"{60 * hours:+.0f} min"
    return f"{hours:+.1f} h"


def _era_order(structures: Mapping[str, Structure]) -> dict[str, tuple[int, str]]:
    """Order structures by era start (hypothetical ones after the real ones of the same start)."""
    return {sid: (s.era.valid_from.toordinal(), sid) for sid, s in structures.items()}


def flagged(result: SimResult, structures: Mapping[str, Structure]) -> list[Comparison]:
    """Return the comparisons a reader should not take at face value (see the module doc)."""
    order = _era_order(structures)
    out = []
    for c in result.comparisons():
        if c.a not in order or c.b not in order or order[c.a] <= order[c.b]:
            continue  # only a newer structure against an older one is a reform
        if not all(math.isfinite(v) for v in (c.diff_mean_h, c.ci_low_h, c.ci_high_h)):
            continue
        if c.ci_low_h > 0:
            out.append(c)
        elif c.ci_low_h <= 0 <= c.ci_high_h and _path_differs(result, c):
            out.append(c)  # the reform changed this request's path, yet it is no faster
    return out


def _path_differs(result: SimResult, c: Comparison) -> bool:
    """Tell whether the request passes other organizations under the two structures (median replications)."""

    def orgs(sid: str) -> set[str]:
        return {b.organization for b in result.structures[sid].gantt if b.request == c.request}

    return orgs(c.a) != orgs(c.b)


def critical_hours(bars: Sequence[GanttBar], request: str) -> dict[str, dict[str, float]]:
    """Hours each organization holds a request on its critical path, by part, in the median replication.

    Parts: `staff` (waiting for a free server), `duty hours` (waiting for duty hours or a call-in) and
    `work`; averaged over the request's filings in that replication.
    """
    mine = [b for b in bars if b.request == request and b.critical]
    filings = max(len({b.instance for b in mine}), 1)
    hours: dict[str, dict[str, float]] = defaultdict(lambda: {"staff": 0.0, "duty hours": 0.0, "work": 0.0})
    for b in mine:
        hours[b.organization]["staff"] += (b.ready_h - b.arrive_h) / filings
        hours[b.organization]["duty hours"] += (b.begin_h - b.ready_h) / filings
        hours[b.organization]["work"] += (b.end_h - b.begin_h) / filings
    return dict(hours)


def _driver(result: SimResult, c: Comparison, *, against: bool) -> tuple[str, str, float] | None:
    """The organization behind a comparison, where its time goes, and its hours on the critical path.

    The organization: the largest increase of critical-path hours from the baseline's median replication
    to the structure's (slower), or the largest hours (no faster). Where its time goes is read from its
    statistics over every replication (a median replication is one draw): waiting for duty hours or a
    call-in when that is at least 30% of its delay, else waiting for staff when that is, else work.
    """
    new = critical_hours(result.structures[c.a].gantt, c.request)
    old = critical_hours(result.structures[c.b].gantt, c.request)
    best: tuple[float, str, float] | None = None
    for org, parts in new.items():
        total = sum(parts.values())
        score = total - sum(old.get(org, {}).values()) if against else total
        if score > 0 and (best is None or score > best[0]):
            best = (score, org, total)
    if best is None:
        return None
    stats = result.structures[c.a].organizations.get(best[1])
    part = "work"
    if stats is not None and math.isfinite(stats.duty_share) and stats.duty_share >= 0.3:
        part = "duty hours"
    elif stats is not None and math.isfinite(stats.queue_share) and stats.queue_share >= 0.3:
        part = "staff"
    return best[1], part, best[2]


def _parameters_of(scenario: Scenario, org: str) -> dict[str, Any]:
    if scenario.parameters is None:
        return {}
    data = scenario.parameters.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(data.get("organizations", {}).get(org, {}))


def _basis(node: Mapping[str, Any], fallback: Mapping[str, Any], part: str) -> str:
    """Say where a parameter comes from: its own assumption or source, else its organization's or defaults."""
    places: list[Mapping[str, Any]] = []
    if part == "work":
        places += [step for step in (node.get("steps") or {}).values() if isinstance(step, Mapping)]
    if part == "duty hours" and isinstance(node.get("duty"), Mapping):
        places.append(node["duty"])
    places += [node, fallback]
    for where in places:
        if where.get("assumption"):
            return "assumption: " + " ".join(str(where["assumption"]).split())
        if where.get("source"):
            return "source: " + "; ".join(where["source"])
    return "the scenario's defaults, an assumption"


def _scale_service(dist: Mapping[str, Any], factor: float) -> dict[str, Any]:
    scaled = dict(dist)
    for key in ("mean", "value", "low", "mode", "high"):
        if key in scaled:
            scaled[key] = scaled[key] * factor
    if "samples" in scaled:
        scaled["samples"] = [v * factor for v in scaled["samples"]]
    return scaled


def _change(scenario: Scenario, org: str, part: str) -> tuple[Scenario, str, str, str]:
    """Return the scenario with the driver's parameter changed, the parameter, its basis and the change."""
    from kizuna.model.scenario import Scenario as ScenarioModel

    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    params = data.setdefault("parameters", {})
    defaults = params.get("defaults", {})
    orgs = params.setdefault("organizations", {})
    node = orgs.setdefault(org, {"assumption": "added by a sensitivity run"})
    basis = _basis(_parameters_of(scenario, org), defaults, part)
    if part == "duty hours":
        duty = node.get("duty") or defaults.get("duty") or {}
        hours = duty.get("hours", "watch")
        node["duty"] = {**duty, "hours": "watch"}
        parameter = f"parameters.organizations.{org}.duty (hours: {hours})"
        change = f"{org} on a 24-hour watch instead of {hours} hours"
    elif part == "staff":
        servers = int(node.get("servers") or defaults.get("servers") or 1)
        node["servers"] = servers * 2
        parameter = f"parameters.organizations.{org}.servers ({servers})"
        change = f"{org} staffed for {servers * 2} steps at once instead of {servers}"
    else:
        steps = node.get("steps") or {}
        if steps:
            for step in steps.values():
                if "service" in step:
                    step["service"] = _scale_service(step["service"], 0.5)
        node["service"] = _scale_service(node.get("service") or defaults.get("service", {}), 0.5)
        parameter = f"parameters.organizations.{org} step durations"
        change = f"{org}'s step durations halved"
    return ScenarioModel.model_validate(data), parameter, basis, change


def explain(
    result: SimResult,
    scenario: Scenario,
    structures: Mapping[str, Structure],
    *,
    replications: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Finding]:
    """Explain every flagged comparison of a run (see the module doc); sensitivity runs are simulated here.

    The sensitivity runs use the run's seed and `replications` (default: the run's count, at most
    `SENSITIVITY_REPLICATIONS`), so the same run gives the same findings.
    """
    from kizuna.sim.runner import simulate

    names = {r.id: r.name or r.id for r in scenario.requests}
    findings = []
    count = replications or min(result.replications, SENSITIVITY_REPLICATIONS)
    for c in flagged(result, structures):
        against = c.ci_low_h > 0
        found = _driver(result, c, against=against)
        base: dict[str, Any] = {
            "request": c.request,
            "request_name": names.get(c.request, c.request),
            "structure": c.a,
            "baseline": c.b,
            "diff_h": c.diff_mean_h,
            "ci_h": (c.ci_low_h, c.ci_high_h),
            "against": against,
        }
        if found is None or scenario.parameters is None:
            findings.append(
                Finding(
                    **base,
                    driver=None,
                    driver_name="",
                    part="",
                    hours=0.0,
                    parameter="",
                    basis="",
                    change="",
                    diff_after_h=None,
                    ci_after_h=None,
                )
            )
            continue
        org, part, hours = found
        changed, parameter, basis, change = _change(scenario, org, part)
        rerun = simulate(
            changed, replications=count, seed=result.seed, structures=[c.b, c.a], progress=progress
        )
        after = next((x for x in rerun.comparisons() if x.request == c.request and x.a == c.a), None)
        driver_name = structures[c.a].org_by_id[org].name if org in structures[c.a].org_by_id else org
        findings.append(
            Finding(
                **base,
                driver=org,
                driver_name=driver_name,
                part=part,
                hours=hours,
                parameter=parameter,
                basis=basis,
                change=change,
                diff_after_h=after.diff_mean_h if after else None,
                ci_after_h=(after.ci_low_h, after.ci_high_h) if after else None,
            )
        )
    return findings
