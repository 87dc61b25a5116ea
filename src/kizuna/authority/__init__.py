"""Authority: the law as data, and rulings that say what is missing, why, and where it is written.

from kizuna.authority import Query, load_frameworks, rule
fw = load_frameworks()                       # japan-2015 + us-japan-treaty-1960
r = rule(fw, Query("armed-attack", "jsdf", "use-of-force", flags={"attack-occurred"}))
r.outcome, r.missing, r.after, r.reasons, r.citations
rule(fw, Query(situations={"armed-attack", "survival-threatening"}, actor="msdf",
               activity="bmd-intercept", supported="us-forces", location="high-seas-near-japan")).basis
A query that leaves out a fact its ruling depends on raises kizuna.errors.MissingFact.
"""

from kizuna.authority.frameworks import DEFAULT_FRAMEWORKS, FrameworkSet, load_frameworks, rule
from kizuna.authority.query import Query
from kizuna.authority.ruling import Outcome, Ruling
from kizuna.model.framework import Approval, Citation, Framework, Rule, Term

__all__ = [
    "Approval",
    "Citation",
    "DEFAULT_FRAMEWORKS",
    "Framework",
    "FrameworkSet",
    "Outcome",
    "Query",
    "Rule",
    "Ruling",
    "Term",
    "load_frameworks",
    "rule",
]
