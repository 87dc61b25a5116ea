"""Liveness: whether the service is up, and how far its view of the log reaches."""

from __future__ import annotations

import os

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kizuna.service.dependencies import RuntimeDep

router = APIRouter(prefix="/api/health", tags=["health"])


class Health(BaseModel):
    """The service is up; the answering worker's view reaches `last_seq` of the `backend` log."""

    status: str
    backend: str
    last_seq: int
    subscribers: int
    worker: int = Field(description="The answering worker's process id (several with --workers).")


@router.get("")
async def health(runtime: RuntimeDep) -> Health:
    """Tell whether the service is up (no authentication)."""
    return Health(
        status="ok",
        backend=runtime.store.backend,
        last_seq=runtime.coordinator.view.last_seq,
        subscribers=runtime.hub.count,
        worker=os.getpid(),
    )
