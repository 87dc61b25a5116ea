"""Rendering pages: the Jinja environment, and what every page is given (the viewer, the banner, the
translator, the CSRF token, the log position the page was drawn at)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kizuna import __version__
from kizuna.access import Marking
from kizuna.coordination.events import EVENT_TYPES
from kizuna.exercise.events import TYPES as EXERCISE_TYPES
from kizuna.model import Structure
from kizuna.service.positions import Numbering
from kizuna.service.runtime import Runtime
from kizuna.web import clock, markings
from kizuna.web.exercise_clock import shown_clock
from kizuna.web.session import Viewer
from kizuna.web.views import crises

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.globals["version"] = __version__
TEMPLATES.env.filters["portion"] = markings.portion
TEMPLATES.env.filters["level_class"] = markings.level_class
#: The event types the stream sends, for the page's stream module to listen to (others add theirs here).
STREAM_EVENTS = json.dumps([e.model_fields["type"].default for e in EVENT_TYPES] + sorted(EXERCISE_TYPES))


def page_banner(runtime: Runtime, who: Viewer, shown: Iterable[Marking]) -> tuple[str, str]:
    """Return the banner line and its colour class for a page showing objects with these markings.

    The same banner `page` draws, for a layer fetched after the page (the map's tracks).
    """
    marking = markings.page_marking(shown)
    exercise = any(c.exercise for c in crises(who.user, runtime.coordinator.snapshot()))
    return markings.banner(marking, who.user.nation, exercise_active=exercise), markings.level_class(marking)


def page(
    request: Request,
    runtime: Runtime,
    who: Viewer,
    template: str,
    *,
    title: str,
    shown: Iterable[Marking] = (),
    structure: Structure | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page for `who`, its banner carrying the most restrictive marking of what it shows."""
    view = runtime.coordinator.snapshot()
    visible = crises(who.user, view)
    marking = markings.page_marking(shown)
    exercise = any(c.exercise for c in visible)
    zone = who.zone(structure)
    t = who.t
    names: dict[str, str] = {}
    about = context.get("exercise_id") or _crisis_of(context)
    exercises = getattr(request.app.state, "exercises", None)
    exercise_clock = shown_clock(exercises, who.user, about, runtime.clock())
    if structure is not None:
        names = {o.id: t.name(o) for o in structure.organizations}
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "title": title,
            "who": who,
            "user": who.user,
            "t": t,
            "lang": t.language,
            "csrf": who.session.csrf_token,
            # The stream speaks in the user's own event numbers (kizuna.service.positions), never the log's.
            "seq": Numbering(runtime.coordinator.view, who.user).position(view.last_seq),
            "stream_events": STREAM_EVENTS,
            "banner": markings.banner(marking, who.user.nation, exercise_active=exercise),
            "banner_class": markings.level_class(marking),
            "exercise": exercise,
            "crises": visible,
            "zone": zone,
            "stamp": lambda moment, z=None: clock.stamp(moment, z or zone),
            "clock_time": clock.clock_time,
            "duration": lambda span: clock.duration(span, t),
            "org_name": lambda org_id: names.get(org_id, org_id),
            "structure": structure,
            "now": runtime.clock(),
            "exercise_clock": exercise_clock,
            **context,
        },
        status_code=status_code,
    )


def _crisis_of(context: dict[str, Any]) -> str | None:
    """The crisis a page is about (an exercise's crisis has the exercise's id), if any."""
    crisis = context.get("crisis") or getattr(context.get("o"), "crisis", None)
    return getattr(crisis, "id", None)
