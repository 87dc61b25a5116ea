"""The request detail: the decision path as a graph, each step's status, organization, kind and timing;
the ruling; the actions the user may take; the request's history from the log; and how long it has taken
against the simulated distribution of the same path ("at the 80th percentile")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kizuna.coordination import Action, RequestState, StepStatus, event_from_data
from kizuna.coordination.coordinator import stream_of
from kizuna.errors import InvalidQuery, KizunaError
from kizuna.service.dependencies import RuntimeDep
from kizuna.service.egress import releasable, release_one
from kizuna.service.threads import in_thread
from kizuna.web import views
from kizuna.web.forms import answer, text
from kizuna.web.graph import path_svg
from kizuna.web.render import TEMPLATES, page
from kizuna.web.session import CheckedForm, ViewerDep
from kizuna.web.simstats import PathStatistics

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One event of the request's stream, as recorded in the log."""

    seq: int
    at: datetime
    type: str
    actor: str
    organization: str
    step: str | None
    action: str | None
    reason: str | None
    rules: tuple[str, ...]
    hash: str


def history(runtime: Any, user: Any, request_id: str) -> list[LogEntry]:
    """Read the request's events from the log (each released to the user at the egress)."""
    out: list[LogEntry] = []
    for stored in runtime.store.read_stream(stream_of("request", request_id)):
        event = event_from_data(dict(stored.payload))
        if not releasable(user, event.marking):
            continue
        out.append(
            LogEntry(
                seq=stored.seq,
                at=event.at,
                type=event.type,
                actor=event.actor.user,
                organization=event.actor.organization,
                step=getattr(event, "step", None),
                action=getattr(getattr(event, "action", None), "value", None),
                reason=getattr(event, "reason", None),
                rules=tuple(event.rule),
                hash=stored.hash,
            )
        )
    return out


def _statistics(request: Request) -> PathStatistics:
    stats: PathStatistics | None = getattr(request.app.state, "web_path_statistics", None)
    if stats is None:
        stats = PathStatistics()
        request.app.state.web_path_statistics = stats
    return stats


def _elapsed_h(state: RequestState, now: datetime) -> tuple[float, bool]:
    """Hours from filing to the effect (if executed) or to now; and whether the effect is reached."""
    done = state.done
    effect = done.get(state.path.effect_step)
    if effect is not None and effect.action is not Action.DENY:
        return (effect.at - state.filed_at).total_seconds() / 3600, True
    return (now - state.filed_at).total_seconds() / 3600, False


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def request_page(
    request_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep
) -> HTMLResponse:
    """Render a request's detail."""
    coordinator = runtime.coordinator
    view = coordinator.snapshot()
    state = release_one(who.user, view.requests.get(request_id), "request", request_id)
    crisis = release_one(who.user, view.crises.get(state.crisis), "crisis", state.crisis)
    structure = coordinator.law.structure(crisis.structure)
    t = who.t
    statuses = views.step_statuses(state)
    names = {o.id: t.name(o) for o in structure.organizations}
    svg = path_svg(
        state,
        org_name=names,
        kind_name={
            k: t(f"kind.{k}") for k in ("coordinate", "consult", "approve", "order", "execute", "inform")
        },
        status_name={s.value: t(f"status.{s.value}") for s in StepStatus},
    )
    ruling = coordinator.law.judge(state.spec, coordinator.law.in_force(crisis), state.granted)
    log = await in_thread(history, runtime, who.user, request_id)
    steps = []
    for step in state.path.order():
        site = structure.site_of(step.organization)
        steps.append(
            {
                "step": step,
                "status": statuses[step.id].value,
                "record": state.done.get(step.id),
                "actions": views.actions_for(who.user, step) if statuses[step.id] is StepStatus.READY else (),
                "zone": site.time_zone if site else None,
            }
        )
    return page(
        request,
        runtime,
        who,
        "request.html",
        title=state.spec.name or state.id,
        shown=[crisis.marking, state.marking],
        structure=structure,
        r=state,
        crisis=crisis,
        graph=svg,
        steps=steps,
        ruling=ruling,
        log=log,
        frameworks=coordinator.law.frameworks,
        card=views.card(state, runtime.clock()),
    )


@router.get("/requests/{request_id}/percentile", response_class=HTMLResponse)
async def percentile(request_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """Return the fragment comparing the request's elapsed time with its path's simulated distribution."""
    view = runtime.coordinator.snapshot()
    state = release_one(who.user, view.requests.get(request_id), "request", request_id)
    crisis = release_one(who.user, view.crises.get(state.crisis), "crisis", state.crisis)
    structure = runtime.coordinator.law.structure(crisis.structure)
    context: dict[str, Any] = {"t": who.t, "r": state}
    if state.path.prohibited or (state.spec.designates is not None and not state.path.steps):
        context["unavailable"] = True
    else:
        dist = await in_thread(_statistics(request).of, state, structure, crisis.id)
        hours, reached = _elapsed_h(state, runtime.clock())
        context |= {
            "dist": dist,
            "hours": hours,
            "reached": reached,
            "at": dist.percentile(hours),
            "p50": dist.quantile(0.5),
            "p80": dist.quantile(0.8),
            "p95": dist.quantile(0.95),
        }
    return TEMPLATES.TemplateResponse(request, "partials/percentile.html", context)


@router.post("/requests/{request_id}/steps/{step_id}")
async def act(
    *, request_id: str, step_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep, form: CheckedForm
) -> Response:
    """Act on a step as a member of its organization (the coordinator checks everything)."""
    t = who.t
    try:
        try:
            action = Action(text(form, "action"))
        except ValueError as error:
            raise InvalidQuery(f"unknown action {text(form, 'action')!r}") from error
        reason = text(form, "reason") or None
        await runtime.commands.run(
            partial(runtime.coordinator.act, who.user, request_id, step_id, action, reason=reason)
        )
    except KizunaError as error:
        return answer(request, who, error=error, fallback=f"/requests/{request_id}")
    return answer(request, who, ok=t(f"result.{action.value}"), fallback=f"/requests/{request_id}")


@router.post("/requests/{request_id}/withdraw")
async def withdraw(
    request_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep, form: CheckedForm
) -> Response:
    """Withdraw a request (a member of the organization that filed it)."""
    try:
        await runtime.commands.run(
            partial(runtime.coordinator.withdraw, who.user, request_id, reason=text(form, "reason"))
        )
    except KizunaError as error:
        return answer(request, who, error=error, fallback=f"/requests/{request_id}")
    return answer(request, who, ok=who.t("result.withdrawn"), fallback=f"/requests/{request_id}")
