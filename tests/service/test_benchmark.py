"""The service benchmark runs end to end (tiny load): a server subprocess, commands, paced load, fan-out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kizuna.service import benchmark
from kizuna.store.pgserver import free_port


@pytest.mark.slow
def test_the_benchmark_measures_a_real_server() -> None:
    figures = benchmark.run(clients=3, seconds=1.0, subscribers=4, events=2, postgresql=False, rate=30.0)
    sqlite = figures["sqlite"]
    assert sqlite["commands"] > 0
    assert sqlite["errors"] == 0
    assert sqlite["p50_ms"] <= sqlite["p99_ms"]
    assert sqlite["at_offered_rate"]["errors"] == 0
    spread = sqlite["at_offered_rate_out_of_phase"]
    assert spread["errors"] == 0
    assert spread["commands"] > 0
    assert figures["fanout"]["deliveries"] == 4 * 2, "every subscriber got every event"
    assert figures["fanout_p99_ms"] == figures["fanout"]["p99_ms"]
    assert figures["reference"]["errors"] == 0
    assert "postgresql" not in figures


@pytest.mark.parametrize("clients", [3, 10, 50, 64])
def test_paced_schedules_space_sends_evenly_and_the_spread_one_spreads_filings(clients: int) -> None:
    period = clients / 500
    cycle = benchmark.CYCLE_COMMANDS
    for out_of_phase in (False, True):
        starts = [benchmark._first_due(n, clients, period, out_of_phase=out_of_phase) for n in range(clients)]
        within = sorted(round(t % period / period * clients, 6) for t in starts)
        assert within == list(range(clients)), "one send every period/clients, none at once"
        assert max(starts) < period * cycle, "every client has started before the counted span"
        # a client files every `cycle` sends: the periods of a cycle in which the clients file
        filing = [int(t // period) % cycle for t in starts]
        counts = [filing.count(slot) for slot in range(cycle)]
        if out_of_phase:
            assert max(counts) - min(counts) <= 1, f"filings spread over the cycle: {counts}"
        else:
            assert counts[0] == clients, "in phase: every client files in the cycle's first period"


def test_a_server_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(  # a stand-in for `kizuna serve` that fails at start
            [sys.executable, "-c", "import sys; sys.stderr.write('no such database'); sys.exit(3)"],
            stderr=sink,
        )
    with pytest.raises(benchmark.BenchFailed, match=r"exited with 3[\s\S]*no such database"):
        benchmark.wait_until_serving(process, f"http://127.0.0.1:{free_port()}", log=log)


def test_a_server_that_never_answers_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    log.write_text("Verifying the event chain and building the view...")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(benchmark.BenchFailed, match=r"without answering[\s\S]*Verifying the event"):
            benchmark.wait_until_serving(process, f"http://127.0.0.1:{free_port()}", log=log, timeout_s=0.5)
    finally:
        process.kill()
        process.wait()
