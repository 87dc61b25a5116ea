"""Measure rulings per second: the compiled engine against the uncompiled reference, in the same run."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from kizuna.authority.engine import CompiledEngine
from kizuna.authority.frameworks import FrameworkSet
from kizuna.authority.query import Query
from kizuna.authority.rules import evaluate
from kizuna.authority.ruling import Ruling


def random_queries(frameworks: FrameworkSet, n: int, seed: int = 0, designations: int = 1) -> list[Query]:
    """Draw `n` valid queries uniformly over the vocabularies, each flag and approval with probability 0.3.

    Each query names every fact and `designations` distinct situations in force.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not cryptography
    fields = {
        f: frameworks.vocabulary(f) for f in ("situation", "actor", "activity", "supported", "location")
    }
    flags = frameworks.vocabulary("flags")
    approvals = list(frameworks.approvals)
    return [
        Query(
            situations=rng.sample(fields["situation"], designations),
            actor=rng.choice(fields["actor"]),
            activity=rng.choice(fields["activity"]),
            supported=rng.choice(fields["supported"]),
            location=rng.choice(fields["location"]),
            flags=frozenset(f for f in flags if rng.random() < 0.3),
            granted=frozenset(a for a in approvals if rng.random() < 0.3),
        )
        for _ in range(n)
    ]


@dataclass(frozen=True, slots=True)
class BenchResult:
    """Figures of one benchmark run (rates in rulings per second)."""

    queries: int
    rules: int
    compile_seconds: float
    compiled_cold: float
    compiled_warm: float
    reference: float
    agree: int
    compiled_union: float = 0.0  # queries on two designations at once, cold caches

    @property
    def ratio(self) -> float:
        """How many times faster the compiled engine (cold caches) is than the reference."""
        return self.compiled_cold / self.reference if self.reference else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """The figures as plain data, with the ratio."""
        return {**asdict(self), "ratio": self.ratio}


def _rate(run: Callable[[], list[Ruling]], n: int) -> tuple[float, list[Ruling]]:
    start = time.perf_counter()
    out = run()
    elapsed = time.perf_counter() - start
    return n / elapsed if elapsed > 0 else float("inf"), out


def measure(
    frameworks: FrameworkSet,
    n: int = 100_000,
    seed: int = 0,
    step: Callable[[str], None] | None = None,
) -> BenchResult:
    """Rule on `n` random queries with a freshly compiled engine (cold, then warm) and the reference.

    Args:
        frameworks: the frameworks to rule under.
        n: batch size.
        seed: seed of the query generator.
        step: called with the name of each phase as it starts (for progress display).
    """
    say = step or (lambda _name: None)
    say("generating queries")
    queries = random_queries(frameworks, n, seed)
    say("compiling")
    start = time.perf_counter()
    engine = CompiledEngine(frameworks)
    compile_seconds = time.perf_counter() - start
    say("compiled engine, cold caches")
    cold, compiled = _rate(lambda: engine.rule_many(queries), n)
    say("compiled engine, warm caches")
    warm, _ = _rate(lambda: engine.rule_many(queries), n)
    say("reference evaluator")
    ref, reference = _rate(lambda: [evaluate(frameworks, q) for q in queries], n)  # the raw evaluators
    agree = sum(1 for a, b in zip(compiled, reference, strict=True) if a == b)
    say("compiled engine, two designations")
    pairs = random_queries(frameworks, n, seed + 1, designations=2)
    fresh = CompiledEngine(frameworks)
    union, _ = _rate(lambda: fresh.rule_many(pairs), n)
    return BenchResult(n, len(frameworks.rules), compile_seconds, cold, warm, ref, agree, union)
