"""The JSON of a request's view, from parts encoded once per request.

A request's view (`RequestView`) is answered to every command on it and read by every page that lists
requests. Most of it never changes after filing: the spec, the decision path, the marking, who filed
it and when, and each step's description; a step's record never changes once written. Encoding the
whole view with pydantic on every answer cost more CPU than the command's decision and append
together, so the parts that do not change are encoded once (by pydantic, each member as the model
encodes it) and the answer is put together from them. The bytes are the same as
`RequestView.of(state).model_dump_json()`; a test compares the two on many states, and a field added
to any of the three models without a change here is refused at import.

A cached part is used only for the very object it was encoded from (states are frozen and a new
version shares the unchanged parts with the previous one), so a state rebuilt from the log, or a
path that differs, is encoded afresh.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic_core import to_json
from starlette.responses import Response

from kizuna.coordination import RequestState, StepRecord, StepStatus
from kizuna.planning import Step
from kizuna.service.schemas import RequestView, StepView

#: Requests whose encoded parts are kept (least recently answered dropped first).
MAX_REQUESTS = 4096

_STATE_FIELDS = (
    "id", "crisis", "spec", "path", "status", "marking", "exercise", "filed_by", "filed_at", "verdict",
    "records", "closed_reason", "version",
)  # fmt: skip
_STEP_FIELDS = (
    "id", "organization", "kind", "label", "predecessors", "approval", "after_effect", "status", "record",
)  # fmt: skip
_VIEW_FIELDS = ("request", "steps", "ready")
_STATUS = {s: to_json(s.value) for s in StepStatus}
_HEAD = _STATE_FIELDS[:4]  # id, crisis, spec, path: before the status
_MIDDLE = _STATE_FIELDS[5:10]  # marking .. verdict: between the status and the records
_DESCRIBED = _STEP_FIELDS[:-2]  # a step's description: before its status and record
#: A path's step has the description's fields first, in the same order, then fields the view leaves out.
_STEP_UNSHOWN = set(Step.model_fields) - set(_DESCRIBED)
_STEP_SERIALIZER = Step.__pydantic_serializer__

for _model, _fields in ((RequestState, _STATE_FIELDS), (StepView, _STEP_FIELDS), (RequestView, _VIEW_FIELDS)):
    if tuple(_model.model_fields) != _fields:  # pragma: no cover - a change to the models
        raise RuntimeError(
            f"{_model.__name__} has fields {tuple(_model.model_fields)}; kizuna.service.viewjson puts "
            f"together {_fields}: change it with the model"
        )
if tuple(Step.model_fields)[: len(_DESCRIBED)] != _DESCRIBED:  # pragma: no cover - a change to the models
    raise RuntimeError(
        f"Step has fields {tuple(Step.model_fields)}; kizuna.service.viewjson takes a step's description "
        f"{_DESCRIBED} from its first fields: change it with the model"
    )


@dataclass(slots=True)
class _Parts:
    """One request's unchanging parts, with the objects they were encoded from."""

    sources: tuple[object, ...]
    head: bytes  # '{"request":{"id":..,"crisis":..,"spec":..,"path":..,"status":'
    middle: bytes  # ',"marking":..,"verdict":..,"records":['
    steps: tuple[bytes, ...]  # each step's '{"id":..,"after_effect":..,"status":', in path order
    records: dict[str, tuple[StepRecord, bytes]] = field(default_factory=dict)

    def record(self, record: StepRecord) -> bytes:
        """Return a record's JSON, encoded once."""
        known = self.records.get(record.step)
        if known is not None and known[0] is record:
            return known[1]
        encoded = record.model_dump_json().encode()
        self.records[record.step] = (record, encoded)
        return encoded


def _sources(state: RequestState) -> tuple[object, ...]:
    return (state.id, state.crisis, state.spec, state.path, state.marking, state.exercise, state.filed_by,
            state.filed_at, state.verdict)  # fmt: skip


def _same(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return all(x is y for x, y in zip(a, b, strict=True))


class RequestViewJson:
    """Encodes requests' views, keeping each request's unchanging parts (safe across threads)."""

    def __init__(self, max_requests: int = MAX_REQUESTS) -> None:
        self._max = max_requests
        self._parts: OrderedDict[str, _Parts] = OrderedDict()
        self._lock = threading.Lock()

    def one(self, state: RequestState) -> bytes:
        """Return `RequestView.of(state).model_dump_json()`, as bytes."""
        parts = self._parts_of(state)
        done = state.done
        out = [parts.head, to_json(state.status), parts.middle]
        out.append(b",".join(parts.record(r) for r in state.records))
        out += (b'],"closed_reason":', to_json(state.closed_reason), b',"version":', to_json(state.version))
        out.append(b'},"steps":[')
        ready: list[str] = []
        for i, ((step, status), encoded) in enumerate(zip(state.statuses(done), parts.steps, strict=True)):
            if status is StepStatus.READY:
                ready.append(step.id)
            record = done.get(step.id)
            out += (b"," if i else b"", encoded, _STATUS[status], b',"record":')
            out += (parts.record(record) if record is not None else b"null", b"}")
        out += (b'],"ready":', to_json(ready), b"}")
        return b"".join(out)

    def answer(self, state: RequestState, status_code: int = 200) -> Response:
        """Return the HTTP answer holding the state's view."""
        return Response(self.one(state), status_code=status_code, media_type="application/json")

    def many(self, states: Iterable[RequestState]) -> bytes:
        """Return the JSON list of the states' views."""
        return b"[" + b",".join(self.one(s) for s in states) + b"]"

    def _parts_of(self, state: RequestState) -> _Parts:
        sources = _sources(state)
        with self._lock:
            parts = self._parts.get(state.id)
            if parts is not None and _same(parts.sources, sources):
                self._parts.move_to_end(state.id)
                return parts
        parts = _encode(state, sources)
        with self._lock:
            self._parts[state.id] = parts
            self._parts.move_to_end(state.id)
            while len(self._parts) > self._max:
                self._parts.popitem(last=False)
        return parts


def _encode(state: RequestState, sources: tuple[object, ...]) -> _Parts:
    """Encode a request's unchanging parts, each member as the whole view's encoding holds it.

    Each member's value goes to pydantic's encoder (`to_json`) on its own: the same encoding the
    model's serializer gives the field, without building and filtering the whole model (a filing's
    parts cost four times as much that way). A step's description is its `Step` encoded by the
    model's own serializer without the fields the view leaves out (its first fields are the
    description's, in order): a third of the time of a dict of its members.
    """
    describe = _STEP_SERIALIZER.to_json
    steps = tuple(describe(s, exclude=_STEP_UNSHOWN)[:-1] + b',"status":' for s in state.path.order())
    return _Parts(
        sources=sources,
        head=b'{"request":' + _members(state, _HEAD)[:-1] + b',"status":',
        middle=b"," + _members(state, _MIDDLE)[1:-1] + b',"records":[',
        steps=steps,
    )


def _members(source: object, names: tuple[str, ...]) -> bytes:
    """Return `{"a":..,"b":..}`: the named attributes of `source`, as its model encodes them."""
    return to_json({name: getattr(source, name) for name in names})
