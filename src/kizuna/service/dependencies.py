"""The dependencies routes declare: the runtime, the authenticated user, and the idempotency key.

Authentication is one dependency (`CurrentPrincipal`, and `CurrentUser` from it): an
`Authorization: Bearer <API token>` header, or the browser's session cookie, for which every
state-changing request must also echo the session's CSRF token in `X-CSRF-Token`. Headers are parsed
strictly (a header that does not parse answers 400). Checked credentials are cached until something
is revoked (`credentials.py`), so most requests authenticate without touching the database. What a
user may do beyond that is decided in one place, by the coordinator (membership of the step's
organization, role, the law), not in the routes.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from kizuna.access import User
from kizuna.coordination import Coordinator
from kizuna.errors import PermissionDenied
from kizuna.service.commands import CommandRunner
from kizuna.service.credentials import SESSION_COOKIE, Principal
from kizuna.service.errors import MalformedRequest, Unauthenticated
from kizuna.service.runtime import Runtime
from kizuna.service.viewjson import RequestViewJson

#: The header a browser echoes its CSRF token in.
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_runtime(request: Request) -> Runtime:
    """Return the app's runtime (async: a plain attribute read stays on the event loop)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_coordinator(request: Request) -> Coordinator:
    """Return the app's coordinator (read from the request: no sub-dependency to resolve)."""
    runtime: Runtime = request.app.state.runtime
    return runtime.coordinator


CoordinatorDep = Annotated[Coordinator, Depends(get_coordinator)]


async def get_commands(request: Request) -> CommandRunner:
    """Return the app's command runner (the thread the coordinator's commands run on)."""
    runtime: Runtime = request.app.state.runtime
    return runtime.commands


CommandsDep = Annotated[CommandRunner, Depends(get_commands)]


async def get_views(request: Request) -> RequestViewJson:
    """Return the app's encoder of requests' views."""
    runtime: Runtime = request.app.state.runtime
    return runtime.views


ViewsDep = Annotated[RequestViewJson, Depends(get_views)]

#: What the credential headers must look like before anything reads them (else 400).
_AUTHORIZATION = re.compile(r"[\x20-\x7e]{1,200}")
_CSRF_TOKEN = re.compile(r"[0-9a-f]{1,128}")


def _header(request: Request, name: str, pattern: re.Pattern[str], expected: str) -> str | None:
    """Return a header's value (None without it); one that does not fit `pattern` is a 400.

    The credential headers are read here rather than declared as parameters: every request reads
    them, and a declared header costs a validation pass of the framework's each time.
    """
    value = request.headers.get(name)
    if value is None or pattern.fullmatch(value):
        return value
    raise MalformedRequest(f"header {name}: expected {expected}")


async def current_principal(request: Request) -> Principal:
    """Authenticate the request by API token or session cookie (with CSRF for writes)."""
    return await _authenticate(request)


async def _authenticate(request: Request) -> Principal:
    runtime: Runtime = request.app.state.runtime
    authorization = _header(
        request, "Authorization", _AUTHORIZATION, "printable ASCII, at most 200 characters"
    )
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use Authorization: Bearer <API token>")
        try:
            return await runtime.credentials.token(token.strip())
        except PermissionDenied as error:
            raise Unauthenticated(str(error)) from error
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        raise Unauthenticated("log in (POST /api/auth/login) or send an API token")
    try:
        principal = await runtime.credentials.session(session_id)
    except PermissionDenied as error:
        raise Unauthenticated(str(error)) from error
    if request.method not in _SAFE_METHODS and principal.session is not None:
        csrf = _header(request, CSRF_HEADER, _CSRF_TOKEN, "the session's CSRF token (hex digits)")
        principal.session.check_csrf(csrf)  # PermissionDenied -> 403
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_user(request: Request) -> User:
    """Return the authenticated user (authenticating here, not through `current_principal`: each
    nested dependency costs the framework a resolution pass on every request)."""
    return (await _authenticate(request)).user


CurrentUser = Annotated[User, Depends(current_user)]

#: A client's key for one logical write: repeating a write with the same key does it once.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="A key unique to this logical write (printable ASCII, no spaces): a retry of the "
        "same write with the same key is done once and answered as the first time; the key reused for "
        "any other write (another route, object or body) is refused with 422.",
    ),
]
