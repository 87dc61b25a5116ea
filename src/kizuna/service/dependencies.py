"""The dependencies routes declare: the runtime, the authenticated user, and the idempotency key.

Authentication is one dependency (`CurrentUser`): an `Authorization: Bearer <API token>` header, or
the browser's session cookie, for which every state-changing request must also echo the session's CSRF
token in `X-CSRF-Token`. Checked credentials are cached for a few seconds (`credentials.py`), so
most requests authenticate without touching the database. What a user may do beyond that is decided
in one place, by the coordinator (membership of the step's organization, role, the law), not in the
routes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from kizuna.access import User
from kizuna.coordination import Coordinator
from kizuna.errors import PermissionDenied
from kizuna.service.credentials import SESSION_COOKIE
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


async def current_user(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_csrf_token: Annotated[str | None, Header(alias=CSRF_HEADER, include_in_schema=False)] = None,
) -> User:
    """Authenticate the request by API token or session cookie (with CSRF for writes)."""
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use Authorization: Bearer <API token>")
        try:
            return await runtime.credentials.token_user(token.strip())
        except PermissionDenied as error:
            raise Unauthenticated(str(error)) from error
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        raise Unauthenticated("log in (POST /api/auth/login) or send an API token")
    try:
        session = await runtime.credentials.session(session_id)
    except PermissionDenied as error:
        raise Unauthenticated(str(error)) from error
    if request.method not in _SAFE_METHODS:
        session.check_csrf(x_csrf_token)  # PermissionDenied -> 403
    return session.user


CurrentUser = Annotated[User, Depends(current_user)]

#: A client's key for one logical write: repeating a write with the same key does it once.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="A key unique to this logical write; a retry with the same key is done once.",
    ),
]
