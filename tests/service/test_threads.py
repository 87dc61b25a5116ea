"""`in_thread`: work runs off the event loop and comes back as the call's result or its exception."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from kizuna.service.threads import THREADS, in_thread

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def test_the_result_comes_back_from_another_thread() -> None:
    async def main() -> tuple[int, int]:
        return await in_thread(lambda a, b=0: (a + b, threading.get_ident()), 2, b=3)

    value, ident = asyncio.run(main())
    assert value == 5
    assert ident != threading.get_ident()


def test_an_exception_is_raised_in_the_awaiting_task() -> None:
    def fails() -> None:
        raise KeyError("r-404")

    async def main() -> None:
        await in_thread(fails)

    with pytest.raises(KeyError, match="r-404"):
        asyncio.run(main())


def test_the_call_sees_the_callers_context() -> None:
    async def main() -> str:
        WHO.set("sato")
        return await in_thread(WHO.get)

    assert asyncio.run(main()) == "sato"


def test_calls_run_side_by_side_up_to_the_thread_count() -> None:
    """As many blocking calls as there are threads are in progress at once (a barrier proves it)."""
    barrier = threading.Barrier(THREADS, timeout=30)

    async def main() -> list[int]:
        return await asyncio.gather(*(in_thread(barrier.wait) for _ in range(THREADS)))

    assert sorted(asyncio.run(main())) == list(range(THREADS))


def test_a_cancelled_caller_does_not_break_the_workers() -> None:
    """The caller gives up; the work still ends, its answer is dropped, and the next call is served."""
    release = threading.Event()

    async def main() -> int:
        task = asyncio.ensure_future(in_thread(release.wait, 30))
        await asyncio.sleep(0.05)
        task.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await in_thread(lambda: 7)

    assert asyncio.run(main()) == 7
