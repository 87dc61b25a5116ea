"""Reading the console's forms into the coordinator's arguments, and answering them.

A form posted by htmx is answered with a short result fragment (and, on success, the `HX-Trigger`
header `kizuna-changed`, on which the page refreshes its live regions at once); a form posted without
JavaScript is sent back to the page it came from. Errors are the coordinator's own, shown in words.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from kizuna.access import Classification, Marking, User
from kizuna.errors import ConflictError, InvalidQuery, KizunaError, NotFound, PermissionDenied
from kizuna.service.errors import status_of
from kizuna.web.render import TEMPLATES
from kizuna.web.session import Viewer


def text(form: FormData, name: str, *, limit: int = 4000) -> str:
    """Return a form field as stripped text ('' when absent); InvalidQuery when longer than `limit`."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if len(value) > limit:
        raise InvalidQuery(f"{name} is longer than {limit} characters")
    return value.strip()


def marking_of(form: FormData, user: User) -> Marking:
    """Build the marking a user chose: a level up to their clearance, NOFORN or released to nations.

    The owner is always the user's nation. The coordinator refuses, in any case, a marking its author
    could not see; the form offers only levels up to the user's clearance.
    """
    try:
        level = Classification(text(form, "level") or "unclassified")
    except ValueError as error:
        raise InvalidQuery(f"unknown classification {text(form, 'level')!r}") from error
    if level > user.clearance:
        raise PermissionDenied(f"{user.id} is cleared to {user.clearance.value}, not {level.value}")
    if form.get("noforn"):
        return Marking.national(level, user.nation)
    nations = [n for n in form.getlist("rel_to") if isinstance(n, str) and n != user.nation]
    return Marking.releasable(level, user.nation, nations)


def levels_for(user: User) -> list[Classification]:
    """Return the levels a user may mark something with (up to their clearance)."""
    return [level for level in Classification if level <= user.clearance]


def back_to(request: Request, fallback: str) -> str:
    """Return the local page a form came from."""
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.netloc == request.url.netloc and parts.path.startswith("/"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return fallback


def answer(
    request: Request,
    who: Viewer,
    *,
    ok: str | None = None,
    error: KizunaError | None = None,
    fallback: str,
    **extra: Any,
) -> Response:
    """Answer a form: a result fragment for htmx, a redirect back otherwise."""
    if not request.headers.get("HX-Request"):
        return RedirectResponse(back_to(request, fallback), status_code=303)
    t = who.t
    headline = ok
    if error is not None:
        key = {
            ConflictError: "result.conflict",
            PermissionDenied: "result.denied",
            NotFound: "result.not-found",
        }
        headline = next((t(k) for kind, k in key.items() if isinstance(error, kind)), t("result.invalid"))
    response = TEMPLATES.TemplateResponse(
        request,
        "partials/result.html",
        {
            "t": t,
            "ok": error is None,
            "headline": headline,
            "detail": str(error) if error is not None else "",
            "status": status_of(error) if error is not None else 200,
            **extra,
        },
    )
    if error is None:
        response.headers["HX-Trigger"] = "kizuna-changed"
    return response
