"""Exercises: create one from a scenario (and its MSEL), run the clock, deliver and file injects, observe.

Everything an exercise does is an event in the log, so it reaches the console through the same event
stream as the rest (`/api/events/stream`): `exercise-clock` carries the clock's whole state (the console
runs the exercise time from it between changes), `exercise-inject-delivered` each inject as it reaches
its recipients' inboxes. Exercise control (the white cell) sees the MSEL and runs the clock; players see
their inboxes; observers and controllers write observations. Every answer passes the egress filter.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kizuna.access import Marking, User
from kizuna.errors import DataError, InvalidQuery, NotFound, PermissionDenied, Problem
from kizuna.exercise import ClockAction, ClockState, DeliveryThread, Exercises, ExerciseState, InjectState
from kizuna.exercise.design import msel_for
from kizuna.exercise.state import OBSERVING_ROLES, WHITE_CELL
from kizuna.interop.msel import Msel, MselRow, parse_time, read_msel
from kizuna.model.ids import Ident
from kizuna.model.scenario import Scenario, load_scenario
from kizuna.service.dependencies import CurrentUser
from kizuna.service.egress import release, release_one
from kizuna.service.errors import responses
from kizuna.service.runtime import Runtime
from kizuna.service.schemas import RequestView
from kizuna.service.threads import in_thread


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Follow the log for exercises and deliver injects at their time while the app runs."""
    runtime: Runtime = app.state.runtime
    exercises = Exercises(runtime.coordinator, clock=runtime.clock)
    delivery = DeliveryThread(exercises)
    app.state.exercises = exercises
    delivery.start()
    try:
        yield
    finally:
        delivery.stop()
        exercises.close()


#: The app's lifespan enters `lifespan` (the app adds these routes flat, so a router lifespan would not run).
router = APIRouter(prefix="/api/exercises", tags=["exercises"])


async def get_exercises(request: Request) -> Exercises:
    """Return the app's exercises."""
    exercises: Exercises = request.app.state.exercises
    return exercises


ExercisesDep = Annotated[Exercises, Depends(get_exercises)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: The form of the ids the service chooses for crises (`c-` and 40 random bits): an exercise's id, which
#: exercise control chooses, may not take it, so that creating an exercise can never collide with (and
#: so reveal) a real crisis exercise control may not see.
SERVICE_ID = re.compile(r"^[a-z]-[0-9a-f]{10}$")


class ExerciseIn(_Body):
    """An exercise to create: a scenario played in a structure, with its MSEL (default: the scenario's)."""

    id: Ident = Field(
        description="The exercise's id, chosen by exercise control (not of the form c-0123456789)."
    )
    name: str = Field(min_length=1, max_length=200)
    scenario: Ident | dict[str, Any] = Field(description="A bundled scenario id, or a scenario's data.")
    structure: Ident | None = Field(default=None, description="Default: the scenario's first structure.")
    situation: Ident = Field(default="peacetime", description="The situation in force at the start.")
    marking: Marking
    msel: list[dict[str, Any]] | None = Field(
        default=None,
        description="MSEL rows (as `/api/exercises/msel-check` returns them); default: the scenario's.",
    )
    objectives: list[str] = Field(default_factory=list, max_length=100)
    seed: int = Field(
        default=0, description="Seed for arrival processes when the MSEL is made from the scenario."
    )

    @field_validator("id")
    @classmethod
    def _not_a_service_id(cls, value: str) -> str:
        if SERVICE_ID.match(value):
            raise ValueError(
                "an exercise id may not have the form of the ids the service chooses for crises "
                "(c-0123456789); choose another"
            )
        return value


class ClockIn(_Body):
    """A change of the exercise clock."""

    action: ClockAction
    speed: float | None = Field(default=None, description="1 to 3600 (exercise seconds per second).")
    to: datetime | None = Field(default=None, description="For `jump` (or `start`): an aware exercise time.")


class ClockOut(BaseModel):
    """The clock: its state, the exercise time now and the server's wall clock (to run it in between)."""

    state: ClockState
    exercise_time: datetime
    server_time: datetime
    hours: float = Field(description="Exercise time as hours after the start (H+).")


class InjectOut(BaseModel):
    """An inject: the MSEL row, its marking, whether (and when, in exercise time) it was delivered."""

    row: MselRow
    marking: Marking
    banner: str
    added: bool
    delivered: datetime | None
    requests: list[str] = Field(description="Requests filed in answer to it.")

    @classmethod
    def of(cls, inject: InjectState, user: User) -> InjectOut:
        """Build the view of an inject for a user."""
        return cls(
            row=inject.row,
            marking=inject.marking,
            banner=inject.marking.banner(user.nation),
            added=inject.added,
            delivered=inject.delivered,
            requests=[r for _, r in inject.answers],
        )


class ExerciseOut(BaseModel):
    """An exercise as its users see it."""

    id: str
    name: str
    structure: str
    scenario: str
    marking: Marking
    banner: str
    start: datetime
    objectives: list[str]
    clock: ClockOut
    injects: int = Field(description="Injects in the MSEL (exercise control sees them; players their inbox).")
    delivered: int
    next_due: datetime | None = Field(description="The next inject's time (exercise control only).")
    observations: int


class InjectIn(_Body):
    """An ad hoc inject (exercise control). Without `time` it is due now."""

    serial: str = Field(min_length=1, max_length=40)
    time: str | None = Field(default=None, description="D+1 06:00, H+6.5 or an aware date-time.")
    event: str = Field(min_length=1, max_length=4000)
    to: list[Ident] = Field(min_length=1, max_length=100)
    sender: str = Field(default="EXCON", max_length=200)
    method: str = Field(default="", max_length=200)
    expected_action: str = Field(default="", max_length=4000)
    objective: str = Field(default="", max_length=200)
    remarks: str = Field(default="", max_length=4000)
    marking: Marking | None = None
    request: Ident | None = None


class FileIn(_Body):
    """Filing the request an inject asks for; the marking adds to the inject's (default: the inject's)."""

    marking: Marking | None = None


class ObservationIn(_Body):
    """An observation tied to an objective, at the exercise time now."""

    objective: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000)
    rating: Literal["met", "partly-met", "not-met"] | None = None
    refs: list[str] = Field(default_factory=list, max_length=50)
    marking: Marking | None = None


class ObservationOut(BaseModel):
    """An observation as readers see it."""

    id: str
    objective: str
    text: str
    exercise_time: datetime
    rating: str | None
    refs: list[str]
    author: str
    organization: str
    marking: Marking


def _clock(exercises: Exercises, state: ExerciseState) -> ClockOut:
    wall = exercises.clock()
    current = state.clock.current
    return ClockOut(
        state=current,
        exercise_time=current.now(wall),
        server_time=wall,
        hours=current.hours(wall, state.start),
    )


def _out(exercises: Exercises, state: ExerciseState, user: User) -> ExerciseOut:
    white = user.role == WHITE_CELL
    delivered = [i for i in state.injects.values() if i.delivered is not None]
    return ExerciseOut(
        id=state.id,
        name=state.name,
        structure=state.structure,
        scenario=state.scenario.id,
        marking=state.marking,
        banner=state.marking.banner(user.nation),
        start=state.start,
        objectives=list(state.objectives),
        clock=_clock(exercises, state),
        injects=len(state.injects) if white else len(exercises.inbox(user, state.id)),
        delivered=len(delivered) if white else len(exercises.inbox(user, state.id)),
        next_due=state.next_due() if white else None,
        observations=len(state.observations),
    )


def _scenario(value: str | dict[str, Any]) -> Scenario:
    if isinstance(value, str):
        return load_scenario(value)
    try:
        return Scenario.model_validate(value)
    except ValueError as error:
        raise InvalidQuery(f"invalid scenario: {error}") from error


@router.get("", responses=responses(401))
async def list_exercises(user: CurrentUser, exercises: ExercisesDep) -> list[ExerciseOut]:
    """List the exercises the user may see."""
    return [_out(exercises, s, user) for s in exercises.visible(user)]


@router.post("", status_code=201, responses=responses(401, 403, 409, 422))
async def create_exercise(body: ExerciseIn, user: CurrentUser, exercises: ExercisesDep) -> ExerciseOut:
    """Create an exercise (exercise control): its crisis opens as exercise traffic; the clock waits."""

    def create() -> ExerciseState:
        scenario = _scenario(body.scenario)
        structure = body.structure or (scenario.structures[0] if scenario.structures else "")
        if body.msel is None:
            msel = msel_for(scenario, structure, exercises.coordinator.law, seed=body.seed)
        else:
            try:
                msel = Msel(start=scenario.start, rows=tuple(MselRow.model_validate(r) for r in body.msel))
            except ValueError as error:
                raise InvalidQuery(f"invalid MSEL rows: {error}") from error
        return exercises.create(
            user,
            exercise_id=body.id,
            name=body.name,
            scenario=scenario,
            msel=msel,
            structure=structure,
            situation=body.situation,
            marking=body.marking,
            objectives=body.objectives,
        )

    state = await in_thread(create)
    return _out(exercises, state, user)


@router.post("/msel-check", responses=responses(401, 403, 422))
async def check_msel(
    *,
    user: CurrentUser,
    exercises: ExercisesDep,
    file: Annotated[UploadFile, File(description="An MSEL as .xlsx or .csv.")],
    scenario: Annotated[str, Form(description="The bundled scenario the MSEL belongs to.")],
    structure: Annotated[str | None, Form()] = None,
    owner: Annotated[str | None, Form(description="The nation bare markings belong to.")] = None,
) -> list[MselRow]:
    """Read an uploaded MSEL and check every row (422 lists every problem); return the rows."""
    if user.role != WHITE_CELL:
        raise PermissionDenied("MSELs are exercise control's")
    loaded = load_scenario(scenario)
    org_structure = exercises.coordinator.law.structure(structure or loaded.structures[0])
    suffix = Path(file.filename or "msel.xlsx").suffix.lower()
    if suffix not in {".xlsx", ".csv"}:
        raise InvalidQuery(f"an MSEL is .xlsx or .csv, not {suffix!r}")
    content = await file.read()

    def parse() -> Msel:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"msel{suffix}"
            path.write_bytes(content)
            try:
                return read_msel(
                    path,
                    start=loaded.start,
                    organizations=org_structure.org_by_id,
                    requests=[r.id for r in loaded.requests],
                    owner=owner,
                )
            except DataError as error:  # name the upload, not the temporary file
                raise DataError([_renamed(p, file.filename or "upload") for p in error.problems]) from error

    return list((await in_thread(parse)).rows)


def _renamed(problem: Problem, name: str) -> Problem:
    sheet = problem.file.split(" sheet ", 1)
    where = f"{name} sheet {sheet[1]}" if len(sheet) > 1 else name
    return Problem(where, problem.line, problem.field, problem.message, problem.value, problem.expected)


@router.get("/{exercise_id}", responses=responses(401, 404))
async def get_exercise(exercise_id: str, user: CurrentUser, exercises: ExercisesDep) -> ExerciseOut:
    """Return an exercise: its clock, and how far its MSEL has come (for exercise control)."""
    return _out(exercises, exercises.get(user, exercise_id), user)


@router.get("/{exercise_id}/clock", responses=responses(401, 404))
async def get_clock(exercise_id: str, user: CurrentUser, exercises: ExercisesDep) -> ClockOut:
    """Return the exercise clock with the server's wall-clock time."""
    return _clock(exercises, exercises.get(user, exercise_id))


@router.post("/{exercise_id}/clock", responses=responses(401, 403, 404, 409, 422))
async def set_clock(exercise_id: str, body: ClockIn, user: CurrentUser, exercises: ExercisesDep) -> ClockOut:
    """Start, pause, resume, change the speed of, or jump the clock (exercise control)."""
    await in_thread(
        partial(exercises.set_clock, user, exercise_id, body.action, speed=body.speed, to=body.to)
    )
    return _clock(exercises, exercises.get(user, exercise_id))


@router.get("/{exercise_id}/msel", responses=responses(401, 403, 404))
async def get_msel(exercise_id: str, user: CurrentUser, exercises: ExercisesDep) -> list[InjectOut]:
    """Return the whole MSEL with what became of each inject (exercise control)."""
    state = exercises.get(user, exercise_id)
    if user.role != WHITE_CELL:
        raise PermissionDenied("the MSEL is exercise control's; players read their inbox")
    injects = sorted(state.injects.values(), key=lambda i: (i.row.time, i.row.serial))
    return [InjectOut.of(i, user) for i in release(user, injects)]


@router.get(
    "/{exercise_id}/msel.xlsx",
    response_class=Response,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
        **responses(401, 403, 404),
    },
)
async def export_msel(exercise_id: str, user: CurrentUser, exercises: ExercisesDep) -> Response:
    """Export the MSEL, with ad hoc injects, as .xlsx (exercise control)."""
    from kizuna.interop.msel import write_msel

    state = exercises.get(user, exercise_id)
    if user.role != WHITE_CELL:
        raise PermissionDenied("the MSEL is exercise control's")
    rows = tuple(i.row for i in release(user, state.injects.values()))
    msel = Msel(
        start=state.start,
        rows=tuple(sorted(rows, key=lambda r: (r.time, r.serial))),
        requests=state.msel.requests,
    )

    def write() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            return write_msel(msel, Path(folder) / "msel.xlsx").read_bytes()

    content = await in_thread(write)
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{exercise_id}-msel.xlsx"'},
    )


@router.post("/{exercise_id}/injects", status_code=201, responses=responses(401, 403, 404, 409, 422))
async def add_inject(
    exercise_id: str, body: InjectIn, user: CurrentUser, exercises: ExercisesDep
) -> InjectOut:
    """Add an inject while the exercise runs (exercise control); it is delivered at its time."""
    state = exercises.get(user, exercise_id)
    try:
        when = parse_time(body.time, state.start) if body.time else exercises.now(exercise_id)
    except ValueError as error:
        raise InvalidQuery(f"time {body.time!r}: expected D+1 06:00, H+6.5 or an aware date-time") from error
    row = MselRow(
        serial=body.serial,
        time=when,
        event=body.event,
        sender=body.sender,
        to=tuple(body.to),
        method=body.method,
        expected_action=body.expected_action,
        objective=body.objective,
        remarks=body.remarks,
        marking=body.marking,
        request=body.request,
    )
    inject = await in_thread(partial(exercises.add_inject, user, exercise_id, row))
    return InjectOut.of(inject, user)


@router.get("/{exercise_id}/inbox", responses=responses(401, 404))
async def inbox(exercise_id: str, user: CurrentUser, exercises: ExercisesDep) -> list[InjectOut]:
    """Return the injects delivered to the user's organization, in the order they arrived."""
    return [InjectOut.of(i, user) for i in exercises.inbox(user, exercise_id)]


@router.post(
    "/{exercise_id}/injects/{serial}/file", status_code=201, responses=responses(401, 403, 404, 409, 422)
)
async def file_inject(
    *,
    exercise_id: str,
    serial: str,
    user: CurrentUser,
    exercises: ExercisesDep,
    body: FileIn | None = None,
) -> RequestView:
    """File the request an inject asks for (a member of a recipient organization); filing twice is once."""
    state = await in_thread(
        partial(exercises.file_inject, user, exercise_id, serial, marking=body.marking if body else None)
    )
    return RequestView.of(release_one(user, state, "request", state.id))


@router.get("/{exercise_id}/observations", responses=responses(401, 403, 404))
async def list_observations(
    exercise_id: str,
    user: CurrentUser,
    exercises: ExercisesDep,
    objective: Annotated[str | None, Query(max_length=200)] = None,
) -> list[ObservationOut]:
    """List the observations (observers, controllers and exercise control), optionally of one objective."""
    state = exercises.get(user, exercise_id)
    if user.role not in OBSERVING_ROLES:
        raise PermissionDenied("observations are read by observers, controllers and exercise control")
    return [
        ObservationOut(
            id=o.id,
            objective=o.objective,
            text=o.text,
            exercise_time=o.exercise_time,
            rating=o.rating,
            refs=list(o.refs),
            author=o.author.user,
            organization=o.author.organization,
            marking=o.marking,
        )
        for o in release(user, state.observations)
        if objective is None or o.objective == objective
    ]


@router.post("/{exercise_id}/observations", status_code=201, responses=responses(401, 403, 404, 422))
async def observe(
    exercise_id: str, body: ObservationIn, user: CurrentUser, exercises: ExercisesDep
) -> ObservationOut:
    """Write an observation at the exercise time now (observers, controllers, exercise control)."""
    observation = await in_thread(
        partial(
            exercises.observe,
            user,
            exercise_id,
            objective=body.objective,
            text=body.text,
            rating=body.rating,
            refs=body.refs,
            marking=body.marking,
        )
    )
    state = exercises.get(user, exercise_id)
    for o in state.observations:
        if o.id == observation:
            return ObservationOut(
                id=o.id,
                objective=o.objective,
                text=o.text,
                exercise_time=o.exercise_time,
                rating=o.rating,
                refs=list(o.refs),
                author=o.author.user,
                organization=o.author.organization,
                marking=o.marking,
            )
    raise NotFound(f"no observation {observation!r}")  # pragma: no cover - recorded just above


def exercises_structure(runtime: Runtime, exercise_id: str) -> str:
    """The structure an exercise's crisis runs in."""
    crisis = runtime.coordinator.view.crises.get(exercise_id)
    if crisis is None:
        raise NotFound(f"no exercise {exercise_id!r}")
    return crisis.structure


Replications = Annotated[int, Query(ge=100, le=100_000, description="Simulated replications.")]


@router.get("/{exercise_id}/aar", responses=responses(401, 403, 404))
async def review_data(
    *,
    exercise_id: str,
    user: CurrentUser,
    exercises: ExercisesDep,
    replications: Replications = 2000,
    seed: int = 0,
) -> Any:
    """The after-action review as data: measured times beside the simulated ones, tests, calibration."""
    review = await in_thread(
        partial(exercises.review, user, exercise_id, replications=replications, seed=seed)
    )
    return review.model_dump(mode="json")


@router.get(
    "/{exercise_id}/aar.html",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}}, **responses(401, 403, 404)},
)
async def review_page(
    *,
    exercise_id: str,
    user: CurrentUser,
    exercises: ExercisesDep,
    replications: Replications = 2000,
    seed: int = 0,
) -> HTMLResponse:
    """The after-action review as one self-contained HTML page under the exercise's banner."""
    from kizuna.exercise.review_report import render_html

    state = exercises.reviewable(user, exercise_id)

    def render() -> str:
        review = exercises.review(user, exercise_id, replications=replications, seed=seed)
        return render_html(review, banner=state.marking.banner(user.nation))

    return HTMLResponse(await in_thread(render))


_DOCUMENTS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@router.get(
    "/{exercise_id}/aar.{kind}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in _DOCUMENTS.values()}}, **responses(401, 403, 404, 422)},
)
async def review_document(
    *,
    exercise_id: str,
    kind: Literal["xlsx", "pdf"],
    user: CurrentUser,
    exercises: ExercisesDep,
    replications: Replications = 2000,
    seed: int = 0,
) -> Response:
    """The after-action review as a workbook (every row) or a PDF, under the exercise's banner."""
    from kizuna.exercise.review_report import write_pdf, write_xlsx

    banner = exercises.reviewable(user, exercise_id).marking.banner(user.nation)

    def write() -> bytes:
        review = exercises.review(user, exercise_id, replications=replications, seed=seed)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"aar.{kind}"
            (write_xlsx if kind == "xlsx" else write_pdf)(review, path, banner=banner)
            return path.read_bytes()

    content = await in_thread(write)
    return Response(
        content,
        media_type=_DOCUMENTS[kind],
        headers={"Content-Disposition": f'attachment; filename="{exercise_id}-aar.{kind}"'},
    )
