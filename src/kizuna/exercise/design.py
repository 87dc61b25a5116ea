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

    A request the law prohibits outright is still filed (the players learn so from the service); its
    one-step path names who files it.
    """
    compiled = law.structure(structure)
    return {spec.id: law.compile(compiled, spec).order()[0].organization for spec in scenario.requests}


def msel_for(scenario: Scenario, structure: str, law: Law, *, seed: int = 0, objective: str = "") -> Msel:
    """Return the MSEL of a scenario played in a structure (arrival processes drawn with `seed`)."""
    return msel_from_scenario(
        scenario,
        law.structure(structure),
        requesters=requesters(scenario, structure, law),
        seed=seed,
        objective=objective,
    )
