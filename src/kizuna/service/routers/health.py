"""Liveness: whether the service is up and whether the log it serves verified at start.

Health needs no login, so it says nothing about the log's contents: no sequence number, which would
tell anyone how many events exist, hidden ones included, and when they were written.
"""

from __future__ import annotations

import os
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kizuna.service.dependencies import RuntimeDep

router = APIRouter(prefix="/api/health", tags=["health"])


class Health(BaseModel):
    """The service is up on a `backend` store; `status` says whether its log verified at start."""

    status: Literal["ok", "tampered"] = Field(
        description="`tampered`: the log did not verify at start and is served only because the "
        "operator said so (serve_tampered_log)."
    )
    backend: str
    subscribers: int
    worker: int = Field(description="The answering worker's process id (several with --workers).")


@router.get("")
async def health(runtime: RuntimeDep) -> Health:
    """Tell whether the service is up (no authentication)."""
    tampered = runtime.integrity is not None and not runtime.integrity.ok
    return Health(
        status="tampered" if tampered else "ok",
        backend=runtime.store.backend,
        subscribers=runtime.hub.count,
        worker=os.getpid(),
    )
