"""Situation reports: file in a crisis, list, read."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query

from kizuna.coordination import SitrepState
from kizuna.service.dependencies import CommandsDep, CoordinatorDep, CurrentUser, IdempotencyKey
from kizuna.service.egress import release, release_one
from kizuna.service.errors import responses
from kizuna.service.params import PathId
from kizuna.service.schemas import SitrepIn

router = APIRouter(tags=["sitreps"])


@router.get("/api/sitreps", responses=responses(401))
async def list_sitreps(
    user: CurrentUser,
    coordinator: CoordinatorDep,
    crisis: Annotated[str | None, Query(max_length=100)] = None,
) -> list[SitrepState]:
    """List the situation reports the user may see."""
    states = sorted(coordinator.snapshot().sitreps.values(), key=lambda s: s.filed_at)
    return release(user, [s for s in states if crisis is None or s.crisis == crisis])


@router.post("/api/crises/{crisis_id}/sitreps", status_code=201, responses=responses(401, 403, 404, 409, 422))
async def file_sitrep(
    *,
    crisis_id: PathId,
    body: SitrepIn,
    user: CurrentUser,
    coordinator: CoordinatorDep,
    commands: CommandsDep,
    key: IdempotencyKey = None,
) -> SitrepState:
    """File a situation report; its marking covers the crisis and everything it refers to."""
    state = await commands.run(
        partial(
            coordinator.file_sitrep,
            user,
            crisis_id,
            title=body.title,
            text=body.text,
            marking=body.marking,
            refs=body.refs,
            idempotency_key=key,
        )
    )
    return release_one(user, state, "situation report", state.id)


@router.get("/api/sitreps/{sitrep_id}", responses=responses(401, 404))
async def get_sitrep(sitrep_id: PathId, user: CurrentUser, coordinator: CoordinatorDep) -> SitrepState:
    """Return one situation report."""
    return release_one(user, coordinator.snapshot().sitreps.get(sitrep_id), "situation report", sitrep_id)
