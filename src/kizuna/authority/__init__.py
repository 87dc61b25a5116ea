"""Authority: the law as data, and rulings that say what is missing, why, and where it is written.

from kizuna.authority import Query, load_frameworks, rule
fw = load_frameworks()                       # japan-2015 + us-japan-treaty-1960
r = rule(fw, Query(situation="armed-attack", actor="jsdf", activity="use-of-force"))
r.outcome, r.missing, r.after, r.reasons, r.citations
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
