"""Authentication: log in for a session cookie and CSRF token, log out, issue API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from kizuna.errors import PermissionDenied
from kizuna.service.credentials import SESSION_COOKIE, log_in, set_session_cookie
from kizuna.service.dependencies import CurrentUser, RuntimeDep, current_user
from kizuna.service.errors import Unauthenticated, responses
from kizuna.service.schemas import LoginIn, LoginOut, TokenIn, TokenOut

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", responses=responses(401, 422))
def login(body: LoginIn, response: Response, runtime: RuntimeDep) -> LoginOut:
    """Log in with a password: sets the session cookie and returns the CSRF token for writes."""
    try:
        session = log_in(runtime.directory, body.username, body.password)
    except PermissionDenied as error:
        raise Unauthenticated(str(error)) from error
    set_session_cookie(response, session, runtime.settings)
    return LoginOut(user=session.user, csrf_token=session.csrf_token, expires_at=session.expires_at)


@router.post("/logout", status_code=204, responses=responses(401, 403), dependencies=[Depends(current_user)])
def logout(request: Request, response: Response, runtime: RuntimeDep) -> None:
    """End the browser session."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        runtime.credentials.forget_session(session_id)
        runtime.directory.end_session(session_id)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/tokens", status_code=201, responses=responses(401, 403, 422))
def issue_token(body: TokenIn, user: CurrentUser, runtime: RuntimeDep) -> TokenOut:
    """Issue an API token for the current user (shown once)."""
    return TokenOut(token=runtime.directory.issue_token(user.id, body.name))
