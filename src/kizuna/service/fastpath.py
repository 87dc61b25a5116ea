"""The two commands a request's whole life is made of, answered without the framework's per-request work.

Filing a request (`POST /api/crises/{crisis_id}/requests`) and acting on a step
(`POST /api/requests/{request_id}/steps/{step_id}/actions`) are most of what the service does under
load. FastAPI answers each by matching routes, solving dependencies, validating the body and the
return value and encoding it: about as much CPU as the command itself (the ruling, the append and the
view together). This middleware answers exactly those two routes when the request is plainly well
formed (an API token, a JSON body that validates, ids and Idempotency-Key of the allowed forms) with
the same pieces the routes use: the credential cache, the body models, the coordinator, the egress
filter, the views' encoder (`viewjson`), and the error bodies of `kizuna.service.errors`. Anything
else (a session cookie, a body or header that does not parse, a token that does not check) goes on
to the FastAPI route, which stays the reference: it documents the operation in OpenAPI and gives every
error its answer. A test checks that both give byte-identical answers.

It is the outermost layer of the app (`app.CommandApp`), so a command does not pass through the
framework's middleware on its way in, nor its answer's two messages on the way out. What those
layers do for every route it therefore does itself: the body limit (a body declared larger than
`max_body_bytes` goes on to the layers that answer 413), the security headers (given:
`kizuna.web.security.HEADERS`) and the error boundary (an exception it did not expect is logged with
an incident id and answered 500 with the documented body, `errors.internal_error`); its tests check
all three.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kizuna.access import User
from kizuna.coordination import RequestState
from kizuna.errors import KizunaError, PermissionDenied
from kizuna.service.egress import release_one
from kizuna.service.errors import content_length, error_response, internal_error
from kizuna.service.runtime import Runtime
from kizuna.service.schemas import ActionIn, RequestIn

_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
_ACT = re.compile(rf"/api/requests/(?P<request>{_ID})/steps/(?P<step>{_ID})/actions")
_FILE = re.compile(rf"/api/crises/(?P<crisis>{_ID})/requests")
_KEY = re.compile(rb"[\x21-\x7e]{1,100}")
_TOKEN = re.compile(rb"[Bb][Ee][Aa][Rr][Ee][Rr] +([\x21-\x7e]+) *")
#: The longest Authorization header the routes take (`dependencies.py`); a longer one is theirs to refuse.
MAX_AUTHORIZATION = 200


class CommandFastPath:
    """ASGI middleware answering well-formed file-request and act commands directly (see the module)."""

    def __init__(self, app: ASGIApp, *, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        """Wrap `app` (the rest of the service); add `headers` to every answer (the security headers)."""
        self.app = app
        self.headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the command if it is plainly well formed; otherwise pass it on unchanged."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        act, file = _ACT.fullmatch(path), _FILE.fullmatch(path)
        if act is None and file is None:
            await self.app(scope, receive, send)
            return
        declared = content_length(scope)
        runtime: Runtime = scope["app"].state.runtime
        if declared is None or declared > runtime.settings.max_body_bytes:
            await self.app(scope, receive, send)  # chunked, or too long: limited and answered inside
            return
        body, more = await _read_body(receive)
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            if more is None and await self._answered(scope, body, act, file, tracked):
                return
        except Exception:  # as the boundary inside would: logged, answered 500 with an incident id
            await internal_error(scope, receive, send, started=started)
            return
        await self.app(scope, _replay(body, more, receive), send)

    async def _answered(
        self, scope: Scope, body: bytes, act: re.Match[str] | None, file: re.Match[str] | None, send: Send
    ) -> bool:
        """Answer the command and return True, or return False (nothing sent) to leave it to the route."""
        headers = _headers(scope)
        authorization = headers.get(b"authorization", b"")
        token = _TOKEN.fullmatch(authorization) if len(authorization) <= MAX_AUTHORIZATION else None
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        key = headers.get(b"idempotency-key")
        if token is None or content_type != b"application/json" or b"cookie" in headers:
            return False
        if key is not None and _KEY.fullmatch(key) is None:
            return False
        runtime: Runtime = scope["app"].state.runtime
        try:
            principal = await runtime.credentials.token(token.group(1).decode("ascii"))
            if act is not None:
                run = _acting(runtime, principal.user, act, ActionIn.model_validate_json(body))
            elif file is not None:
                run = _filing(runtime, principal.user, file, RequestIn.model_validate_json(body))
            else:
                return False
        except (PermissionDenied, ValidationError, ValueError):
            return False
        user = principal.user
        response: Response
        try:
            request_id, status, state = await runtime.commands.run(
                run, idempotency_key=key.decode("ascii") if key is not None else None
            )
            response = runtime.views.answer(release_one(user, state, "request", request_id), status)
        except KizunaError as error:
            response = error_response(error)
        response.raw_headers.extend(self.headers)
        await response(scope, _no_body, send)
        return True


#: A command ready to run in a worker thread: (the request's id, the HTTP status, its new state).
_Run = Callable[..., tuple[str, int, RequestState]]


def _acting(runtime: Runtime, user: User, match: re.Match[str], command: ActionIn) -> _Run:
    """Return the act command of `POST /api/requests/{request_id}/steps/{step_id}/actions`."""

    def run(*, idempotency_key: str | None) -> tuple[str, int, RequestState]:
        state = runtime.coordinator.act(
            user,
            match["request"],
            match["step"],
            command.action,
            reason=command.reason,
            idempotency_key=idempotency_key,
        )
        return match["request"], 200, state

    return run


def _filing(runtime: Runtime, user: User, match: re.Match[str], command: RequestIn) -> _Run:
    """Return the file-request command of `POST /api/crises/{crisis_id}/requests`."""

    def run(*, idempotency_key: str | None) -> tuple[str, int, RequestState]:
        state = runtime.coordinator.file_request(
            user,
            match["crisis"],
            spec=command.spec_fields(),
            marking=command.marking,
            idempotency_key=idempotency_key,
        )
        return state.id, 201, state

    return run


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """Return the request's headers by lower-case name (a repeated header: its first value, as the
    framework reads it)."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.lower(), value)
    return headers


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """Read the whole body; if anything but body messages arrives, stop and return it too."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, pending: Message | None, receive: Receive) -> Receive:
    """Return a `receive` that gives the body already read, then whatever comes next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent, pending
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": pending is not None}
        if pending is not None:
            message, pending = pending, None
            return message
        return await receive()

    return replayed


async def _no_body() -> Message:  # pragma: no cover - a response never reads the request
    return {"type": "http.disconnect"}
