"""Crises: list, open, read (with the timeline of designations)."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter

from kizuna.coordination import CrisisState
from kizuna.service.dependencies import CommandsDep, CoordinatorDep, CurrentUser, IdempotencyKey
from kizuna.service.egress import release, release_one
from kizuna.service.errors import responses
from kizuna.service.params import PathId
from kizuna.service.schemas import CrisisIn

router = APIRouter(prefix="/api/crises", tags=["crises"])


@router.get("", responses=responses(401))
async def list_crises(user: CurrentUser, coordinator: CoordinatorDep) -> list[CrisisState]:
    """List the crises the user may see."""
    crises = sorted(coordinator.snapshot().crises.values(), key=lambda c: c.opened_at)
    return release(user, crises)


@router.post("", status_code=201, responses=responses(401, 403, 409, 422))
async def open_crisis(
    body: CrisisIn,
    user: CurrentUser,
    coordinator: CoordinatorDep,
    commands: CommandsDep,
    key: IdempotencyKey = None,
) -> CrisisState:
    """Open a crisis (admin; exercise control for an exercise); the service chooses its id."""
    state = await commands.run(
        partial(
            coordinator.open_crisis,
            user,
            name=body.name,
            structure=body.structure,
            situation=body.situation,
            marking=body.marking,
            exercise=body.exercise,
            description=body.description,
            idempotency_key=key,
        )
    )
    return release_one(user, state, "crisis", state.id)


@router.get("/{crisis_id}", responses=responses(401, 404))
async def get_crisis(crisis_id: PathId, user: CurrentUser, coordinator: CoordinatorDep) -> CrisisState:
    """Return one crisis with its timeline of designations."""
    return release_one(user, coordinator.snapshot().crises.get(crisis_id), "crisis", crisis_id)
