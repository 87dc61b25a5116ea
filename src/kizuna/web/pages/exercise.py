"""Exercises in the console: the list and creation (MSEL upload), exercise control's page (clock, MSEL
board, ad hoc injects), the players' inbox, the observers' observations, and the after-action review.

Every page reads the exercise through `kizuna.exercise.Exercises` as the API does (`get` and `visible`
refuse what the user may not see; injects, observations and requests pass `release`), and every form
calls the same command the API route calls, so the rules stay in `kizuna.exercise`. An MSEL that does not
read is answered with every problem (file and sheet, row, column, value, what was expected) and nothing is
imported.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from kizuna.access import Marking, User
from kizuna.errors import DataError, InvalidQuery, KizunaError, PermissionDenied, Problem
from kizuna.exercise import ClockAction, Exercises, ExerciseState, InjectState
from kizuna.exercise.design import msel_for
from kizuna.exercise.state import OBSERVING_ROLES, WHITE_CELL, Observation
from kizuna.interop.msel import Msel, MselRow, parse_time, read_msel
from kizuna.model.loading import bundled_ids
from kizuna.model.scenario import load_scenario
from kizuna.service.dependencies import RuntimeDep
from kizuna.service.egress import release
from kizuna.service.routers.exercises import exercises_structure
from kizuna.service.runtime import Runtime
from kizuna.service.threads import in_thread
from kizuna.web import views
from kizuna.web.exercise_clock import clock_view, day_time, hours_label
from kizuna.web.forms import answer, levels_for, marking_of, text
from kizuna.web.render import TEMPLATES, page
from kizuna.web.session import CheckedForm, Viewer, ViewerDep

router = APIRouter(include_in_schema=False)

#: Clock speeds offered by exercise control's form (the clock takes any speed from 1x to 3600x).
SPEEDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
#: Ratings an observation may carry.
RATINGS = ("met", "partly-met", "not-met")
#: Largest MSEL upload read (a 50,000-row sheet is a few megabytes).
MAX_UPLOAD = 64 * 1024 * 1024


def exercises_of(request: Request) -> Exercises:
    """Return the service's exercises (started with the app by the exercises router)."""
    exercises: Exercises = request.app.state.exercises
    return exercises


def _nations(runtime: Runtime) -> list[Any]:
    """Every nation of the bundled structures, once each by code (never an assumed pair)."""
    seen: dict[str, Any] = {}
    for structure_id in bundled_ids("structures"):
        for nation in runtime.coordinator.law.structure(structure_id).nations:
            seen.setdefault(nation.code, nation)
    return list(seen.values())


@router.get("/exercises", response_class=HTMLResponse)
def exercises_page(request: Request, runtime: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """List the exercises the user may see; exercise control also gets the form that creates one."""
    exercises = exercises_of(request)
    wall = runtime.clock()
    visible = sorted(exercises.visible(who.user), key=lambda e: e.created_at, reverse=True)
    white = who.user.role == WHITE_CELL
    scenarios = [s for s in bundled_ids("scenarios") if _playable(s)] if white else []
    return page(
        request,
        runtime,
        who,
        "exercises.html",
        title=who.t("exercise.list-title"),
        shown=[e.marking for e in visible],
        active="exercise",
        items=[(e, clock_view(e, wall)) for e in visible],
        white=white,
        scenarios=scenarios,
        structures=bundled_ids("structures"),
        situations=sorted(runtime.coordinator.law.frameworks.situations),
        levels=levels_for(who.user),
        nations=_nations(runtime) if white else [],
    )


def _playable(scenario_id: str) -> bool:
    """Tell whether a bundled scenario can be played as an exercise (a structure, not a queue network)."""
    try:
        scenario = load_scenario(scenario_id)
    except KizunaError:
        return False
    return scenario.network is None and scenario.parameters is not None and bool(scenario.structures)


async def _upload(form: FormData) -> tuple[str, bytes] | None:
    """Return the uploaded MSEL's file name and content (None when no file was chosen)."""
    upload = form.get("msel")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    content = await upload.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise InvalidQuery(f"{upload.filename}: larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    return upload.filename, content


def read_upload(
    name: str, content: bytes, *, start: datetime, organizations: Iterable[str], requests: Iterable[str]
) -> Msel:
    """Read an uploaded MSEL (.xlsx or .csv); DataError names the upload, its sheet, row and column."""
    suffix = Path(name).suffix.lower()
    if suffix not in {".xlsx", ".csv"}:
        raise DataError([Problem(name, None, "file", "an MSEL is .xlsx or .csv", suffix, ".xlsx or .csv")])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"msel{suffix}"
        path.write_bytes(content)
        try:
            return read_msel(path, start=start, organizations=set(organizations), requests=list(requests))
        except DataError as error:  # name the upload, not the temporary file
            raise DataError([_renamed(p, name) for p in error.problems]) from error


def _renamed(problem: Problem, name: str) -> Problem:
    sheet = problem.file.split(" sheet ", 1)
    where = f"{name} sheet {sheet[1]}" if len(sheet) > 1 else name
    return Problem(where, problem.line, problem.field, problem.message, problem.value, problem.expected)


def _problems(request: Request, who: Viewer, error: DataError, fallback: str) -> Response:
    """Answer a form whose data did not read: every problem in a table, nothing imported."""
    if not request.headers.get("HX-Request"):
        return answer(request, who, error=error, fallback=fallback)
    return TEMPLATES.TemplateResponse(
        request,
        "partials/problems.html",
        {"t": who.t, "problems": error.problems},
    )  # 200, like every result fragment: htmx swaps in only successful answers


@router.post("/exercises")
async def create_exercise(
    request: Request, runtime: RuntimeDep, who: ViewerDep, form: CheckedForm
) -> Response:
    """Create an exercise from a bundled scenario and its MSEL (uploaded, or the scenario's own)."""
    t = who.t
    exercises = exercises_of(request)
    try:
        if who.user.role != WHITE_CELL:
            raise PermissionDenied(
                f"{who.user.id} is {who.user.role!r}; creating an exercise needs exercise-control"
            )
        exercise_id = text(form, "id", limit=64)
        name = text(form, "name", limit=200)
        if not exercise_id or not name:
            raise InvalidQuery("an exercise needs an id and a name")
        scenario_id = text(form, "scenario", limit=64)
        scenario = load_scenario(scenario_id)
        structure_id = text(form, "structure", limit=64) or scenario.structures[0]
        structure = runtime.coordinator.law.structure(structure_id)
        marking = marking_of(form, who.user).model_copy(update={"exercise": True})
        lines = text(form, "objectives", limit=20_000).splitlines()
        objectives = [line.strip() for line in lines if line.strip()]
        uploaded = await _upload(form)

        def create() -> ExerciseState:
            if uploaded is None:
                msel = msel_for(scenario, structure_id, runtime.coordinator.law)
            else:
                msel = read_upload(
                    *uploaded,
                    start=scenario.start,
                    organizations=structure.org_by_id,
                    requests=[r.id for r in scenario.requests],
                )
            return exercises.create(
                who.user,
                exercise_id=exercise_id,
                name=name,
                scenario=scenario,
                msel=msel,
                structure=structure_id,
                situation=text(form, "situation", limit=64) or "peacetime",
                marking=marking,
                objectives=objectives,
            )

        state = await in_thread(create)
    except DataError as error:
        return _problems(request, who, error, "/exercises")
    except KizunaError as error:
        return answer(request, who, error=error, fallback="/exercises")
    return answer(
        request,
        who,
        ok=t("exercise.created", id=state.id, rows=len(state.injects)),
        fallback=f"/exercises/{state.id}",
        link=f"/exercises/{state.id}",
    )


def _observations(user: User, state: ExerciseState) -> dict[str, list[Observation]]:
    """The observations the user may see, grouped by objective (the exercise's objectives first)."""
    grouped: dict[str, list[Observation]] = {o: [] for o in state.objectives}
    for observation in release(user, state.observations):
        grouped.setdefault(observation.objective, []).append(observation)
    return {k: sorted(v, key=lambda o: o.exercise_time, reverse=True) for k, v in grouped.items()}


@router.get("/exercises/{exercise_id}", response_class=HTMLResponse)
def exercise_page(exercise_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """Render an exercise: exercise control's clock and MSEL board, a player's inbox and queue, and the
    observers' observations, each as the user's role and markings allow."""
    exercises = exercises_of(request)
    user = who.user
    state = exercises.get(user, exercise_id)
    wall = runtime.clock()
    law = runtime.coordinator.law
    structure = law.structure(state.structure)
    white = user.role == WHITE_CELL
    observing = user.role in OBSERVING_ROLES
    view = runtime.coordinator.snapshot()
    injects: list[InjectState] = []
    if white:
        injects = release(user, sorted(state.injects.values(), key=lambda i: (i.row.time, i.row.serial)))
    player = not white and user.role.can_write  # observers and controllers play no cell
    inbox = list(reversed(exercises.inbox(user, exercise_id))) if player else []
    overview = views.overview(user, view, exercise_id, law=law, now=wall)
    answered = {r.id: r for r in overview.requests}
    observations = _observations(user, state) if observing else {}
    shown: list[Marking] = [state.marking, *(i.marking for i in injects), *(i.marking for i in inbox)]
    queue = overview.queue if player else []
    shown += [q.request.marking for q in queue]
    shown += [o.marking for group in observations.values() for o in group]
    return page(
        request,
        runtime,
        who,
        "exercise.html",
        title=state.name,
        shown=shown,
        structure=structure,
        active="exercise",
        exercise_id=exercise_id,
        x=state,
        clock=clock_view(state, wall),
        white=white,
        observing=observing,
        injects=injects,
        inbox=inbox,
        queue=queue,
        player=player,
        answered=answered,
        observations=observations,
        ratings=RATINGS,
        speeds=SPEEDS,
        day_time=lambda moment: day_time(moment, state.start, state.scenario.zone),
        hours_label=lambda moment: hours_label(moment, state.start),
        levels=levels_for(user),
        nations=structure.nations,
        requests=[r.id for r in state.scenario.requests] + [r.id for r in state.msel.requests],
        players=list(structure.organizations),
    )


def _exercise_time(value: str, state: ExerciseState) -> datetime:
    try:
        return parse_time(value, state.start)
    except ValueError as error:
        expected = "D+1 06:00, H+6.5 or a date-time with its offset"
        raise InvalidQuery(f"time {value!r}: expected {expected}") from error


@router.post("/exercises/{exercise_id}/clock")
async def set_clock(exercise_id: str, request: Request, who: ViewerDep, form: CheckedForm) -> Response:
    """Start, pause, resume, change the speed of or jump the clock (exercise control)."""
    exercises = exercises_of(request)
    back = f"/exercises/{exercise_id}"
    try:
        state = exercises.get(who.user, exercise_id)
        try:
            action = ClockAction(text(form, "action"))
        except ValueError as error:
            raise InvalidQuery(f"unknown clock action {text(form, 'action')!r}") from error
        speed_text = text(form, "speed")
        speed: float | None = None
        if speed_text and action in {ClockAction.START, ClockAction.SPEED}:
            try:
                speed = float(speed_text)
            except ValueError as error:
                raise InvalidQuery(f"speed {speed_text!r} is not a number") from error
        to_text = text(form, "to")
        to = _exercise_time(to_text, state) if to_text and action is ClockAction.JUMP else None
        change = partial(exercises.set_clock, who.user, exercise_id, action, speed=speed, to=to)
        await in_thread(change)
    except KizunaError as error:
        return answer(request, who, error=error, fallback=back)
    return answer(request, who, ok=who.t(f"exclock.done-{action.value}"), fallback=back)


@router.post("/exercises/{exercise_id}/injects")
async def add_inject(exercise_id: str, request: Request, who: ViewerDep, form: CheckedForm) -> Response:
    """Add an ad hoc inject (exercise control): due at its time, or now."""
    exercises = exercises_of(request)
    back = f"/exercises/{exercise_id}"
    try:
        state = exercises.get(who.user, exercise_id)
        time_text = text(form, "time")
        when = _exercise_time(time_text, state) if time_text else exercises.now(exercise_id)
        to = [o for o in form.getlist("to") if isinstance(o, str) and o]
        if not to:
            raise InvalidQuery("an inject goes to at least one player organization")
        row = MselRow(
            serial=text(form, "serial", limit=40),
            time=when,
            event=text(form, "event", limit=4000),
            sender=text(form, "sender", limit=200) or "EXCON",
            to=tuple(to),
            method=text(form, "method", limit=200),
            expected_action=text(form, "expected_action", limit=4000),
            objective=text(form, "objective", limit=200),
            marking=marking_of(form, who.user).model_copy(update={"exercise": True}),
            request=text(form, "request", limit=64) or None,
        )
        inject = await in_thread(partial(exercises.add_inject, who.user, exercise_id, row))
    except DataError as error:
        return _problems(request, who, error, back)
    except ValueError as error:  # the row's own checks (an empty serial or event)
        return answer(request, who, error=InvalidQuery(str(error)), fallback=back)
    except KizunaError as error:
        return answer(request, who, error=error, fallback=back)
    return answer(request, who, ok=who.t("inject.added", serial=inject.row.serial), fallback=back)


@router.post("/exercises/{exercise_id}/injects/{serial}/file")
async def file_inject(
    exercise_id: str, serial: str, request: Request, who: ViewerDep, _form: CheckedForm
) -> Response:
    """File the request an inject asks for (a member of a recipient organization)."""
    exercises = exercises_of(request)
    back = f"/exercises/{exercise_id}"
    try:
        filed = await in_thread(partial(exercises.file_inject, who.user, exercise_id, serial))
    except KizunaError as error:
        return answer(request, who, error=error, fallback=back)
    return answer(
        request, who, ok=who.t("result.filed", id=filed.id), fallback=back, link=f"/requests/{filed.id}"
    )


@router.post("/exercises/{exercise_id}/observations")
async def observe(exercise_id: str, request: Request, who: ViewerDep, form: CheckedForm) -> Response:
    """Write an observation tied to an objective, at the exercise time now (observers, controllers)."""
    exercises = exercises_of(request)
    back = f"/exercises/{exercise_id}"
    try:
        rating = text(form, "rating") or None
        if rating is not None and rating not in RATINGS:
            raise InvalidQuery(f"rating {rating!r}: expected one of {', '.join(RATINGS)}")
        await in_thread(
            partial(
                exercises.observe,
                who.user,
                exercise_id,
                objective=text(form, "objective", limit=200),
                text=text(form, "text", limit=20_000),
                rating=rating,
                refs=[r for r in form.getlist("refs") if isinstance(r, str) and r],
                marking=marking_of(form, who.user).model_copy(update={"exercise": True}),
            )
        )
    except KizunaError as error:
        return answer(request, who, error=error, fallback=back)
    return answer(request, who, ok=who.t("observation.recorded"), fallback=back)


Replications = Annotated[int, Query(ge=100, le=100_000)]


@router.get("/exercises/{exercise_id}/aar", response_class=HTMLResponse)
def review_page(
    *,
    exercise_id: str,
    request: Request,
    runtime: RuntimeDep,
    who: ViewerDep,
    replications: Replications = 2000,
    seed: int = 0,
) -> HTMLResponse:
    """The after-action review's page: its documents, and the review itself loaded into it once built."""
    state = exercises_of(request).reviewable(who.user, exercise_id)
    return page(
        request,
        runtime,
        who,
        "aar.html",
        title=who.t("aar.title", name=state.name),
        shown=[state.marking],
        structure=runtime.coordinator.law.structure(state.structure),
        active="exercise",
        exercise_id=exercise_id,
        x=state,
        query=f"replications={replications}&seed={seed}",
    )


@router.get("/exercises/{exercise_id}/aar/review", response_class=HTMLResponse)
async def review_fragment(
    *,
    exercise_id: str,
    request: Request,
    runtime: RuntimeDep,
    who: ViewerDep,
    replications: Replications = 2000,
    seed: int = 0,
) -> HTMLResponse:
    """The review, built from the log as far as the user may see it (as the API builds it)."""
    exercises = exercises_of(request)
    state = exercises.reviewable(who.user, exercise_id)
    structure = runtime.coordinator.law.structure(exercises_structure(runtime, exercise_id))
    review = await in_thread(
        partial(exercises.review, who.user, exercise_id, replications=replications, seed=seed)
    )
    names = {o.id: who.t.name(o) for o in structure.organizations}
    return TEMPLATES.TemplateResponse(
        request,
        "partials/aar-review.html",
        {
            "t": who.t,
            "rv": review,
            "x": state,
            "org_name": lambda org_id: names.get(org_id, org_id),
            "hours": lambda h: "—" if h is None else f"{h:.1f}",
            "percent": lambda p: "—" if p is None else f"{100 * p:.0f}",
        },
    )
