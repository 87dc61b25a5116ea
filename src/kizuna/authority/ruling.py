"""The answer to a Query: an outcome, the approvals the law asks for, why, and where it is written."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kizuna.model.framework import Citation


class Outcome(StrEnum):
    """What the law says about the act, given what is granted."""

    PERMITTED = "permitted"  # lawful, nothing missing before acting
    REQUIRES_APPROVAL = "requires-approval"  # lawful once the missing approvals are obtained
    PROHIBITED = "prohibited"  # unlawful in this situation, whatever is granted

    @property
    def rank(self) -> int:
        """Order outcomes from worst (0, prohibited) to best (2, permitted)."""
        return _RANK[self]


_RANK = {Outcome.PROHIBITED: 0, Outcome.REQUIRES_APPROVAL: 1, Outcome.PERMITTED: 2}


@dataclass(frozen=True, slots=True)
class Ruling:
    """A ruling on one query.

    Attributes:
        outcome: permitted, requires-approval or prohibited.
        required: every approval the law asks for this act, in the order they are obtained.
        missing: required approvals not granted that must come before acting, in order.
        after: required approvals not granted that the law lets come after acting (ex post Diet
            approval in special urgency; a public security operation's referral to the Diet).
        reasons: the rules that fired, in words (an assumed reading says so).
        rule_ids: the ids of those rules, in the same order.
        citations: law, article and source of each rule, without repeats.
        lawful_under: for a prohibition, situations in which the act would be lawful (other than
            those already designated).
        assumptions: the assumptions the ruling rests on (also shown in `reasons`).
        basis: with several designations in force, the one whose legal basis the ruling uses (None
            for a query on one designation, and for a prohibition).
        alternatives: with several designations in force, the others under which the act is also
            lawful (with approvals of their own).
    """

    outcome: Outcome
    required: tuple[str, ...]
    missing: tuple[str, ...]
    after: tuple[str, ...]
    reasons: tuple[str, ...]
    rule_ids: tuple[str, ...]
    citations: tuple[Citation, ...]
    lawful_under: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    basis: str | None = None
    alternatives: tuple[str, ...] = ()

    @property
    def permitted(self) -> bool:
        """Tell whether the act may go ahead now."""
        return self.outcome is Outcome.PERMITTED

    @property
    def prohibited(self) -> bool:
        """Tell whether the law forbids the act here."""
        return self.outcome is Outcome.PROHIBITED

    def to_dict(self) -> dict[str, Any]:
        """Return the ruling as plain JSON-ready data."""
        return {
            "outcome": self.outcome.value,
            "required": list(self.required),
            "missing": list(self.missing),
            "after": list(self.after),
            "reasons": list(self.reasons),
            "rule_ids": list(self.rule_ids),
            "citations": [c.model_dump() for c in self.citations],
            "lawful_under": list(self.lawful_under),
            "assumptions": list(self.assumptions),
            "basis": self.basis,
            "alternatives": list(self.alternatives),
        }
