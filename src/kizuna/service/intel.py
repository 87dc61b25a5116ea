"""The intelligence desk inside the service: opened over the same store, following the same log.

`attach_intel(app, runtime)` opens an `IntelDesk` whose crisis lookups go through the coordinator (so a
crisis the user may not see does not exist for intelligence either), keeps it current with a follower
thread that wakes when the log grows (here, or in another worker through NOTIFY) and at least every
second, at most every `GAP_S` (the desk reads its own writes as it makes them; the follower is for
other processes'), and stores it on `app.state.intel` for the intelligence routers.
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
#: Shortest time between two catch-ups of the follower.
GAP_S = 0.1


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
            runtime.store.wait_for(before, timeout=FOLLOW_S)
            if stop.is_set():
                return
            desk.catch_up()
            # The desk reads its own writes as it makes them; this thread is for other processes'.
            # A pause between catch-ups lets a burst of coordination traffic cost one scan, not one
            # per commit (and covers a head announced but not yet readable: no spinning).
            stop.wait(GAP_S)

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
