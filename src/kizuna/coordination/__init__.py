"""Coordination: the live system. People perform the steps of compiled decision paths; each action is
checked against the law, the structure and the user's membership, and recorded as an event.

`Coordinator` runs commands against an `EventStore` and keeps a `LiveView` (crises, requests, taskings,
situation reports) folded from the log; the state machines in `request`, `crisis` and `tasking` are pure
functions the coordinator and the tests share.
"""

from kizuna.coordination.coordinator import Coordinator, Kind, actor_of, stream_of
from kizuna.coordination.crisis import CrisisState, Designation
from kizuna.coordination.events import (
    COORDINATION_EVENT_TYPES,
    Action,
    Actor,
    CrisisOpened,
    Event,
    EventBase,
    ExtensionEvent,
    RequestFiled,
    RequestWithdrawn,
    SitrepFiled,
    StepActed,
    TaskingIssued,
    TaskingStatus,
    TaskingUpdated,
    Verdict,
    event_from_data,
    event_to_data,
    in_coordination_log,
)
from kizuna.coordination.law import Law
from kizuna.coordination.projection import LiveView, Recorded
from kizuna.coordination.request import (
    RequestState,
    RequestStatus,
    StepRecord,
    StepStatus,
    decide_step,
    decide_withdraw,
)
from kizuna.coordination.sitrep import SitrepState
from kizuna.coordination.tasking import TaskingState

__all__ = [
    "Action",
    "Actor",
    "COORDINATION_EVENT_TYPES",
    "Coordinator",
    "CrisisOpened",
    "CrisisState",
    "Designation",
    "Event",
    "EventBase",
    "ExtensionEvent",
    "Kind",
    "Law",
    "LiveView",
    "Recorded",
    "RequestFiled",
    "RequestState",
    "RequestStatus",
    "RequestWithdrawn",
    "SitrepFiled",
    "SitrepState",
    "StepActed",
    "StepRecord",
    "StepStatus",
    "TaskingIssued",
    "TaskingState",
    "TaskingStatus",
    "TaskingUpdated",
    "Verdict",
    "actor_of",
    "decide_step",
    "decide_withdraw",
    "event_from_data",
    "event_to_data",
    "in_coordination_log",
    "stream_of",
]
