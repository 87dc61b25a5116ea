"""Release decisions: a disclosure officer releases a tearline of a report or widens a sensor."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query

from kizuna.service.dependencies import CurrentUser, IdempotencyKey
from kizuna.service.errors import responses
from kizuna.service.intel import IntelDep
from kizuna.service.intel_schemas import IntelReportView, ReleaseView, SensorReleaseIn, TearlineIn
from kizuna.service.threads import in_thread

router = APIRouter(tags=["intel: releases"])


@router.get("/api/intel/releases", responses=responses(401))
async def list_releases(
    user: CurrentUser, desk: IntelDep, crisis: Annotated[str | None, Query(max_length=100)] = None
) -> list[ReleaseView]:
    """List the release decisions whose record you may see (your nation's)."""
    return [ReleaseView(decision=d) for d in desk.decisions(user, crisis)]


@router.post(
    "/api/intel/reports/{report_id}/tearlines", status_code=201, responses=responses(401, 403, 404, 409, 422)
)
async def release_tearline(
    report_id: str, body: TearlineIn, user: CurrentUser, desk: IntelDep, key: IdempotencyKey = None
) -> IntelReportView:
    """Release a sanitized copy of a report under a wider marking (disclosure officers of its nation)."""
    tearline = await in_thread(
        partial(
            desk.release_tearline,
            user,
            report_id,
            title=body.title,
            text=body.text,
            marking=body.marking,
            reason=body.reason,
            place=body.place,
            observed_at=body.observed_at,
            reliability=body.reliability,
            credibility=body.credibility,
            idempotency_key=key,
        )
    )
    return IntelReportView.of(tearline, original_visible=True)


@router.post(
    "/api/intel/sensors/{sensor_id}/releases", status_code=201, responses=responses(401, 403, 404, 409, 422)
)
async def widen_sensor(
    sensor_id: str, body: SensorReleaseIn, user: CurrentUser, desk: IntelDep, key: IdempotencyKey = None
) -> ReleaseView:
    """Release a sensor's reports from a time on under a wider marking (disclosure officers of its nation)."""
    decision = await in_thread(
        partial(
            desk.widen_sensor,
            user,
            sensor_id,
            marking=body.marking,
            start=body.start,
            reason=body.reason,
            idempotency_key=key,
        )
    )
    return ReleaseView(decision=decision)
