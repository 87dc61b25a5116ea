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

from typing import Annotated

from fastapi import Depends, Header, Request

from kizuna.access import User
from kizuna.coordination import Coordinator
from kizuna.errors import PermissionDenied
from kizuna.service.credentials import SESSION_COOKIE, Principal
from kizuna.service.errors import Unauthenticated
from kizuna.service.runtime import Runtime

#: The header a browser echoes its CSRF token in.
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_runtime(request: Request) -> Runtime:
    """Return the app's runtime (async: a plain attribute read stays on the event loop)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_coordinator(runtime: RuntimeDep) -> Coordinator:
    """Return the app's coordinator."""
    return runtime.coordinator


CoordinatorDep = Annotated[Coordinator, Depends(get_coordinator)]


async def current_principal(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[
        str | None, Header(include_in_schema=False, max_length=200, pattern=r"^[\x20-\x7e]+$")
    ] = None,
    x_csrf_token: Annotated[
        str | None, Header(alias=CSRF_HEADER, include_in_schema=False, pattern=r"^[0-9a-f]{1,128}$")
    ] = None,
) -> Principal:
    """Authenticate the request by API token or session cookie (with CSRF for writes)."""
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
        principal.session.check_csrf(x_csrf_token)  # PermissionDenied -> 403
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_user(principal: CurrentPrincipal) -> User:
    """Return the authenticated user."""
    return principal.user


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
