"""Steps of a request's decision path and the actions members of each step's organization take."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter
from starlette.responses import Response

from kizuna.service.dependencies import CommandsDep, CoordinatorDep, CurrentUser, IdempotencyKey, ViewsDep
from kizuna.service.egress import release_one
from kizuna.service.errors import responses
from kizuna.service.params import PathId
from kizuna.service.schemas import ActionIn, RequestView, StepView

router = APIRouter(prefix="/api/requests/{request_id}/steps", tags=["steps"])


@router.get("", responses=responses(401, 404))
async def list_steps(request_id: PathId, user: CurrentUser, coordinator: CoordinatorDep) -> list[StepView]:
    """List a request's steps in path order with their statuses."""
    state = coordinator.snapshot().requests.get(request_id)
    return RequestView.of(release_one(user, state, "request", request_id)).steps


@router.post("/{step_id}/actions", response_model=RequestView, responses=responses(401, 403, 404, 409, 422))
async def act(
    *,
    request_id: PathId,
    step_id: PathId,
    body: ActionIn,
    user: CurrentUser,
    coordinator: CoordinatorDep,
    commands: CommandsDep,
    views: ViewsDep,
    key: IdempotencyKey = None,
) -> Response:
    """Act on a step as a member of its organization; a lost race answers 409 with the current state."""
    state = await commands.run(
        partial(
            coordinator.act, user, request_id, step_id, body.action, reason=body.reason, idempotency_key=key
        )
    )
    return views.answer(release_one(user, state, "request", request_id))
