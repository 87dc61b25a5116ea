"""The demo: users of both nations and a running taiwan-contingency exercise in the us-japan-2025 structure.

`seed_demo(runtime)` adds named users (a U.S. operator at USFJ, Japanese approvers at the Ministry of
Defense, the Cabinet and the Diet, observers, exercise control, an admin) and a staff member of every
other organization the seeded requests pass through; it opens the exercise crisis in a gray-zone
situation, carries the Cabinet's designation of an important influence situation through its decision
path (so the crisis's timeline shows a designation made by the competent organization), and files two
U.S. requests for the users to carry: prior consultation on combat operations from Japan, and MSDF
protection of U.S. ships. A U.S. NOFORN situation report shows the markings at work. Everything is
done through the coordinator, so every object is an event in the log like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kizuna.access import Classification, Marking, Passwords, User, UserDirectory
from kizuna.coordination import Action, RequestState
from kizuna.errors import ConflictError
from kizuna.planning import Step, StepKind
from kizuna.service.runtime import Runtime

CRISIS = "taiwan-contingency"
STRUCTURE = "us-japan-2025"
#: Every demo user's password. The demo is for a laptop on loopback, never for real data.
DEMO_PASSWORD = "kizuna-demo"  # noqa: S105 - printed on purpose: it is the demo's login

SHARED = Marking.releasable(Classification.SECRET, "USA", ["JPN"], exercise=True)
US_ONLY = Marking.national(Classification.SECRET, "USA", exercise=True)
UNCLASSIFIED = Marking.releasable(Classification.UNCLASSIFIED, "USA", ["JPN"], exercise=True)

#: The people the README introduces: (id, name, nation, organization, role).
NAMED: tuple[tuple[str, str, str, str, str], ...] = (
    ("admin", "Demo administrator", "USA", "usfj", "admin"),
    ("excon", "Exercise control", "USA", "usfj", "exercise-control"),
    ("us-operator", "Maj. Dana Reyes, USFJ J3", "USA", "usfj", "operator"),
    ("us-approver", "Col. Sam Ortiz, USFJ", "USA", "usfj", "approver"),
    ("jp-mod-approver", "Sato Kenji, Ministry of Defense", "JPN", "jp-mod", "approver"),
    ("jp-cabinet-approver", "Ito Yumi, Cabinet", "JPN", "jp-cabinet", "approver"),
    ("jp-diet-member", "Mori Aiko, House of Representatives", "JPN", "jp-diet", "approver"),
    ("us-observer", "U.S. observer", "USA", "usfj", "observer"),
    ("jp-observer", "Japanese observer", "JPN", "jp-mod", "observer"),
)

#: The requests the demo files: (who files, marking, RequestSpec fields).
PRIOR_CONSULTATION = {
    "name": "U.S. combat operations launched from bases in Japan (prior consultation)",
    "executor": "12th-mlr",
    "actor": "us-forces",
    "activity": "combat-operations-from-japan",
}
ASSET_PROTECTION = {
    "name": "MSDF protects U.S. ships (asset protection, SDF Act Art. 95-2)",
    "executor": "msdf",
    "actor": "msdf",
    "activity": "asset-protection",
    "supported": "us-forces",
    "location": "high-seas-near-japan",
    "flags": ["in-response-plan"],  # the basic plan adopted along the path lists the protection
}


@dataclass(frozen=True, slots=True)
class DemoInfo:
    """What the demo seeded: its users and the requests left for them to carry."""

    users: tuple[User, ...]
    requests: tuple[RequestState, ...]
    seeded_now: bool


def seed_demo(runtime: Runtime) -> DemoInfo:
    """Seed the demo into the runtime's store, unless it is there already; return what it holds."""
    coordinator = runtime.coordinator
    directory = runtime.directory
    if CRISIS in coordinator.view.crises:
        requests = tuple(r for r in coordinator.view.requests.values() if r.crisis == CRISIS)
        return DemoInfo(users=tuple(directory.users()), requests=requests, seeded_now=False)
    structure = coordinator.law.structure(STRUCTURE)
    users: dict[str, User] = {}
    for user_id, name, nation, org, role in NAMED:
        users[user_id] = _add(runtime, user_id, name=name, nation=nation, org=org, role=role)
    by_org: dict[str, User] = {}
    for user in users.values():
        if user.role in {"operator", "approver"}:
            by_org.setdefault(user.organization, user)

    def member(org: str) -> User:
        """Return a member of `org`, adding staff officers on first use (one per nation if bilateral)."""
        if org not in by_org:
            organization = structure.org(org)
            if organization.is_bilateral:
                codes = [n.code for n in structure.nations]
            else:
                codes = [structure.nation_by_id[organization.nation].code]
            for code in codes:
                user_id = f"{org}-{code.lower()}" if organization.is_bilateral else f"{org}-staff"
                name = f"Staff officer ({code}), {organization.name}"
                by_org[org] = users[user_id] = _add(
                    runtime, user_id, name=name, nation=code, org=org, role="approver"
                )
        return by_org[org]

    excon, us_operator = users["excon"], users["us-operator"]
    coordinator.open_crisis(
        excon,
        crisis_id=CRISIS,
        name="Taiwan contingency (exercise)",
        structure=STRUCTURE,
        situation="gray-zone",
        marking=UNCLASSIFIED,
        exercise=True,
        description="PLA amphibious forces mass opposite Taiwan. Exercise traffic only.",
    )
    designation = coordinator.file_request(
        member("jp-cabinet-secretariat"),
        CRISIS,
        spec={
            "name": "designate an important influence situation (basic plan)",
            "designates": "important-influence",
        },
        marking=UNCLASSIFIED,
    )
    _carry(runtime, designation.id, member)
    filed = [
        coordinator.file_request(us_operator, CRISIS, spec=spec, marking=SHARED)
        for spec in (PRIOR_CONSULTATION, ASSET_PROTECTION)
    ]
    for request in filed:  # a member for every organization on the way, so the demo can be carried through
        for step in request.path.steps:
            member(step.organization)
    coordinator.file_sitrep(
        us_operator,
        CRISIS,
        title="Situation report 1",
        text="PLA amphibious groups assembling opposite Taiwan; Japan has designated an important "
        "influence situation. U.S. requests for prior consultation and asset protection filed.",
        marking=SHARED,
    )
    coordinator.file_sitrep(
        us_operator,
        CRISIS,
        title="U.S. force posture (U.S. eyes only)",
        text="This NOFORN report is never shown to a Japanese user, by any endpoint, stream or export.",
        marking=US_ONLY,
    )
    return DemoInfo(
        users=tuple(users.values()),
        requests=tuple(coordinator.view.requests[r.id] for r in filed),
        seeded_now=True,
    )


def _add(runtime: Runtime, user_id: str, *, name: str, nation: str, org: str, role: str) -> User:
    user = User(
        id=user_id, name=name, nation=nation, organization=org, role=role, clearance=Classification.SECRET
    )
    runtime.coordinator.law.structure(STRUCTURE).org(org)  # UnknownId if the structure lost the org
    # The demo's password is printed for all to see, so its users get the cheap hasher meant for them
    # (argon2id at the default cost took most of a demo start); the first login re-hashes at the
    # service's cost, as for any hash made at another cost.
    seeding = UserDirectory(runtime.directory.engine, passwords=Passwords.fast(), clock=runtime.clock)
    try:
        return seeding.add(user, DEMO_PASSWORD)
    except ConflictError:
        existing = runtime.directory.get(user_id)
        if (existing.nation, existing.organization, existing.role) != (nation, org, role):
            raise
        return existing


def _carry(runtime: Runtime, request_id: str, member: Callable[[str], User]) -> None:
    """Walk a request through its path, each step by a member of its organization.

    Separation of duties holds in the demo too: a step closed to the filer is taken by a second
    member of the organization (added on first use).
    """
    coordinator = runtime.coordinator
    filer = coordinator.view.requests[request_id].filed_by.user
    while ready := coordinator.view.requests[request_id].ready_steps():
        step = ready[0]  # each action completes a step (or raises), so the walk ends
        actor = member(step.organization)
        if coordinator.separation.forbids(filer=filer, actor=actor.id, step_kind=step.kind.value):
            actor = _add(
                runtime,
                f"{actor.id}-2",
                name=f"{actor.name} (second)",
                nation=actor.nation,
                org=actor.organization,
                role="approver",
            )
        coordinator.act(actor, request_id, step.id, _ACTION[step.kind])


_ACTION = {
    StepKind.COORDINATE: Action.COORDINATE,
    StepKind.CONSULT: Action.CONSULT,
    StepKind.APPROVE: Action.APPROVE,
    StepKind.ORDER: Action.ORDER,
    StepKind.EXECUTE: Action.EXECUTE,
    StepKind.INFORM: Action.INFORM,
}


def login_lines(info: DemoInfo, base_url: str, runtime: Runtime | None = None) -> Iterable[str]:
    """Return the lines `kizuna serve --demo` prints: where to go, who to be, and a curl session.

    Only what is true now: each request with its state (the steps ready next, or how it ended), and a
    curl session that acts on a step that is ready, logged in as a member of that step's organization;
    with nothing left to act on, it says so and how to start afresh. Pass the runtime to read the
    requests' current state (else the state when `info` was taken).
    """
    requests = (
        [runtime.coordinator.view.requests.get(r.id, r) for r in info.requests]
        if runtime
        else list(info.requests)
    )
    yield f"Kizuna demo: exercise crisis {CRISIS!r} in {STRUCTURE} (all traffic marked EXERCISE)"
    yield f"  Open the console:    {base_url}/"
    yield "    sign in as us-operator; in a second browser as jp-cabinet-approver"
    yield f"  API docs (OpenAPI):  {base_url}/docs"
    yield f"  Password for every demo user: {DEMO_PASSWORD}"
    for user in sorted(info.users, key=lambda u: (u.nation, u.organization, u.id)):
        yield f"    {user.id:<30} {user.nation}  {user.organization:<24} {user.role}"
    acting: tuple[RequestState, Step, User] | None = None
    for request in requests:
        ready = request.ready_steps()
        if ready:
            steps = ", ".join(f"{s.id} ({s.organization})" for s in ready)
            yield f"  Open request {request.id}: {request.spec.name} -> next: {steps}"
            if acting is None:
                member = _member_for(info.users, ready[0])
                if member is not None:
                    acting = (request, ready[0], member)
        else:
            ended = request.status.value + (f" ({request.closed_reason})" if request.closed_reason else "")
            yield f"  Request {request.id}: {request.spec.name} -> {ended}"
    if acting is None:
        yield "  Every demo request has been carried through; `kizuna serve --demo --reset` starts afresh."
        yield "  Try it with curl (as us-operator):"
        user_id = "us-operator"
    else:
        user_id = acting[2].id
        yield f"  Try it with curl (as {user_id}, who can act on the next step of {acting[0].id}):"
    yield (
        f'    TOKEN=$(curl -s -c jar -H \'Content-Type: application/json\' -d \'{{"username":"{user_id}",'
        f'"password":"{DEMO_PASSWORD}"}}\' {base_url}/api/auth/login | python3 -c '
        "'import json,sys; print(json.load(sys.stdin)[\"csrf_token\"])')"
    )
    yield f"    curl -s -b jar {base_url}/api/requests"
    if acting is not None:
        request, step, _ = acting
        action = _ACTION[step.kind].value
        yield (
            f"    curl -s -b jar -H \"X-CSRF-Token: $TOKEN\" -H 'Content-Type: application/json' "
            f'-d \'{{"action":"{action}"}}\' {base_url}/api/requests/{request.id}/steps/{step.id}/actions'
        )
    yield f"    curl -s -N -b jar {base_url}/api/events/stream   # live events you may see (Ctrl-C to stop)"


def _member_for(users: Iterable[User], step: Step) -> User | None:
    """Return a demo user who may act on the step: a member of its organization with a deciding role."""
    roles = {"approver"} if step.kind in {StepKind.APPROVE} else {"approver", "operator"}
    return next((u for u in users if u.organization == step.organization and u.role in roles), None)
