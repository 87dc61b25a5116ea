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
    situation: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    activity: Annotated[str | None, Query(max_length=100)] = None,
    supported: Annotated[str, Query(max_length=100)] = "us-forces",
    location: Annotated[str, Query(max_length=100)] = "japan-territory",
    flags: Annotated[list[str] | None, Query(max_length=20)] = None,
    granted: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Render the matrix of a situation (by default the one in force in the user's crisis) and a ruling."""
    law = runtime.coordinator.law
    frameworks = law.frameworks
    visible = crises(who.user, runtime.coordinator.snapshot())
    if situation is None:
        situation = visible[-1].situation if visible else next(iter(frameworks.situations))
    error = None
    matrix = None
    ruling = None
    try:
        matrix = build_matrix(
            frameworks,
            situation,
            supported=supported,
            location=location,
            flags=flags or (),
            granted=granted or (),
        )
        if actor and activity:
            ruling = frameworks.rule(
                AuthorityQuery(
                    situation=situation,
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
            "situation": situation,
            "actor": actor or "",
            "activity": activity or "",
            "supported": supported,
            "location": location,
            "flags": flags or [],
            "granted": granted or [],
        },
    )
