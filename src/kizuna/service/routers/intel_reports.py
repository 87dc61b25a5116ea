"""Intelligence reports: file one of your nation, list and read the ones you may see (tearlines too)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query

from kizuna.access import User, can_see
from kizuna.intel import IntelDesk, IntelReport
from kizuna.service.dependencies import CurrentUser, IdempotencyKey
from kizuna.service.errors import responses
from kizuna.service.intel import IntelDep
from kizuna.service.intel_schemas import IntelReportIn, IntelReportView
from kizuna.service.threads import in_thread

router = APIRouter(tags=["intel: reports"])


def _view(desk: IntelDesk, user: User, report: IntelReport) -> IntelReportView:
    original = desk.view.reports.get(report.tearline_of) if report.tearline_of else None
    return IntelReportView.of(report, original is not None and can_see(user, original.marking))


@router.get("/api/intel/reports", responses=responses(401))
async def list_reports(
    user: CurrentUser, desk: IntelDep, crisis: Annotated[str | None, Query(max_length=100)] = None
) -> list[IntelReportView]:
    """List the reports and tearlines you may see, in filing order."""
    return [_view(desk, user, r) for r in desk.reports(user, crisis)]


@router.post(
    "/api/crises/{crisis_id}/intel-reports", status_code=201, responses=responses(401, 403, 404, 409, 422)
)
async def file_report(
    crisis_id: str, body: IntelReportIn, user: CurrentUser, desk: IntelDep, key: IdempotencyKey = None
) -> IntelReportView:
    """File an intelligence report (text, place, time, Admiralty grading, marking)."""
    report = await in_thread(
        partial(
            desk.file_report,
            user,
            crisis_id,
            title=body.title,
            text=body.text,
            reliability=body.reliability,
            credibility=body.credibility,
            marking=body.marking,
            place=body.place,
            observed_at=body.observed_at,
            idempotency_key=key,
        )
    )
    return _view(desk, user, report)


@router.get("/api/intel/reports/{report_id}", responses=responses(401, 404))
async def get_report(report_id: str, user: CurrentUser, desk: IntelDep) -> IntelReportView:
    """Return one report."""
    return _view(desk, user, desk.report(user, report_id))
