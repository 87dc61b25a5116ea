"""Taskings of units: issue in a crisis, list, read, acknowledge/complete/cancel."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query

from kizuna.coordination import TaskingState
from kizuna.service.dependencies import CommandsDep, CoordinatorDep, CurrentUser, IdempotencyKey
from kizuna.service.egress import release, release_one
from kizuna.service.errors import responses
from kizuna.service.params import PathId
from kizuna.service.schemas import TaskingIn, TaskingMoveIn

router = APIRouter(tags=["taskings"])


@router.get("/api/taskings", responses=responses(401))
async def list_taskings(
    user: CurrentUser,
    coordinator: CoordinatorDep,
    crisis: Annotated[str | None, Query(max_length=100)] = None,
) -> list[TaskingState]:
    """List the taskings the user may see."""
    states = sorted(coordinator.snapshot().taskings.values(), key=lambda t: t.issued_at)
    return release(user, [t for t in states if crisis is None or t.crisis == crisis])


@router.post(
    "/api/crises/{crisis_id}/taskings", status_code=201, responses=responses(401, 403, 404, 409, 422)
)
async def issue_tasking(
    *,
    crisis_id: PathId,
    body: TaskingIn,
    user: CurrentUser,
    coordinator: CoordinatorDep,
    commands: CommandsDep,
    key: IdempotencyKey = None,
) -> TaskingState:
    """Task a unit the user's organization commands (under a decided request, if given)."""
    state = await commands.run(
        partial(
            coordinator.issue_tasking,
            user,
            crisis_id,
            unit=body.unit,
            task=body.task,
            marking=body.marking,
            request_id=body.request,
            idempotency_key=key,
        )
    )
    return release_one(user, state, "tasking", state.id)


@router.get("/api/taskings/{tasking_id}", responses=responses(401, 404))
async def get_tasking(tasking_id: PathId, user: CurrentUser, coordinator: CoordinatorDep) -> TaskingState:
    """Return one tasking."""
    return release_one(user, coordinator.snapshot().taskings.get(tasking_id), "tasking", tasking_id)


@router.post("/api/taskings/{tasking_id}/status", responses=responses(401, 403, 404, 409, 422))
async def move_tasking(
    *,
    tasking_id: PathId,
    body: TaskingMoveIn,
    user: CurrentUser,
    coordinator: CoordinatorDep,
    commands: CommandsDep,
    key: IdempotencyKey = None,
) -> TaskingState:
    """Acknowledge or complete a tasking (its unit), or cancel it (its issuer)."""
    state = await commands.run(
        partial(
            coordinator.update_tasking, user, tasking_id, body.status, note=body.note, idempotency_key=key
        )
    )
    return release_one(user, state, "tasking", tasking_id)
