"""The coordinator over a real event store: designations, the law in force, idempotency, rebuilds.

Runs on a SQLite file (and, where marked, on the PostgreSQL server the suite starts) with the bundled
us-japan-2025 structure and the bundled frameworks, through the same commands the API calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.access import Classification, Marking, User, combine
from kizuna.coordination import Action, Coordinator, Law, LiveView, Recorded, RequestStatus, event_from_data
from kizuna.errors import ConflictError, InvalidQuery, NotFound, PermissionDenied
from kizuna.planning import StepKind
from kizuna.store import open_store

CRISIS = "c1"
SHARED = Marking.releasable(Classification.SECRET, "USA", ["JPN"])
ACTION = {k: Action(k.value) for k in StepKind}
LAW = Law()  # loaded once for the module: structures and frameworks are read-only


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 4, 6, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def member(org: str, nation: str, role: str = "approver") -> User:
    return User(id=f"{org}-{role}", name=org, nation=nation, organization=org, role=role, clearance="secret")


STAFF = {
    org: member(org, nation)
    for org, nation in {
        "usfj": "USA",
        "acm-acg": "JPN",
        "jp-cabinet-secretariat": "JPN",
        "jp-nsc": "JPN",
        "jp-cabinet": "JPN",
        "jp-diet": "JPN",
        "jp-pm": "JPN",
        "jp-mod": "JPN",
        "jjoc": "JPN",
        "msdf": "JPN",
    }.items()
}
EXCON = User(
    id="excon", name="x", nation="USA", organization="usfj", role="exercise-control", clearance="secret"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def coordinator(request: pytest.FixtureRequest) -> Iterator[Coordinator]:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    with open_store(str(request.getfixturevalue(fixture)), sqlite_synchronous="NORMAL") as store:
        yield Coordinator(store, LAW, clock=Clock())


def open_crisis(coordinator: Coordinator, situation: str = "gray-zone") -> None:
    coordinator.open_crisis(
        EXCON,
        crisis_id=CRISIS,
        name="test",
        structure="us-japan-2025",
        situation=situation,
        marking=SHARED,
        exercise=True,
    )


def carry(coordinator: Coordinator, request_id: str, *, deny_at: str | None = None) -> None:
    while ready := coordinator.view.requests[request_id].ready_steps():
        step = ready[0]
        if step.organization == deny_at:
            coordinator.act(STAFF[step.organization], request_id, step.id, Action.DENY, reason="no")
            return
        coordinator.act(STAFF[step.organization], request_id, step.id, ACTION[step.kind])


USE_OF_FORCE = {
    "executor": "msdf",
    "actor": "msdf",
    "activity": "use-of-force",
    "supported": "us-forces",
    "location": "high-seas-near-japan",
    "flags": ["in-response-plan"],
}


def test_a_designation_changes_the_law_later_requests_are_ruled_under(coordinator: Coordinator) -> None:
    open_crisis(coordinator)
    before = coordinator.file_request(STAFF["usfj"], CRISIS, spec=USE_OF_FORCE, marking=SHARED)
    assert before.status is RequestStatus.PROHIBITED
    designation = coordinator.file_request(
        STAFF["jp-cabinet-secretariat"], CRISIS, spec={"designates": "survival-threatening"}, marking=SHARED
    )
    carry(coordinator, designation.id)
    crisis = coordinator.view.crises[CRISIS]
    assert crisis.situation == "survival-threatening"
    assert crisis.timeline[-1].request == designation.id
    after = coordinator.file_request(STAFF["usfj"], CRISIS, spec=USE_OF_FORCE, marking=SHARED)
    assert after.status is RequestStatus.FILED
    assert after.verdict is not None
    assert after.verdict.outcome == "requires-approval"
    # The earlier request stays prohibited: a closed request is never reopened.
    assert coordinator.view.requests[before.id].status is RequestStatus.PROHIBITED


def test_a_denied_designation_leaves_the_situation_as_it_was(coordinator: Coordinator) -> None:
    open_crisis(coordinator)
    designation = coordinator.file_request(
        STAFF["jp-cabinet-secretariat"], CRISIS, spec={"designates": "survival-threatening"}, marking=SHARED
    )
    carry(coordinator, designation.id, deny_at="jp-diet")
    assert coordinator.view.requests[designation.id].status is RequestStatus.DENIED
    assert coordinator.view.crises[CRISIS].situation == "gray-zone"


def test_execution_is_checked_under_the_designation_in_force_at_the_time(coordinator: Coordinator) -> None:
    """Asset protection approved in a gray zone needs a basic plan once an important influence
    situation is designated, so the MSDF's execution report is refused, naming what is missing."""
    open_crisis(coordinator)
    spec = {
        "executor": "msdf",
        "actor": "msdf",
        "activity": "asset-protection",
        "supported": "us-forces",
        "location": "high-seas-near-japan",
    }
    request = coordinator.file_request(STAFF["usfj"], CRISIS, spec=spec, marking=SHARED)
    for step in request.path.order()[:-1]:
        coordinator.act(STAFF[step.organization], request.id, step.id, ACTION[step.kind])
    designation = coordinator.file_request(
        STAFF["jp-cabinet-secretariat"], CRISIS, spec={"designates": "important-influence"}, marking=SHARED
    )
    carry(coordinator, designation.id)
    last = request.path.order()[-1]
    with pytest.raises(PermissionDenied, match="basic-plan"):
        coordinator.act(STAFF[last.organization], request.id, last.id, Action.EXECUTE)


def test_an_idempotency_key_makes_a_retry_the_same_write(coordinator: Coordinator) -> None:
    open_crisis(coordinator)
    spec = {
        "executor": "msdf",
        "actor": "msdf",
        "activity": "asset-protection",
        "supported": "us-forces",
        "location": "high-seas-near-japan",
    }
    first = coordinator.file_request(STAFF["usfj"], CRISIS, spec=spec, marking=SHARED, idempotency_key="k1")
    again = coordinator.file_request(STAFF["usfj"], CRISIS, spec=spec, marking=SHARED, idempotency_key="k1")
    assert again.id == first.id
    step = first.path.order()[0]
    coordinator.act(STAFF["usfj"], first.id, step.id, Action.COORDINATE, idempotency_key="k2")
    coordinator.act(STAFF["usfj"], first.id, step.id, Action.COORDINATE, idempotency_key="k2")
    with pytest.raises(ConflictError) as raised:
        coordinator.act(STAFF["usfj"], first.id, step.id, Action.COORDINATE, idempotency_key="k3")
    assert raised.value.current["steps"][step.id] == "done"
    assert len(coordinator.view.requests) == 1
    assert len(coordinator.store.read_stream(f"request:{first.id}")) == 2


def test_the_view_rebuilt_from_the_log_is_the_view(coordinator: Coordinator) -> None:
    open_crisis(coordinator)
    designation = coordinator.file_request(
        STAFF["jp-cabinet-secretariat"], CRISIS, spec={"designates": "important-influence"}, marking=SHARED
    )
    carry(coordinator, designation.id)
    spec = {
        "executor": "msdf",
        "actor": "msdf",
        "activity": "asset-protection",
        "supported": "us-forces",
        "location": "high-seas-near-japan",
        "flags": ["in-response-plan"],
    }
    done = coordinator.file_request(STAFF["usfj"], CRISIS, spec=spec, marking=SHARED)
    carry(coordinator, done.id)
    withdrawn = coordinator.file_request(STAFF["usfj"], CRISIS, spec=spec, marking=SHARED)
    coordinator.withdraw(STAFF["usfj"], withdrawn.id, reason="overtaken")
    tasking = coordinator.issue_tasking(
        STAFF["jjoc"], CRISIS, unit="msdf", task="escort", marking=SHARED, request_id=done.id
    )
    coordinator.file_sitrep(STAFF["usfj"], CRISIS, title="t", text="x", marking=SHARED, refs=[tasking.id])
    rebuilt = LiveView.rebuild(
        Recorded(seq=e.seq, event=event_from_data(dict(e.payload))) for e in coordinator.store.iter_all()
    )
    live = coordinator.snapshot()
    assert rebuilt.last_seq == live.last_seq
    for table in ("crises", "requests", "taskings", "sitreps"):
        assert getattr(rebuilt, table) == getattr(live, table), table
    # A second coordinator opened on the same store starts from the same view.
    assert Coordinator(coordinator.store, LAW, clock=Clock()).snapshot() == live


MARKINGS = st.builds(
    Marking,
    level=st.sampled_from(list(Classification)),
    owner=st.sampled_from(["USA", "JPN"]),
    rel_to=st.frozensets(st.sampled_from(["USA", "JPN"])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(crisis=MARKINGS, request=MARKINGS, tasking=MARKINGS)
def test_a_derived_object_never_has_a_wider_marking_than_its_parts(
    tmp_path_factory: pytest.TempPathFactory, crisis: Marking, request: Marking, tasking: Marking
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('m') / 'm.db'}"
    cleared = {"level": Classification.TOP_SECRET, "nation": "USA"}
    usfj = member("usfj", "USA").model_copy(update={"clearance": cleared["level"]})
    jjoc = member("jjoc", "JPN").model_copy(update={"clearance": cleared["level"]})
    with open_store(url, sqlite_synchronous="NORMAL") as store:
        coordinator = Coordinator(store, LAW, clock=Clock())
        admin = EXCON.model_copy(
            update={"role": "admin", "clearance": Classification.TOP_SECRET, "nation": crisis.owner or "USA"}
        )
        coordinator.open_crisis(
            admin,
            crisis_id=CRISIS,
            name="m",
            structure="us-japan-2025",
            situation="gray-zone",
            marking=crisis,
            exercise=True,
        )
        # Everything filed into an exercise is exercise traffic: the parts are compared in that world.
        in_exercise = {"exercise": True}
        message = ""
        try:
            filed = coordinator.file_request(
                usfj,
                CRISIS,
                spec={
                    "executor": "msdf",
                    "actor": "msdf",
                    "activity": "asset-protection",
                    "supported": "us-forces",
                    "location": "high-seas-near-japan",
                },
                marking=request,
            )
        except (NotFound, PermissionDenied):
            pass  # the filer may not see the crisis, or could not see the combined marking
        except InvalidQuery as refused:  # its path needs Japanese organizations the marking excludes
            message = str(refused)
        else:
            assert filed.marking.at_least_as_restrictive_as(crisis.model_copy(update=in_exercise))
            assert filed.marking.at_least_as_restrictive_as(request.model_copy(update=in_exercise))
            assert filed.marking.exercise
        if message:
            assert "cannot be carried" in message
            assert "JPN" not in combine(crisis, request).rel_to
        try:
            made = coordinator.issue_tasking(jjoc, CRISIS, unit="msdf", task="t", marking=tasking)
        except (NotFound, PermissionDenied):
            return
        assert made.marking.at_least_as_restrictive_as(crisis.model_copy(update=in_exercise))
        assert made.marking.at_least_as_restrictive_as(tasking.model_copy(update=in_exercise))
        assert made.marking.exercise


def test_two_processes_on_one_store_see_each_others_writes(coordinator: Coordinator) -> None:
    """A second coordinator on its own connection to the database (another worker, not notified)
    acts on what the first made, and a stale decision loses at the store and is made again."""
    url = coordinator.store.engine.url.render_as_string(hide_password=False)
    with open_store(url, listen=False, sqlite_synchronous="NORMAL") as store:
        other = Coordinator(store, LAW, clock=Clock())
        open_crisis(coordinator)
        spec = {
            "executor": "msdf",
            "actor": "msdf",
            "activity": "asset-protection",
            "supported": "us-forces",
            "location": "high-seas-near-japan",
        }
        filed = coordinator.file_request(STAFF["usfj"], CRISIS, spec=spec, marking=SHARED)
        first, second = (s.id for s in filed.path.order()[:2])
        assert filed.id not in other.view.requests
        done = other.act(STAFF["usfj"], filed.id, first, Action.COORDINATE)
        assert done.step_status(first).value == "done"
        with pytest.raises(ConflictError, match="already"):
            coordinator.act(STAFF["usfj"], filed.id, first, Action.COORDINATE)
        coordinator.act(STAFF["acm-acg"], filed.id, second, Action.COORDINATE)
        assert coordinator.view.requests[filed.id].done.keys() == {first, second}


def test_projections_match_the_log_after_concurrent_commands(sqlite_url: str) -> None:
    with open_store(sqlite_url, sqlite_synchronous="NORMAL") as store:
        coordinator = Coordinator(store, LAW, clock=Clock())
        open_crisis(coordinator)

        def write(n: int) -> None:
            for i in range(10):
                coordinator.file_sitrep(STAFF["usfj"], CRISIS, title=f"{n}-{i}", text="", marking=SHARED)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert store.verify().ok
        assert all(store.check_projections().values()), store.check_projections()


def test_concurrent_commands_leave_the_view_equal_to_the_log(coordinator: Coordinator) -> None:
    """Appends of many threads return in any order; the view applies them in log order all the same."""
    open_crisis(coordinator)
    spec = {
        "executor": "msdf",
        "actor": "msdf",
        "activity": "asset-protection",
        "supported": "us-forces",
        "location": "high-seas-near-japan",
    }
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                filed = coordinator.file_request(STAFF["usfj"], CRISIS, spec=spec, marking=SHARED)
                carry(coordinator, filed.id)
        except BaseException as error:  # reported below, with the thread's error
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    rebuilt = LiveView.rebuild(
        Recorded(seq=e.seq, event=event_from_data(dict(e.payload))) for e in coordinator.store.iter_all()
    )
    live = coordinator.snapshot()
    assert live.last_seq == coordinator.store.head().seq
    assert rebuilt.requests == live.requests
    assert all(r.status is RequestStatus.EXECUTED for r in live.requests.values())


def test_nobody_grants_an_approval_by_claiming_it(coordinator: Coordinator) -> None:
    """Approvals listed as already granted must be the crisis's own, obtained on a designation's path."""
    open_crisis(coordinator)
    spec = {
        "executor": "msdf",
        "actor": "msdf",
        "activity": "asset-protection",
        "supported": "us-forces",
        "location": "high-seas-near-japan",
        "flags": ["in-response-plan"],
    }
    with pytest.raises(PermissionDenied, match="defense-minister-order not granted"):
        coordinator.file_request(
            STAFF["usfj"], CRISIS, spec=spec | {"granted": ["defense-minister-order"]}, marking=SHARED
        )
    designation = coordinator.file_request(
        STAFF["jp-cabinet-secretariat"], CRISIS, spec={"designates": "important-influence"}, marking=SHARED
    )
    carry(coordinator, designation.id)
    held = coordinator.view.crises[CRISIS].approvals
    assert {"nsc-deliberation", "basic-plan"} <= set(held)
    filed = coordinator.file_request(
        STAFF["usfj"], CRISIS, spec=spec | {"granted": ["nsc-deliberation", "basic-plan"]}, marking=SHARED
    )
    assert not {"basic-plan-jp-cabinet", "nsc-deliberation-jp-nsc"} & set(filed.path.by_id)


def test_a_designation_is_marked_as_its_crisis(coordinator: Coordinator) -> None:
    open_crisis(coordinator)
    secret_jp = Marking.national(Classification.SECRET, "JPN")
    with pytest.raises(InvalidQuery, match="designation"):
        coordinator.file_request(
            STAFF["jp-cabinet-secretariat"],
            CRISIS,
            spec={"designates": "important-influence"},
            marking=secret_jp,
        )
