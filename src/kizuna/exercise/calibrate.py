"""Calibration: refit the scenario's service times from the times an exercise measured.

What the log shows of a step is the time from when it could be acted on to when it was done: the link
delay, any wait for staff or duty hours, and the work. Only the work is a service time, so a step counts
as a measurement of its organization's service time for its kind when it could not have waited: fewer
other steps were in hand at the organization than it has staff while it was, and the organization was
on duty then. Such a step took link + work, with the link delay independent of the work and distributed
as the scenario says, so the work's mean and variance are the measured ones less the link's; a step
sent back for rework did its work 1/(1 - p) times on average, so the mean is multiplied by (1 - p).

The fit is conjugate on the log scale: the log of a service time is normal with unknown mean and
variance, and the prior is the scenario's distribution (as a lognormal of the same mean and coefficient
of variation) worth `prior_weight` measurements (a normal-inverse-gamma prior with kappa0 = nu0 =
prior_weight). The n measurements enter through the lognormal of the work's mean and variance (its
log-scale mean and variance stand for the sample's). With few measurements the result stays near the
scenario's value; with many it follows the data. The calibrated distribution is the lognormal with the
posterior mean of mu and of sigma^2 (docs/exercise.md gives the formulas).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kizuna.model.scenario import (
    Deterministic,
    Distribution,
    Empirical,
    Exponential,
    Lognormal,
    Scenario,
    Triangular,
)
from kizuna.model.structure import Structure
from kizuna.sim.build import classify_link, has_liaison
from kizuna.sim.calendar import DutyCalendar
from kizuna.sim.distributions import lognormal_params

if TYPE_CHECKING:
    from kizuna.exercise.aar import CalibrationRow, Played

#: The least spread the work is taken to have (coefficient of variation), when the link's explains it all.
MIN_CV = 0.1
#: The spread assumed for a deterministic prior (sigma on the log scale).
DETERMINISTIC_SIGMA = 0.05


def mean_cv(dist: Distribution) -> tuple[float, float]:
    """Return a distribution's mean (hours) and coefficient of variation."""
    mean = dist.mean_h()
    if isinstance(dist, Lognormal):
        return mean, dist.cv
    if isinstance(dist, Exponential):
        return mean, 1.0
    if isinstance(dist, Triangular):
        a, c, b = dist.low * dist.scale, dist.mode * dist.scale, dist.high * dist.scale
        var = (a * a + b * b + c * c - a * b - a * c - b * c) / 18.0
        return mean, math.sqrt(var) / mean if mean > 0 else 0.0
    if isinstance(dist, Empirical):
        x = np.asarray(dist.samples) * dist.scale
        return mean, float(x.std() / mean) if mean > 0 else 0.0
    assert isinstance(dist, Deterministic)
    return mean, 0.0


def posterior(
    n: int, mean: float, variance: float, *, mu0: float, sigma0: float, weight: float
) -> tuple[float, float]:
    """Posterior means of (mu, sigma^2) from n normal values with this sample mean and variance.

    The prior is normal-inverse-gamma: mu | sigma^2 ~ N(mu0, sigma^2 / weight) and
    sigma^2 ~ InvGamma(weight / 2, weight * sigma0^2 / 2).
    """
    kappa0, alpha0, beta0 = weight, weight / 2.0, weight * sigma0 * sigma0 / 2.0
    if n == 0:
        return mu0, sigma0 * sigma0
    ss = variance * n
    kappa = kappa0 + n
    mu = (kappa0 * mu0 + n * mean) / kappa
    alpha = alpha0 + n / 2.0
    beta = beta0 + ss / 2.0 + kappa0 * n * (mean - mu0) ** 2 / (2.0 * kappa)
    var = beta / (alpha - 1.0) if alpha > 1.0 else beta / alpha
    return mu, var


def _on_duty_through(calendar: DutyCalendar, ready: float, arrived: float) -> bool:
    """Tell whether an organization was on duty from `ready` until (most likely) the step arrived."""
    if not calendar.on_duty(ready):
        return False
    k = int(np.searchsorted(calendar.closes, ready, side="right"))
    return k >= calendar.closes.size or arrived <= float(calendar.closes[k])


@dataclass
class Calibration:
    """The refitted service times, the calibrated scenario and what to know about them."""

    rows: list[CalibrationRow]
    scenario: Scenario
    notes: list[str] = field(default_factory=list)


def clean_samples(
    played: Played, scenario: Scenario, structure: Structure
) -> tuple[dict[tuple[str, str], list[tuple[float, float, float]]], int]:
    """Measurements of service time per (organization, kind): steps that could not have waited.

    Each is (time taken, mean and variance of its link delay). Returns them and how many measured steps
    there were in all.
    """
    params = scenario.parameters
    assert params is not None
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)  # org -> (ready, done) of every step
    steps: list[tuple[str, str, float, float, str | None]] = []  # org, kind, ready, time, last pred org
    for filing in played.filings:
        path, ends = filing.request.path, filing.ends
        for step in path.steps:
            if step.id not in ends or not all(p in ends for p in step.predecessors):
                continue
            last = max(step.predecessors, key=ends.__getitem__) if step.predecessors else None
            ready = ends[last] if last else filing.filed_h
            spans[step.organization].append((ready, ends[step.id]))
            last_org = path.by_id[last].organization if last else None
            steps.append((step.organization, step.kind.value, ready, ends[step.id] - ready, last_org))
    calendars: dict[str, DutyCalendar | None] = {}
    samples: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
    for org, kind, ready, took, last_org in steps:
        link, spread = 0.0, 0.0
        if last_org is not None and last_org != org:
            delay = params.link_delay(classify_link(structure, last_org, org))
            if delay is not None:
                link, cv = mean_cv(delay)
                if params.liaison is not None and has_liaison(structure, last_org, org):
                    link *= params.liaison.factor
                spread = (cv * link) ** 2
        # Served first come, first served: only steps in hand before this one arrived can delay it, and
        # it arrives a link delay after it could be acted on. Fewer of them than staff over that window,
        # and it could not have waited. (Only what came before the step counts, never its own length,
        # which would favour short steps.)
        arrived = ready + link + 2.0 * math.sqrt(spread)
        in_hand = sum(1 for a, b in spans[org] if a <= arrived and b > ready) - 1
        if in_hand >= params.servers(org):
            continue
        if org not in calendars:
            site = structure.site_of(org)
            zone = site.time_zone if site is not None else "UTC"
            calendars[org] = DutyCalendar.build(params.duty(org), zone, scenario.start)
        calendar = calendars[org]
        if calendar is not None and not _on_duty_through(calendar, ready, arrived):
            continue
        samples[(org, kind)].append((took, link, spread))
    return samples, len(steps)


def calibrate(
    played: Played, scenario: Scenario, structure: Structure, *, prior_weight: float = 5.0
) -> Calibration:
    """Refit service times per organization and step kind from an exercise's clean measurements."""
    from kizuna.exercise.aar import CalibrationRow

    params = scenario.parameters
    assert params is not None
    base = played.exercise.scenario
    samples, measured = clean_samples(played, scenario, structure)
    rows: list[CalibrationRow] = []
    data = base.model_dump(mode="json", exclude={"file"}, exclude_none=True)
    organizations: dict[str, Any] = data["parameters"].setdefault("organizations", {})
    for (org, kind), values in sorted(samples.items()):
        prior = params.service(org, kind)
        m0, cv0 = mean_cv(prior)
        mu0, sigma0 = lognormal_params(m0, cv0) if cv0 > 0 else (math.log(m0), DETERMINISTIC_SIGMA)
        taken = np.asarray([v[0] for v in values])
        work = max(float(taken.mean()) - float(np.mean([v[1] for v in values])), 0.05 * m0)
        spread = float(taken.var()) - float(np.mean([v[2] for v in values]))
        log_var = math.log1p(max(spread / (work * work), MIN_CV * MIN_CV))
        center = math.log(work) - log_var / 2.0
        mu, var = posterior(len(values), center, log_var, mu0=mu0, sigma0=sigma0, weight=prior_weight)
        rework = params.rework(org, kind)
        mean = math.exp(mu + var / 2.0) * (1.0 - rework)
        cv = math.sqrt(math.expm1(var))
        rows.append(
            CalibrationRow(
                organization=org,
                kind=kind,
                n=len(values),
                prior_mean_h=m0,
                prior_cv=cv0,
                measured_mean_h=work,
                mean_h=mean,
                cv=cv,
            )
        )
        entry = organizations.setdefault(org, {"assumption": "calibrated from an exercise (see its steps)"})
        entry.setdefault("steps", {})[kind] = {
            "service": {"dist": "lognormal", "mean": round(mean, 6), "cv": round(cv, 6)},
            "assumption": (
                f"calibrated from exercise {played.exercise.id}: {len(values)} clean measurement(s), work "
                f"{work:.3g} h on average, with the scenario's {prior.dist} (mean {m0:.3g} h, cv {cv0:.2g}) "
                f"as a prior worth {prior_weight:g}"
            ),
        }
    data["id"] = f"{base.id}-calibrated"
    data["name"] = f"{base.name} (calibrated from exercise {played.exercise.id})"
    calibrated = Scenario.model_validate({**data, "file": base.file})
    notes = [
        f"calibration: {sum(len(v) for v in samples.values())} of {measured} measured steps could not have "
        f"waited (fewer steps in hand than staff, on duty) and refit {len(rows)} service times"
    ]
    return Calibration(rows=rows, scenario=calibrated, notes=notes)
