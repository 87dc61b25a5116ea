"""Running many replications: memory stays bounded by one block, results are merged exactly."""

from __future__ import annotations

import tracemalloc

from kizuna.sim.bench import bench_input
from kizuna.sim.engine import BLOCK, block_sizes, chunks, workspace
from kizuna.sim.runner import simulate_inputs


def peak_bytes(replications: int) -> int:
    inp = bench_input(requests=10, organizations=4)
    _ = inp.compiled
    workspace(bench_input(requests=1, organizations=2).compiled, 3)  # evict the cached block buffers
    tracemalloc.start()
    try:
        simulate_inputs([inp], scenario="m", replications=replications, workers=1)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_replications() -> None:
    two, six = peak_bytes(2 * BLOCK), peak_bytes(6 * BLOCK)
    assert two > 10 * 4 * BLOCK * 8  # the block buffers were counted (ten visits' rows at least)
    # Three times the replications: the same block buffers; only per-block sums (a few KiB) accumulate.
    assert six < 1.15 * two, (two, six)


def test_chunks_deal_every_block_once() -> None:
    sizes = block_sizes(7 * BLOCK + 5)
    assert sizes == [BLOCK] * 7 + [5]
    for per in (1, 2, 3, 8):
        dealt = chunks(sizes, per)
        assert sorted(b for chunk in dealt for b, _ in chunk) == list(range(8))
        assert max(len(c) for c in dealt) - min(len(c) for c in dealt) <= 1
