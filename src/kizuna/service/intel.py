"""The intelligence desk inside the service: opened over the same store, following the same log.

`attach_intel(app, runtime)` opens an `IntelDesk` whose crisis lookups go through the coordinator (so a
crisis the user may not see does not exist for intelligence either), keeps it current with a follower
thread that wakes when the log grows (here, or in another worker through NOTIFY) and at least every
second, and stores it on `app.state.intel` for the intelligence routers.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from kizuna.access import Marking, User
from kizuna.intel import IntelDesk
from kizuna.service.runtime import Runtime

#: Longest the follower sleeps before looking at the log again.
FOLLOW_S = 1.0


def attach_intel(app: FastAPI, runtime: Runtime) -> IntelDesk:
    """Open the desk over the runtime's store and start following the log."""
    coordinator = runtime.coordinator

    def crisis_marking(user: User, crisis_id: str) -> Marking:
        return coordinator.crisis(user, crisis_id).marking

    desk = IntelDesk(runtime.store, clock=runtime.clock, crisis_marking=crisis_marking)
    stop = threading.Event()

    def follow() -> None:
        while not stop.is_set():
            before = desk.view.last_seq
            head = runtime.store.wait_for(before, timeout=FOLLOW_S)
            if stop.is_set():
                return
            desk.catch_up()
            if desk.view.last_seq == before and head > before:
                stop.wait(FOLLOW_S / 10)  # announced but not yet readable: do not spin

    thread = threading.Thread(target=follow, name="kizuna-intel-follower", daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(timeout=FOLLOW_S * 3)

    runtime.closers.append(close)
    app.state.intel = desk
    return desk


async def get_intel(request: Request) -> IntelDesk:
    """Return the app's intelligence desk."""
    desk: IntelDesk = request.app.state.intel
    return desk


IntelDep = Annotated[IntelDesk, Depends(get_intel)]
