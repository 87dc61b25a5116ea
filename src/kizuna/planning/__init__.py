"""Planning: requests compiled into DecisionPaths; plans, decision points and mission assignment."""

from kizuna.planning.assign import (
    Assignment,
    AssignmentProblem,
    Block,
    Candidate,
    Change,
    Infeasibility,
    assignment_problem,
    check_plan_law,
    explain_infeasible,
    solve,
    solve_plan,
)
from kizuna.planning.compile import TACTICAL_TASKING, compile_request, tactical_center
from kizuna.planning.decisions import decision_requests, plan_scenario, scenario_document
from kizuna.planning.path import DecisionPath, Step, StepKind
from kizuna.planning.procedures import Designation, Procedures, find_designation, load_procedures

__all__ = [
    "Assignment",
    "AssignmentProblem",
    "Block",
    "Candidate",
    "Change",
    "DecisionPath",
    "Designation",
    "Infeasibility",
    "Procedures",
    "Step",
    "StepKind",
    "TACTICAL_TASKING",
    "assignment_problem",
    "check_plan_law",
    "compile_request",
    "decision_requests",
    "explain_infeasible",
    "find_designation",
    "load_procedures",
    "plan_scenario",
    "scenario_document",
    "solve",
    "solve_plan",
    "tactical_center",
]
