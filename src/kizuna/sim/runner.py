"""Run many replications of engine inputs, in chunks, on local worker processes.

Each chunk is a list of blocks of one structure; a worker simulates them one block at a time (so memory
stays bounded by one block, whatever the number of replications) and returns an Accumulator. The result
does not depend on the number of workers or the chunk size: blocks carry their own random streams and
accumulators merge exactly.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from kizuna.model.scenario import Scenario
from kizuna.sim.engine import (
    EngineInput,
    block_rng,
    block_sizes,
    chunks,
    default_workers,
    plan_chunks,
    simulate_block,
    workspace,
)
from kizuna.sim.result import Accumulator, SimResult, results_of

#: Called with the number of replications just finished (for progress bars).
Progress = Callable[[int], None]


def run_blocks(
    inp: EngineInput,
    structure_index: int,
    seed: int,
    blocks: Sequence[tuple[int, int]],
) -> Accumulator:
    """Simulate the given (block index, size) pairs of one input and return their statistics."""
    comp = inp.compiled
    acc = Accumulator.empty(inp)
    for block, size in blocks:
        out = simulate_block(comp, block_rng(seed, structure_index, block), size, workspace(comp, size))
        acc.add(block, comp, out)
    return acc


def _work(args: tuple[EngineInput, int, int, list[tuple[int, int]]]) -> Accumulator:
    inp, index, seed, blocks = args
    began = time.process_time()
    acc = run_blocks(inp, index, seed, blocks)
    acc.cpu_s += time.process_time() - began
    acc.peak_rss_kib = max(acc.peak_rss_kib, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return acc


def simulate_inputs(
    inputs: Mapping[str, EngineInput] | Sequence[EngineInput],
    *,
    scenario: str,
    replications: int,
    seed: int = 0,
    start: str = "",
    workers: int | None = None,
    blocks_per_chunk: int | None = None,
    progress: Progress | None = None,
) -> SimResult:
    """Simulate each input `replications` times and return the statistics.

    Args:
        inputs: engine inputs by structure id (a sequence is keyed by each input's `structure`).
        scenario: the scenario id, for the result.
        replications: replications per structure.
        seed: the seed; structure k's block b draws from `SeedSequence(seed, spawn_key=(k, b))`.
        start: the scenario's start, ISO 8601, for the result.
        workers: worker processes (default: the CPUs available; 1 runs in this process).
        blocks_per_chunk: blocks per worker task (default: about three tasks per worker).
        progress: called with the number of replications finished after each chunk.
    """
    if replications < 1:
        raise ValueError(f"replications must be at least 1, not {replications}")
    by_id = dict(inputs) if isinstance(inputs, Mapping) else {i.structure: i for i in inputs}
    workers = default_workers() if workers is None else max(1, workers)
    sizes = block_sizes(replications)
    per_chunk = blocks_per_chunk or plan_chunks(replications, workers)
    tasks: list[tuple[str, tuple[EngineInput, int, int, list[tuple[int, int]]]]] = []
    for k, (sid, inp) in enumerate(by_id.items()):
        assert inp.compiled is not None  # compile once here; workers receive the compiled input
        for chunk in chunks(sizes, per_chunk):
            tasks.append((sid, (inp, k, seed, chunk)))
    began = time.perf_counter()
    # Accumulators are merged as they arrive (merging is exact and order-free), so the main process holds
    # one per structure rather than one per task.
    merged: dict[str, Accumulator] = {}

    def take(sid: str, part: Accumulator) -> None:
        if sid in merged:
            merged[sid].merge(part)
        else:
            merged[sid] = part

    if workers == 1 or len(tasks) == 1:
        for sid, args in tasks:
            take(sid, _work(args))
            if progress is not None:
                progress(sum(size for _, size in args[3]))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # One BLAS thread per worker: the workers already use every core (set before the first pool
        # starts its server process, which the workers inherit the environment from).
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        ctx = None
        if "forkserver" in mp.get_all_start_methods():
            # Workers fork from a server that has imported the engine once (not each worker again).
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["kizuna.sim.runner"])
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
            futures = {pool.submit(_work, args): (sid, args) for sid, args in tasks}
            for future in as_completed(futures):
                sid, args = futures.pop(future)
                take(sid, future.result())
                if progress is not None:
                    progress(sum(size for _, size in args[3]))
    accs = {sid: merged[sid] for sid in by_id}
    return SimResult(
        scenario=scenario,
        replications=replications,
        seed=seed,
        start=start,
        structures=results_of(by_id, accs),
        elapsed_s=time.perf_counter() - began,
        workers=workers,
        cpu_s=sum(a.cpu_s for a in accs.values()),
        peak_worker_rss_mib=max(a.peak_rss_kib for a in accs.values()) / 1024,
    )


def simulate(
    scenario: Scenario | str | Path,
    *,
    replications: int = 10_000,
    seed: int = 0,
    structures: Sequence[str] | None = None,
    workers: int | None = None,
    blocks_per_chunk: int | None = None,
    progress: Progress | None = None,
) -> SimResult:
    """Simulate a scenario (a Scenario, a bundled id or a file) under its structures.

    Raises:
        DataError: the scenario (or a structure or framework it names) is invalid.
        UnknownId: an id is not defined.
        InvalidQuery: a request cannot be compiled in a structure.
    """
    from kizuna.model.scenario import load_scenario
    from kizuna.sim.build import build_inputs, start_iso

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    inputs = build_inputs(sc, structures)
    return simulate_inputs(
        inputs,
        scenario=sc.id,
        replications=replications,
        seed=seed,
        start=start_iso(sc),
        workers=workers,
        blocks_per_chunk=blocks_per_chunk,
        progress=progress,
    )
