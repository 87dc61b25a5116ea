"""Planning: a request compiled, through the structure and the ruling, into a DecisionPath."""

from kizuna.planning.path import DecisionPath, Step, StepKind

__all__ = ["DecisionPath", "Step", "StepKind"]
