"""Domain errors to HTTP, in one place: every route raises Kizuna's own errors and this maps them.

NotFound                  404  (also what an object the user may not see looks like)
PermissionDenied          403
ConflictError             409  with `current`: the state that won
InvalidQuery, UnknownId   422
DataError                 422  with the problems found
IntegrityError            500  the event chain does not verify
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from kizuna.errors import (
    ConflictError,
    DataError,
    IntegrityError,
    InvalidQuery,
    KizunaError,
    NotFound,
    PermissionDenied,
    Problem,
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


class Unauthenticated(Exception):
    """The request carries no valid credentials (HTTP 401)."""


def status_of(error: KizunaError) -> int:
    """Return the HTTP status for a Kizuna error."""
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 400


async def _handle(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, KizunaError)
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


async def _invalid(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = jsonable_encoder(error.errors(), exclude={"input", "url", "ctx"})
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in problems)
    body = ErrorBody(error="InvalidQuery", detail=detail or "invalid request", problems=problems)
    return JSONResponse(body.model_dump(mode="json"), status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers: Kizuna's errors, missing credentials and invalid requests."""
    app.add_exception_handler(KizunaError, _handle)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(RequestValidationError, _invalid)


#: OpenAPI `responses=` entries for routes, so the spec documents the errors they can give.
def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI response entries for the given error codes."""
    words = {
        401: "Not authenticated",
        403: "Not permitted",
        404: "No such object, or not visible to the user",
        409: "A concurrent action won; `current` is the state that won",
        422: "Invalid input or unknown id",
    }
    return {code: {"model": ErrorBody, "description": words[code]} for code in codes}
