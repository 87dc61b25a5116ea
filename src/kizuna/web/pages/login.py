"""Sign in and out, and the user's preferences (language, time zone)."""

from __future__ import annotations

import contextlib
import math
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kizuna.errors import InvalidQuery, PermissionDenied, Throttled
from kizuna.service.credentials import SESSION_COOKIE, log_in, set_session_cookie
from kizuna.service.dependencies import RuntimeDep
from kizuna.service.routers.auth import client_address
from kizuna.service.threads import in_thread
from kizuna.web import markings
from kizuna.web.i18n import Translator
from kizuna.web.render import TEMPLATES
from kizuna.web.session import CheckedForm, ViewerDep, preference_store
from kizuna.web.views import crises

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Return a local path to go to after signing in (never another site)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_page(
    request: Request,
    *,
    language: str,
    next_url: str,
    reason: str | None,
    error: bool,
    status: int,
    retry_after_s: float | None = None,
) -> HTMLResponse:
    t = Translator(language)
    headers = None if retry_after_s is None else {"Retry-After": str(math.ceil(retry_after_s))}
    return TEMPLATES.TemplateResponse(
        request,
        "login.html",
        {
            "t": t,
            "lang": t.language,
            "next": next_url,
            "reason": reason,
            "error": error,
            "retry_after_s": None if retry_after_s is None else math.ceil(retry_after_s),
            "banner": markings.PUBLIC.level.display(),
            "banner_class": markings.level_class(markings.PUBLIC),
            "title": t("login.title"),
        },
        status_code=status,
        headers=headers,
    )


@router.get("/login")
def login_form(
    request: Request,
    next_url: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
    reason: Annotated[str | None, Query(max_length=20)] = None,
    lang: Annotated[str, Query(max_length=8)] = "en",
) -> HTMLResponse:
    """Show the sign-in form with the system's banner."""
    return _login_page(
        request,
        language=lang,
        next_url=_safe_next(next_url),
        reason=reason if reason in {"expired", "signed-out"} else None,
        error=False,
        status=200,
    )


@router.post("/login")
async def login_submit(
    *,
    request: Request,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=1000)],
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/",
    lang: Annotated[str, Form(max_length=8)] = "en",
) -> Response:
    """Check the password with the API's own login (and its guards); set the session cookie."""
    try:
        session = await log_in(
            runtime.login, runtime.directory, username.strip(), password, client_address(request)
        )
    except Throttled as refusal:
        return _login_page(
            request,
            language=lang,
            next_url=_safe_next(next_url),
            reason=None,
            error=True,
            status=429,
            retry_after_s=refusal.retry_after_s,
        )
    except PermissionDenied:
        return _login_page(
            request, language=lang, next_url=_safe_next(next_url), reason=None, error=True, status=401
        )
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    set_session_cookie(response, session, runtime.settings)
    return response


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep, _form: CheckedForm) -> Response:
    """End the session (CSRF-checked) and go back to the sign-in page."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await in_thread(runtime.credentials.log_out, session_id)
    response = RedirectResponse("/login?reason=signed-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/preferences")
async def preferences(request: Request, runtime: RuntimeDep, who: ViewerDep, form: CheckedForm) -> Response:
    """Remember the user's language and time zone (server-side, for every browser they use)."""
    language = form.get("language")
    zone = form.get("time_zone")
    store = preference_store(request.app, runtime)
    with contextlib.suppress(InvalidQuery):  # the form offers only known values; others are ignored
        await in_thread(
            lambda: store.set(
                who.user.id,
                language=language if isinstance(language, str) and language else None,
                time_zone=zone if isinstance(zone, str) and zone else None,
            )
        )
    back = form.get("back")
    return RedirectResponse(_safe_next(back if isinstance(back, str) else "/"), status_code=303)


@router.get("/")
def home(runtime: RuntimeDep, who: ViewerDep) -> Response:
    """Go to the crisis the user may see (the newest one), or to the structure explorer if none."""
    visible = crises(who.user, runtime.coordinator.snapshot())
    if visible:
        return RedirectResponse(f"/crises/{visible[-1].id}", status_code=303)
    return RedirectResponse("/structures", status_code=303)
