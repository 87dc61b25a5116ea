"""The law explorer: the authority matrix of a situation (what each actor may do) and the explain form
(one ruling: outcome, missing approvals in order, the rules that fired, citations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from kizuna.authority import Query as AuthorityQuery
from kizuna.authority.matrix import build_matrix
from kizuna.errors import KizunaError
from kizuna.service.dependencies import RuntimeDep
from kizuna.web.render import page
from kizuna.web.session import ViewerDep
from kizuna.web.views import crises

router = APIRouter(include_in_schema=False)


@router.get("/law", response_class=HTMLResponse)
def law_page(
    *,
    request: Request,
    runtime: RuntimeDep,
    who: ViewerDep,
    situation: Annotated[list[str] | None, Query(max_length=20)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    activity: Annotated[str | None, Query(max_length=100)] = None,
    supported: Annotated[str | None, Query(max_length=100)] = None,
    location: Annotated[str | None, Query(max_length=100)] = None,
    flags: Annotated[list[str] | None, Query(max_length=20)] = None,
    granted: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Render the matrix of the designations chosen (by default those in force in the user's latest
    crisis) and a ruling. Nothing is assumed: a fact left out (supported party, location) is asked for
    where a ruling depends on it."""
    law = runtime.coordinator.law
    frameworks = law.frameworks
    visible = crises(who.user, runtime.coordinator.snapshot())
    supported, location = supported or None, location or None
    situations = [s for s in situation or () if s]
    if not situations:
        if visible:
            in_force = law.in_force(visible[-1])
            situations = [in_force] if isinstance(in_force, str) else list(in_force)
        else:
            situations = [next(iter(frameworks.situations))]
    error = None
    matrix = None
    ruling = None
    try:
        matrix = build_matrix(
            frameworks,
            situations,
            supported=supported,
            location=location,
            flags=flags or (),
            granted=granted or (),
        )
        if actor and activity:
            ruling = frameworks.rule(
                AuthorityQuery(
                    situations=frozenset(situations),
                    actor=actor,
                    activity=activity,
                    supported=supported,
                    location=location,
                    flags=frozenset(flags or ()),
                    granted=frozenset(granted or ()),
                )
            )
    except KizunaError as problem:
        error = str(problem)
    structure = law.structure(visible[-1].structure) if visible else None
    return page(
        request,
        runtime,
        who,
        "law.html",
        title=who.t("law.title"),
        structure=structure,
        fw=frameworks,
        matrix=matrix,
        ruling=ruling,
        error=error,
        q={
            "situations": situations,
            "actor": actor or "",
            "activity": activity or "",
            "supported": supported or "",
            "location": location or "",
            "flags": flags or [],
            "granted": granted or [],
        },
    )
