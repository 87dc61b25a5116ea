"""Requests: file in a crisis (compiled to a decision path), list, read, withdraw."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from kizuna.coordination import RequestStatus
from kizuna.service.dependencies import CommandsDep, CoordinatorDep, CurrentUser, IdempotencyKey, ViewsDep
from kizuna.service.egress import release, release_one
from kizuna.service.errors import responses
from kizuna.service.params import PathId
from kizuna.service.schemas import RequestIn, RequestView, WithdrawIn

router = APIRouter(tags=["requests"])


@router.get("/api/requests", response_model=list[RequestView], responses=responses(401))
async def list_requests(
    user: CurrentUser,
    coordinator: CoordinatorDep,
    views: ViewsDep,
    crisis: Annotated[str | None, Query(max_length=100)] = None,
    status: RequestStatus | None = None,
) -> Response:
    """List the requests the user may see, optionally of one crisis or in one status."""
    states = sorted(coordinator.snapshot().requests.values(), key=lambda r: r.filed_at)
    chosen = [
        s for s in states if (crisis is None or s.crisis == crisis) and (status is None or s.status is status)
    ]
    return Response(views.many(release(user, chosen)), media_type="application/json")


@router.post(
    "/api/crises/{crisis_id}/requests",
    status_code=201,
    response_model=RequestView,
    responses=responses(401, 403, 404, 409, 422),
)
async def file_request(
    *,
    crisis_id: PathId,
    body: RequestIn,
    user: CurrentUser,
    coordinator: CoordinatorDep,
    commands: CommandsDep,
    views: ViewsDep,
    key: IdempotencyKey = None,
) -> Response:
    """File a request for the user's organization; it is compiled to its decision path and ruled on."""
    state = await commands.run(
        partial(
            coordinator.file_request,
            user,
            crisis_id,
            spec=body.spec_fields(),
            marking=body.marking,
            idempotency_key=key,
        )
    )
    return views.answer(release_one(user, state, "request", state.id), status_code=201)


@router.get("/api/requests/{request_id}", response_model=RequestView, responses=responses(401, 404))
async def get_request(
    request_id: PathId, user: CurrentUser, coordinator: CoordinatorDep, views: ViewsDep
) -> Response:
    """Return one request with its path and where each step stands."""
    state = coordinator.snapshot().requests.get(request_id)
    return views.answer(release_one(user, state, "request", request_id))


@router.post(
    "/api/requests/{request_id}/withdraw",
    response_model=RequestView,
    responses=responses(401, 403, 404, 409, 422),
)
async def withdraw_request(
    *,
    request_id: PathId,
    body: WithdrawIn,
    user: CurrentUser,
    coordinator: CoordinatorDep,
    commands: CommandsDep,
    views: ViewsDep,
    key: IdempotencyKey = None,
) -> Response:
    """Withdraw a request (a member of the organization that filed it); it stays withdrawn."""
    state = await commands.run(
        partial(coordinator.withdraw, user, request_id, reason=body.reason, idempotency_key=key)
    )
    return views.answer(release_one(user, state, "request", request_id))
