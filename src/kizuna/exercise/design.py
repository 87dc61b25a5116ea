"""Designing an exercise from a scenario: who files each request, and the MSEL the scenario becomes.

The organization that files a request is the first step of its decision path in the exercise's
structure (the requester the scenario names, or the executor's operational commander there), compiled
by the same law the live service uses, so the MSEL sends each request to the cell that files it live.
"""

from __future__ import annotations

from kizuna.coordination import Law
from kizuna.interop.msel import Msel, msel_from_scenario
from kizuna.model.scenario import Scenario


def requesters(scenario: Scenario, structure: str, law: Law) -> dict[str, str]:
    """Return the organization that files each request of the scenario in a structure.

    A request the law prohibits outright in the structure is left out (its path has nobody to file it).
    """
    compiled = law.structure(structure)
    out: dict[str, str] = {}
    for spec in scenario.requests:
        path = law.compile(compiled, spec)
        if not path.prohibited:
            out[spec.id] = path.order()[0].organization
    return out


def msel_for(scenario: Scenario, structure: str, law: Law, *, seed: int = 0, objective: str = "") -> Msel:
    """Return the MSEL of a scenario played in a structure (arrival processes drawn with `seed`)."""
    return msel_from_scenario(
        scenario,
        law.structure(structure),
        requesters=requesters(scenario, structure, law),
        seed=seed,
        objective=objective,
    )
