"""The console in the service: `install(app)` adds the pages, the static assets, the offline API docs,
the security headers and the HTML answers to errors on pages.

Served by the same FastAPI app as the API (`kizuna.service.app.create_app` calls `install`), with the
same users, session cookie and CSRF token. Every asset comes from the package (`static/`; the npm
packages under `static/vendor/`, built by scripts/web_assets.py), so the console works offline.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route

from kizuna.errors import KizunaError
from kizuna.service.app import include_flat
from kizuna.service.errors import status_of
from kizuna.web.i18n import Translator
from kizuna.web.pages import ROUTERS
from kizuna.web.render import TEMPLATES
from kizuna.web.security import SecurityHeaders
from kizuna.web.session import SignInRequired, sign_in_redirect

STATIC = Path(__file__).parent / "static"
#: The npm assets the console needs; scripts/web_assets.py builds them into the package.
VENDOR = STATIC / "vendor"


class MissingAssets(RuntimeError):
    """The front-end assets were not built (run scripts/setup, or scripts/web_assets.py)."""


def install(app: FastAPI) -> None:
    """Add the console to the service's app."""
    if not (VENDOR / "versions.json").exists():
        raise MissingAssets(f"the web console's assets are missing from {VENDOR}: run scripts/setup")
    _offline_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        include_flat(app, router)
    app.add_exception_handler(SignInRequired, sign_in_redirect)
    api_handler = app.exception_handlers.get(KizunaError)

    async def kizuna_error(request: Request, error: Exception) -> Response:
        if request.url.path.startswith("/api") or api_handler is None:
            assert api_handler is not None
            answer = api_handler(request, error)
            return await answer if inspect.isawaitable(answer) else answer
        assert isinstance(error, KizunaError)
        return _error_page(request, error)

    app.add_exception_handler(KizunaError, kizuna_error)
    app.add_middleware(SecurityHeaders)


def _error_page(request: Request, error: KizunaError) -> HTMLResponse:
    t = Translator(request.cookies.get("kizuna_lang", "en"))
    status = status_of(error)
    return TEMPLATES.TemplateResponse(
        request,
        "error.html",
        {"t": t, "lang": t.language, "status": status, "detail": str(error), "title": t("error.title")},
        status_code=status,
    )


def _offline_docs(app: FastAPI) -> None:
    """Serve /docs (Swagger UI) and /redoc from the package instead of a CDN."""
    app.router.routes[:] = [
        r
        for r in app.router.routes
        if not (isinstance(r, Route) and r.path in {"/docs", "/redoc", "/docs/oauth2-redirect"})
    ]

    def docs(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(
            request, "docs.html", {"title": app.title, "openapi": app.openapi_url}
        )

    def redoc(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(
            request, "redoc.html", {"title": app.title, "openapi": app.openapi_url}
        )

    app.add_api_route("/docs", docs, include_in_schema=False, response_class=HTMLResponse)
    app.add_api_route("/redoc", redoc, include_in_schema=False, response_class=HTMLResponse)
