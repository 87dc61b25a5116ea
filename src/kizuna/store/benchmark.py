"""Measure the event store: appends per second and latency, beside a plain insert-and-commit reference.

The reference runs in the same process, on the same database and engine settings, writing rows of the
same size with one commit each but with no chain, lock, idempotency check or projection. The ratio
says what the store's guarantees cost on this machine, whatever the machine.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, MetaData, Table, insert

from kizuna.store.events import NewEvent
from kizuna.store.eventstore import open_store

_reference_metadata = MetaData()
_reference = Table(
    "bench_reference",
    _reference_metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("payload", JSON, nullable=False),
)

#: A payload of the size a request event has.
PAYLOAD: dict[str, Any] = {"title": "refuel at Kadena", "step": "approve", "reason": "x" * 160, "n": 0}


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """What one back end achieved.

    Attributes:
        backend: `sqlite (FULL)`, `sqlite (NORMAL)` or `postgresql`.
        appends_per_s: Sequential appends (one event each, one client).
        p50_ms: Median latency of one append.
        p99_ms: 99th percentile latency of one append.
        concurrent_appends_per_s: Appends per second with `writers` threads appending at once.
        writers: How many threads appended at once.
        reference_per_s: Plain single-row insert-and-commit per second on the same database.
        ratio: `appends_per_s / reference_per_s`.
        verify_events_per_s: How fast `verify()` rechecks the chain.
    """

    backend: str
    appends_per_s: float
    p50_ms: float
    p99_ms: float
    concurrent_appends_per_s: float
    writers: int
    reference_per_s: float
    ratio: float
    verify_events_per_s: float

    def to_json(self) -> dict[str, Any]:
        """Return the figures as a JSON object."""
        return asdict(self)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    url: str, backend: str, *, appends: int = 400, writers: int = 4, sqlite_synchronous: str = "FULL"
) -> StoreFigures:
    """Measure the store at `url` (an empty database): sequential, concurrent, reference, verify."""
    with open_store(url, listen=False, sqlite_synchronous=sqlite_synchronous) as store:
        latencies: list[float] = []
        started = time.perf_counter()
        for n in range(appends):
            begin = time.perf_counter()
            store.append(f"request:r{n % 50}", [NewEvent("step.acted", {**PAYLOAD, "n": n})], actor="bench")
            latencies.append(time.perf_counter() - begin)
        sequential = appends / (time.perf_counter() - started)

        def writer(w: int) -> None:
            for n in range(appends // writers):
                store.append(
                    f"crisis:w{w}", [NewEvent("step.acted", {**PAYLOAD, "n": n})], actor=f"bench-{w}"
                )

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        concurrent = (appends // writers * writers) / (time.perf_counter() - started)

        _reference.create(store.engine)
        started = time.perf_counter()
        for n in range(appends):
            with (
                store.engine.connect().execution_options(kizuna_write=True) as connection,
                connection.begin(),
            ):
                connection.execute(insert(_reference).values(id=n, payload={**PAYLOAD, "n": n}))
        reference = appends / (time.perf_counter() - started)
        _reference.drop(store.engine)

        started = time.perf_counter()
        report = store.verify()
        verify_rate = report.checked / (time.perf_counter() - started)
        assert report.ok, report.problems
    return StoreFigures(
        backend=backend,
        appends_per_s=sequential,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        concurrent_appends_per_s=concurrent,
        writers=writers,
        reference_per_s=reference,
        ratio=sequential / reference,
        verify_events_per_s=verify_rate,
    )


@contextmanager
def _sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-") as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


def run(
    *,
    appends: int = 400,
    writers: int = 4,
    postgresql: bool = True,
    report: Callable[[str], None] | None = None,
) -> tuple[list[StoreFigures], str | None]:
    """Measure SQLite (FULL and NORMAL) and, if its binaries exist, a throw-away PostgreSQL server.

    Returns:
        The figures, and why PostgreSQL was left out (None if it was measured).
    """
    from kizuna.store.pgserver import PostgresUnavailable, temporary_postgres

    figures: list[StoreFigures] = []
    for synchronous in ("FULL", "NORMAL"):
        if report:
            report(f"sqlite ({synchronous})")
        with _sqlite_url() as url:
            figures.append(
                measure(
                    url,
                    f"sqlite ({synchronous})",
                    appends=appends,
                    writers=writers,
                    sqlite_synchronous=synchronous,
                )
            )
    skipped: str | None = "not requested"
    if postgresql:
        if report:
            report("postgresql")
        try:
            with temporary_postgres() as server:
                url = server.create_database("kizuna_bench")
                figures.append(measure(url, "postgresql", appends=appends, writers=writers))
                skipped = None
        except PostgresUnavailable as error:
            skipped = str(error)
    return figures, skipped
