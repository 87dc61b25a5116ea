"""Planning: a request compiled, through the structure and the ruling, into a DecisionPath."""

from kizuna.planning.compile import compile_request
from kizuna.planning.path import DecisionPath, Step, StepKind
from kizuna.planning.procedures import Designation, Procedures, find_designation, load_procedures

__all__ = [
    "DecisionPath",
    "Designation",
    "Procedures",
    "Step",
    "StepKind",
    "compile_request",
    "find_designation",
    "load_procedures",
]
