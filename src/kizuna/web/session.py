"""Who is looking at a page: the browser session behind the cookie, the user's language and time zone.

Pages use the same session cookie and CSRF token as the API (`kizuna.service.credentials`). A page
request without a live session is sent to the sign-in page (an htmx request is told to go there with
`HX-Redirect`), so an expired session ends on the sign-in form with a word saying why. Every
state-changing request of the console must carry the session's CSRF token, in the `X-CSRF-Token` header
(htmx sends it on every request, from the `hx-headers` of the page body) or in a `csrf_token` form field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from kizuna.access import BrowserSession, Preferences, PreferenceStore, User
from kizuna.errors import PermissionDenied
from kizuna.model import Structure
from kizuna.service.credentials import SESSION_COOKIE
from kizuna.service.dependencies import CSRF_HEADER, RuntimeDep
from kizuna.service.runtime import Runtime
from kizuna.service.threads import in_thread
from kizuna.web.i18n import Translator


class SignInRequired(Exception):
    """The page needs a signed-in user; carries where to come back to and why."""

    def __init__(self, next_url: str, reason: str) -> None:
        """Remember the page asked for and the reason (`expired`, `signed-out`)."""
        super().__init__(reason)
        self.next_url = next_url
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of a page, with their session and preferences."""

    user: User
    session: BrowserSession
    preferences: Preferences

    @property
    def language(self) -> str:
        """The language the user chose (English by default)."""
        return self.preferences.language or "en"

    @property
    def t(self) -> Translator:
        """The user's translator."""
        return Translator(self.language)

    def zone(self, structure: Structure | None) -> str:
        """The time zone the user sees times in: their choice, else their organization's site, else UTC."""
        if self.preferences.time_zone:
            return self.preferences.time_zone
        if structure is not None and self.user.organization in structure.org_by_id:
            site = structure.site_of(self.user.organization)
            if site is not None:
                return site.time_zone
        return "UTC"


def preference_store(app: FastAPI, runtime: Runtime) -> PreferenceStore:
    """Return the app's preference store (one per app, on the store's engine)."""
    store: PreferenceStore | None = getattr(app.state, "web_preferences", None)
    if store is None:
        store = PreferenceStore(runtime.store.engine)
        app.state.web_preferences = store
    return store


async def viewer(request: Request, runtime: RuntimeDep) -> Viewer:
    """Return the page's viewer, or send the browser to sign in."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        raise SignInRequired(here, "")
    try:
        principal = await runtime.credentials.session(session_id)
    except PermissionDenied:
        raise SignInRequired(here, "expired") from None
    session = principal.session
    if session is None:  # pragma: no cover - a session id always yields a session principal
        raise SignInRequired(here, "expired")
    store = preference_store(request.app, runtime)
    preferences = await in_thread(store.get, session.user.id)
    return Viewer(user=session.user, session=session, preferences=preferences)


ViewerDep = Annotated[Viewer, Depends(viewer)]


async def form_of(request: Request, who: ViewerDep) -> FormData:
    """Return a state-changing request's form after checking its CSRF token (PermissionDenied if wrong)."""
    form = await request.form()
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        field = form.get("csrf_token")
        token = field if isinstance(field, str) else None
    who.session.check_csrf(token)
    return form


CheckedForm = Annotated[FormData, Depends(form_of)]


def sign_in_redirect(request: Request, error: Exception) -> Response:
    """Answer a page request without a live session: to the sign-in page, then back."""
    assert isinstance(error, SignInRequired)
    target = f"/login?next={quote(error.next_url, safe='')}"
    if error.reason:
        target += f"&reason={error.reason}"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
