"""Sensors: register one of your nation in a crisis, list and read them, file their scans."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query

from kizuna.service.dependencies import CurrentUser, IdempotencyKey
from kizuna.service.errors import responses
from kizuna.service.intel import IntelDep
from kizuna.service.intel_schemas import ScanIn, ScanOut, SensorIn, SensorView
from kizuna.service.threads import in_thread

router = APIRouter(tags=["intel: sensors"])


@router.get("/api/intel/sensors", responses=responses(401))
async def list_sensors(
    user: CurrentUser, desk: IntelDep, crisis: Annotated[str | None, Query(max_length=100)] = None
) -> list[SensorView]:
    """List the sensors you may know (your nation's, and others' whose reports were released to you)."""
    return [SensorView.of(s, user) for s in desk.sensors(user, crisis)]


@router.post("/api/crises/{crisis_id}/sensors", status_code=201, responses=responses(401, 403, 404, 409, 422))
async def register_sensor(
    crisis_id: str, body: SensorIn, user: CurrentUser, desk: IntelDep, key: IdempotencyKey = None
) -> SensorView:
    """Register a sensor of your nation (the service chooses its id); its reports carry its marking."""
    sensor = await in_thread(
        partial(
            desk.register_sensor,
            user,
            crisis_id,
            name=body.name,
            kind=body.kind,
            marking=body.marking,
            description=body.description,
            idempotency_key=key,
        )
    )
    return SensorView.of(sensor, user)


@router.get("/api/intel/sensors/{sensor_id}", responses=responses(401, 404))
async def get_sensor(sensor_id: str, user: CurrentUser, desk: IntelDep) -> SensorView:
    """Return one sensor."""
    return SensorView.of(desk.sensor(user, sensor_id), user)


@router.post(
    "/api/intel/sensors/{sensor_id}/scans", status_code=201, responses=responses(401, 403, 404, 409, 422)
)
async def report_scan(
    sensor_id: str, body: ScanIn, user: CurrentUser, desk: IntelDep, key: IdempotencyKey = None
) -> ScanOut:
    """File a scan of a sensor of your nation: positions with their uncertainty, observed at one time."""
    receipt = await in_thread(
        partial(
            desk.report_tracks,
            user,
            sensor_id,
            time=body.time,
            reports=body.reports,
            restriction=body.restriction,
            idempotency_key=key,
        )
    )
    return ScanOut(sensor=receipt.sensor, time=receipt.time, reports=receipt.reports, marking=receipt.marking)
