"""A request's view put together from parts encoded once is, byte for byte, pydantic's encoding of it.

Hypothesis draws decision paths, records on some of their steps (with any text in the reasons), the
request's status and closing reason, and then a run of versions of the request sharing their
unchanging parts, as the coordinator makes them. One encoder serves every example, so the same
request id comes back with another path, marking or filer: what it kept for the old one must not be
used.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.coordination.conftest import decision_paths

from kizuna.access import Classification, Marking
from kizuna.coordination import RequestState, RequestStatus, StepRecord
from kizuna.coordination.events import Action, Actor, Verdict
from kizuna.model import RequestSpec
from kizuna.planning import DecisionPath, Step, StepKind
from kizuna.service.schemas import RequestView
from kizuna.service.viewjson import RequestViewJson

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ORGS = ("jjoc", "usfj", "indopacom")
TEXT = st.text(max_size=12)  # any characters, escapes and non-ASCII included

ENCODER = RequestViewJson(max_requests=8)


def paths() -> st.SearchStrategy[DecisionPath]:
    """Decision paths at alliance organizations, with any text in their steps' labels."""
    return decision_paths(ORGS, labels=TEXT)


verdicts = st.none() | st.builds(
    Verdict,
    situation=st.sampled_from(["armed-attack", "gray-zone"]),
    outcome=st.sampled_from(["permitted", "requires-approval", "prohibited"]),
    rule_ids=st.lists(st.sampled_from(["jp.sdf-act.76", "us-jp.treaty.6"]), max_size=2).map(tuple),
)
actors = st.builds(
    Actor,
    user=st.sampled_from(["sato", "smith"]),
    organization=st.sampled_from(ORGS),
    nation=st.sampled_from(["JPN", "USA"]),
    role=st.sampled_from(["operator", "approver"]),
)
markings = st.builds(
    Marking,
    level=st.sampled_from(list(Classification)),
    owner=st.sampled_from(["USA", "JPN"]),
    rel_to=st.frozensets(st.sampled_from(["USA", "JPN", "AUS", "PHL"]), max_size=3),
)


@st.composite
def histories(draw: st.DrawFn) -> list[RequestState]:
    """A request's versions: filed, then records added one by one, perhaps closed at the end."""
    path = draw(paths())
    first = RequestState(
        id=draw(st.sampled_from(["r-1", "r-2"])),
        crisis=draw(st.sampled_from(["c-1", "ex-1"])),
        spec=RequestSpec(
            id="r-1",
            situation="gray-zone",
            actor="jsdf",
            activity=draw(st.sampled_from(["supply", "asset-protection"])),
        ),
        path=path,
        status=RequestStatus.FILED,
        marking=draw(markings),
        exercise=draw(st.booleans()),
        filed_by=draw(actors),
        filed_at=T0
        + timedelta(seconds=draw(st.integers(0, 10**6)), microseconds=draw(st.integers(0, 999_999))),
        verdict=draw(verdicts),
    )
    states = [first]
    order = draw(st.permutations([s.id for s in path.steps]))
    for n, step_id in enumerate(order[: draw(st.integers(0, len(order)))], start=1):
        record = StepRecord(
            step=step_id,
            action=draw(st.sampled_from(list(Action))),
            actor=draw(actors),
            at=T0 + timedelta(minutes=n),
            reason=draw(st.none() | TEXT),
            verdict=draw(verdicts),
        )
        last = states[-1]
        states.append(
            last.model_copy(update={"records": (*last.records, record), "version": last.version + 1})
        )
    if draw(st.booleans()):
        last = states[-1]
        status = draw(st.sampled_from(list(RequestStatus)))
        states.append(
            last.model_copy(
                update={
                    "status": status,
                    "closed_reason": draw(st.none() | TEXT),
                    "version": last.version + 1,
                }
            )
        )
    return states


@settings(max_examples=300)
@given(histories())
def test_every_version_encodes_as_pydantic_does(history: list[RequestState]) -> None:
    for state in history:
        assert ENCODER.one(state) == RequestView.of(state).model_dump_json().encode()


@settings(suppress_health_check=[HealthCheck.too_slow])  # up to four histories per draw: slow when busy
@given(st.lists(histories(), min_size=1, max_size=4))
def test_a_list_of_views_is_the_json_list_of_them(histories_: list[list[RequestState]]) -> None:
    states = [h[-1] for h in histories_]
    expected = b"[" + b",".join(RequestView.of(s).model_dump_json().encode() for s in states) + b"]"
    assert ENCODER.many(states) == expected


def test_a_rebuilt_state_is_encoded_afresh_not_from_the_old_parts() -> None:
    """The same id with an equal but rebuilt path (another object) is encoded again, then reused."""
    encoder = RequestViewJson()
    spec = RequestSpec(id="r-1", situation="gray-zone", actor="jsdf", activity="supply")
    path = DecisionPath(
        request="r-1",
        structure="s",
        steps=(Step(id="effect", organization="jjoc", kind=StepKind.EXECUTE, label="execute"),),
        decision_step="effect",
        effect_step="effect",
    )
    state = RequestState(
        id="r-1",
        crisis="c-1",
        spec=spec,
        path=path,
        status=RequestStatus.FILED,
        marking=Marking(level=Classification.UNCLASSIFIED, owner="JPN", rel_to=frozenset({"USA"})),
        exercise=False,
        filed_by=Actor(user="sato", organization="jjoc", nation="JPN", role="operator"),
        filed_at=T0,
    )
    encoder.one(state)
    relabelled = path.model_copy(update={"steps": (path.steps[0].model_copy(update={"label": "strike"}),)})
    changed = state.model_copy(update={"path": relabelled})
    assert b'"label":"strike"' in encoder.one(changed)
    assert encoder.one(changed) == RequestView.of(changed).model_dump_json().encode()
    assert encoder.one(state) == RequestView.of(state).model_dump_json().encode()


@given(histories(), st.data())
def test_two_branches_from_one_filing_keep_their_own_records(
    history: list[RequestState], data: st.DataObject
) -> None:
    """States sharing every unchanging part but holding different records for a step (a replay)."""
    first = history[0]
    step = data.draw(st.sampled_from(first.path.steps))
    for action in (Action.APPROVE, Action.DENY):
        record = StepRecord(step=step.id, action=action, actor=first.filed_by, at=T0)
        branch = first.model_copy(update={"records": (record,), "version": 2})
        assert ENCODER.one(branch) == RequestView.of(branch).model_dump_json().encode()
