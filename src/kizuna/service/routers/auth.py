"""Authentication: log in for a session cookie and CSRF token, log out, and the user's API tokens.

Logging in goes through `credentials.log_in`, the one login path (throttled per account and address,
a bounded number of password checks at once). Logging out ends the browser session at once, open
streams included; API tokens are separate credentials and outlive a logout: list them and revoke
them here (or with `kizuna user token`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from kizuna.access import Role, TokenInfo
from kizuna.errors import PermissionDenied
from kizuna.service.credentials import SESSION_COOKIE, log_in, set_session_cookie
from kizuna.service.dependencies import CurrentUser, RuntimeDep, current_user
from kizuna.service.errors import Unauthenticated, responses
from kizuna.service.schemas import LoginIn, LoginOut, TokenIn, TokenOut, TokenView
from kizuna.service.threads import in_thread

router = APIRouter(prefix="/api/auth", tags=["auth"])


def client_address(request: Request) -> str:
    """Return the address a request came from (what login throttling counts per address)."""
    return request.client.host if request.client is not None else "unknown"


@router.post("/login", responses=responses(400, 401, 422, 429))
async def login(body: LoginIn, request: Request, response: Response, runtime: RuntimeDep) -> LoginOut:
    """Log in with a password: sets the session cookie and returns the CSRF token for writes.

    Failed logins are throttled per account and per address (429 with Retry-After).
    """
    try:
        session = await log_in(
            runtime.login, runtime.directory, body.username, body.password, client_address(request)
        )
    except PermissionDenied as error:
        raise Unauthenticated(str(error)) from error
    set_session_cookie(response, session, runtime.settings)
    return LoginOut(user=session.user, csrf_token=session.csrf_token, expires_at=session.expires_at)


@router.post("/logout", status_code=204, responses=responses(401, 403), dependencies=[Depends(current_user)])
def logout(request: Request, response: Response, runtime: RuntimeDep) -> None:
    """End the browser session, at once (open streams on it end too); API tokens are not affected."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        runtime.credentials.log_out(session_id)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/tokens", status_code=201, responses=responses(401, 403, 422))
def issue_token(body: TokenIn, user: CurrentUser, runtime: RuntimeDep) -> TokenOut:
    """Issue an API token for the current user (shown once); it expires after `days`."""
    from datetime import timedelta

    days = body.days if body.days is not None else runtime.settings.token_ttl_days
    token = runtime.directory.issue_token(user.id, body.name, ttl=timedelta(days=days))
    info = next(t for t in runtime.directory.tokens(user.id) if t.id == runtime.directory.token_id(token))
    return TokenOut(token=token, **TokenView.of(info).model_dump())


@router.get("/tokens", responses=responses(401))
async def list_tokens(user: CurrentUser, runtime: RuntimeDep) -> list[TokenView]:
    """List the current user's API tokens (never the tokens themselves); an admin sees everyone's."""
    owner = None if user.role is Role.ADMIN else user.id
    infos: list[TokenInfo] = await in_thread(runtime.directory.tokens, owner)
    return [TokenView.of(t) for t in infos]


@router.delete("/tokens/{token_id}", responses=responses(401, 403, 404))
def revoke_token(
    token_id: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{1,64}$")], user: CurrentUser, runtime: RuntimeDep
) -> TokenView:
    """Revoke one of the current user's API tokens (an admin: anyone's), at once, open streams included.

    A token that is not the user's answers 404 exactly like one that does not exist.
    """
    owner = None if user.role is Role.ADMIN else user.id
    info = runtime.directory.revoke_token_id(token_id, user_id=owner)
    runtime.credentials.changed()
    return TokenView.of(info)
