"""Errors to HTTP, in one place: every route raises Kizuna's own errors and this maps them.

Every error the service answers has one body, `ErrorBody` (`error`, `detail`, `current`, `problems`):

MalformedRequest          400  a header, the JSON body or the body's framing could not be parsed
Unauthenticated           401  no valid credentials
PermissionDenied          403
NotFound                  404  (also what an object the user may not see looks like, and unknown routes)
MethodNotAllowed          405  with the `Allow` header
ConflictError             409  with `current`: the state that won
ContentTooLarge           413  the body is larger than `KIZUNA_MAX_BODY_BYTES` (checked before parsing)
InvalidQuery, UnknownId   422  with `problems` for invalid fields
DataError                 422  with the problems found
Throttled                 429  with `Retry-After`: too many failed logins, or too many at once
IntegrityError            500  the event chain does not verify
InternalError             500  anything else: logged with its traceback and an incident id, answered
                               with that id and nothing of the failure
"""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kizuna.errors import (
    ConflictError,
    DataError,
    IntegrityError,
    InvalidQuery,
    KizunaError,
    NotFound,
    PermissionDenied,
    Problem,
    Throttled,
    UnknownId,
)

#: Status code of each error class; the first match in this order wins.
STATUS: tuple[tuple[type[KizunaError], int], ...] = (
    (NotFound, 404),
    (PermissionDenied, 403),
    (ConflictError, 409),
    (UnknownId, 422),
    (InvalidQuery, 422),
    (DataError, 422),
    (Throttled, 429),
    (IntegrityError, 500),
)


class ErrorBody(BaseModel):
    """What every error response carries."""

    error: str = Field(description="The kind of error (NotFound, ConflictError, ...).")
    detail: str = Field(description="What went wrong, naming the offending value.")
    current: Any = Field(default=None, description="For a conflict: the current state that won.")
    problems: list[dict[str, Any]] | None = Field(
        default=None, description="For invalid input: each field that failed validation, and why."
    )


log = logging.getLogger("kizuna.service")


class Unauthenticated(Exception):
    """The request carries no valid credentials (HTTP 401)."""


class MalformedRequest(Exception):
    """A header or parameter could not be parsed (HTTP 400)."""


#: The `error` name of HTTP errors raised by the framework (unknown routes, wrong methods, ...).
_HTTP_NAMES = {
    400: "MalformedRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "ContentTooLarge",
}


def status_of(error: KizunaError) -> int:
    """Return the HTTP status for a Kizuna error."""
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 400


async def _handle(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, KizunaError)
    return error_response(error)


def error_response(error: KizunaError) -> JSONResponse:
    """Return the answer to a Kizuna error: its status and the documented body."""
    body = ErrorBody(
        error=type(error).__name__,
        detail=str(error),
        current=error.current if isinstance(error, ConflictError) else None,
        problems=[_problem(p) for p in error.problems] if isinstance(error, DataError) else None,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status_of(error))


def _problem(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "field": problem.field,
        "message": problem.message,
        "value": None if problem.value is None else str(problem.value),
        "expected": problem.expected,
    }


async def _unauthenticated(_request: Request, error: Exception) -> JSONResponse:
    body = ErrorBody(error="Unauthenticated", detail=str(error))
    return JSONResponse(body.model_dump(mode="json"), status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _malformed(_request: Request, error: Exception) -> JSONResponse:
    body = ErrorBody(error="MalformedRequest", detail=str(error))
    return JSONResponse(body.model_dump(mode="json"), status_code=400)


async def _throttled(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Throttled)
    body = ErrorBody(error="Throttled", detail=str(error))
    retry = str(max(1, math.ceil(error.retry_after_s)))
    return JSONResponse(body.model_dump(mode="json"), status_code=429, headers={"Retry-After": retry})


async def _invalid(_request: Request, error: Exception) -> JSONResponse:
    """Invalid fields answer 422; a header that does not parse, or a body that is not JSON, 400.

    The offending input is never echoed (it may be a password).
    """
    assert isinstance(error, RequestValidationError)
    problems = jsonable_encoder(error.errors(), exclude={"input", "url", "ctx"})
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in problems)
    malformed = any(e["loc"][:1] == ["header"] or e["type"] == "json_invalid" for e in problems)
    body = ErrorBody(
        error="MalformedRequest" if malformed else "InvalidQuery",
        detail=detail or "invalid request",
        problems=problems,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=400 if malformed else 422)


async def _http(request: Request, error: Exception) -> JSONResponse:
    """Answer the framework's own HTTP errors (unknown route, wrong method, body too large) alike."""
    assert isinstance(error, HTTPException)
    status = error.status_code
    if status == 404:
        detail = f"no route {request.method} {request.url.path}"
    elif status == 405:
        allowed = (error.headers or {}).get("Allow") or (error.headers or {}).get("allow") or ""
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed or 'none'}"
    elif status == 413:
        detail = _too_large(request.app.state.runtime.settings.max_body_bytes)
    else:
        detail = str(error.detail)
    body = ErrorBody(error=_HTTP_NAMES.get(status, "HTTPError"), detail=detail)
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=error.headers)


class Boundary:
    """ASGI middleware at the edge of the app: the body limit and the catch-all for failures.

    A body larger than `max_body_bytes` answers 413 before anything parses it: at once when its
    `Content-Length` says so, otherwise as soon as the bytes read pass the limit (a chunked body).
    Any exception no handler took is logged with its traceback and an incident id, and answered 500
    with the documented body naming only that id (never the failure itself).
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        """Wrap `app`, limiting bodies to `max_body_bytes`."""
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, count the bytes read, turn an escaped exception into a 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        limit = self.max_body_bytes
        declared = content_length(scope)
        if declared is not None and declared > limit:
            await _answer(scope, receive, send, status=413, error="ContentTooLarge", detail=_too_large(limit))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413)  # FastAPI passes it on to the handler, which answers
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except Exception:
            await internal_error(scope, receive, send, started=started)


async def internal_error(scope: Scope, receive: Receive, send: Send, *, started: bool) -> None:
    """Log the exception being handled with an incident id and answer 500 naming only that id (unless
    the answer had `started` already: the client then sees it cut short)."""
    incident = secrets.token_hex(6)
    log.exception("incident %s: %s %s failed", incident, scope.get("method"), scope.get("path"))
    if started:
        return
    detail = f"the service failed to handle the request; it was logged as incident {incident}"
    await _answer(scope, receive, send, status=500, error="InternalError", detail=detail)


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (KIZUNA_MAX_BODY_BYTES)"


def content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None  # the server refuses a malformed one
    return None


async def _answer(
    scope: Scope, receive: Receive, send: Send, *, status: int, error: str, detail: str
) -> None:
    body = ErrorBody(error=error, detail=detail)
    await JSONResponse(body.model_dump(mode="json"), status_code=status)(scope, receive, send)


def install(app: FastAPI, *, max_body_bytes: int) -> None:
    """Register the handlers: Kizuna's errors, credentials, throttling, invalid requests, HTTP errors,
    and the boundary (body limit, catch-all for everything else)."""
    app.add_exception_handler(KizunaError, _handle)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(MalformedRequest, _malformed)
    app.add_exception_handler(Throttled, _throttled)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_middleware(Boundary, max_body_bytes=max_body_bytes)


#: OpenAPI `responses=` entries for routes, so the spec documents the errors they can give.
def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI response entries for the given error codes (and 400, which any route may give)."""
    words = {
        400: "A header or the body could not be parsed",
        401: "Not authenticated",
        403: "Not permitted",
        404: "No such object, or not visible to the user",
        409: "A concurrent action won; `current` is the state that won",
        413: "The body is larger than the configured limit",
        422: "Invalid input or unknown id",
        429: "Too many attempts; retry after `Retry-After` seconds",
    }
    every = sorted({400, *codes})  # any route may get a header that does not parse
    return {code: {"model": ErrorBody, "description": words[code]} for code in every}
