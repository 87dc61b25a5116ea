"""`kizuna exercise run`: an exercise played by synthetic players against the live service.

`run_exercise` starts the service in this process (uvicorn on a loopback port, its own SQLite file unless
a database URL is given), adds exercise control and a pair of users for each organization the bots play
(an operator who files, an approver who acts: each bot has users of its own, so separation of duties
holds), creates the exercise through the API, starts the clock at the requested speed and lets the bots
play (`kizuna.exercise.players`) until every inject is delivered and every request has come as far as
the played organizations can take it. Then it builds the after-action review from the log.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kizuna.access import Classification, Marking, User
from kizuna.errors import InvalidQuery, UnknownId
from kizuna.exercise.players import Bot, Playbook, PlayerConfig, TeamResult, play, play_stepped
from kizuna.model.scenario import Scenario
from kizuna.service.runtime import Runtime
from kizuna.settings import Settings

#: Everything, in `--play all`.
ALL = "all"


@dataclass
class RunResult:
    """What a run did: the exercise, its database, the bots' figures, and the exercise hours it covered."""

    exercise: str
    database_url: str
    team: TeamResult
    hours: float
    played: tuple[str, ...]
    wall_s: float


@dataclass(frozen=True)
class Progress:
    """How far a run has come, for a progress bar."""

    hours: float
    until_h: float
    actions: int
    filings: int
    delivered: int
    injects: int


class LocalServer:
    """The service on a loopback port in a thread of this process."""

    def __init__(self, settings: Settings) -> None:
        """Build the app on `settings` (not yet serving)."""
        import uvicorn

        from kizuna.service.app import create_app
        from kizuna.service.protocol import GatheringHttpToolsProtocol

        self.app = create_app(settings)
        self.runtime: Runtime = self.app.state.runtime
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            self.app, http=GatheringHttpToolsProtocol, log_level="warning", access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, name="kizuna-service", daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()


def bot_users(runtime: Runtime, structure_id: str, organizations: Sequence[str]) -> dict[str, dict[str, str]]:
    """Add an operator (`filer`) and an approver (`actor`) for each organization; return their API tokens.

    A bilateral body's bots are of the structure's first nation.
    """
    structure = runtime.coordinator.law.structure(structure_id)
    codes = {n.id: n.code for n in structure.nations}
    tokens: dict[str, dict[str, str]] = {}
    for org in organizations:
        organization = structure.org(org)
        nation = structure.nations[0].code if organization.is_bilateral else codes[organization.nation]
        pair: dict[str, str] = {}
        for role, suffix, kind in (("actor", "", "approver"), ("filer", "-filer", "operator")):
            user_id = f"bot-{org}{suffix}"[:80]
            user = User(
                id=user_id,
                name=f"Synthetic player ({kind}), {organization.name}"[:200],
                nation=nation,
                organization=org,
                role=kind,
                clearance=Classification.TOP_SECRET,
            )
            if user_id not in {u.id for u in runtime.directory.users()}:
                runtime.directory.add(user)
            pair[role] = runtime.directory.issue_token(user_id, "synthetic player")
        tokens[org] = pair
    return tokens


def played_organizations(
    scenario: Scenario, structure_id: str, runtime: Runtime, play_: Sequence[str]
) -> list[str]:
    """The organizations `--play` names; `all`: every organization of the scenario's paths and MSEL."""
    structure = runtime.coordinator.law.structure(structure_id)
    if list(play_) != [ALL]:
        for org in play_:
            structure.org(org)  # UnknownId names the known ones
        return list(dict.fromkeys(play_))
    orgs: dict[str, None] = {}
    for spec in scenario.requests:
        path = runtime.coordinator.law.compile(structure, spec)
        for step in path.steps:
            orgs[step.organization] = None
    return list(orgs)


def run_exercise(
    scenario: Scenario,
    *,
    play_: Sequence[str] = (ALL,),
    speed: float | None = 3600.0,
    structure: str | None = None,
    situation: str = "peacetime",
    exercise_id: str | None = None,
    database_url: str | None = None,
    data_dir: Path | None = None,
    config: PlayerConfig | None = None,
    until_h: float | None = None,
    marking: Marking | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> RunResult:
    """Play an exercise of `scenario` with bots against a service started in this process.

    Args:
        scenario: The scenario (its MSEL is made from its injects).
        play_: Organizations the bots play, or `("all",)`.
        speed: Clock speed (1 to 3600); None steps the clock from one due action to the next (bots
            only: every action lands at its exact exercise time, as fast as the service answers).
        structure: Default: the scenario's first.
        situation: The situation the exercise's crisis opens in.
        exercise_id: Default: `<scenario>-<time>`.
        database_url: Default: a SQLite file in `data_dir`.
        data_dir: Where the default database goes (default: the settings' data directory).
        config: Seed and service-time factor of the bots.
        until_h: Stop at this exercise hour if the bots have not finished (default: the last inject's
            hour plus 14 days).
        marking: The exercise's marking (default: unclassified, releasable to every nation).
        progress: Called about twice a second.
    """
    from kizuna.settings import get_settings

    if scenario.network is not None:
        raise InvalidQuery(
            f"{scenario.id} is a queueing network; an exercise plays an organizational scenario"
        )
    structure_id = structure or scenario.structures[0]
    if structure_id not in scenario.structures and "/" not in structure_id:
        raise UnknownId("structure of the scenario", structure_id, scenario.structures)
    base = get_settings()
    folder = data_dir or base.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # noqa: DTZ005 - a local time stamp for a file name
    exercise = exercise_id or f"{scenario.id}-{stamp}"[:80]
    url = database_url or f"sqlite:///{folder / f'exercise-{exercise}.db'}"
    settings = base.model_copy(
        update={"database_url": url, "data_dir": folder, "sqlite_synchronous": "NORMAL"}
    )
    started = time.monotonic()
    with LocalServer(settings) as server:
        runtime = server.runtime
        structure_obj = runtime.coordinator.law.structure(structure_id)
        orgs = played_organizations(scenario, structure_id, runtime, play_)
        tokens = bot_users(runtime, structure_id, orgs)
        excon = _excon(
            runtime, structure_obj.nations[0].code, orgs[0] if orgs else structure_obj.organizations[0].id
        )
        nations = [n.code for n in structure_obj.nations]
        marking = marking or Marking.releasable(
            Classification.UNCLASSIFIED, nations[0], nations[1:], exercise=True
        )
        team, hours = asyncio.run(
            _drive(
                server.url,
                excon,
                scenario=scenario,
                structure=structure_id,
                situation=situation,
                exercise=exercise,
                marking=marking,
                speed=speed,
                tokens=tokens,
                playbook=Playbook(scenario, structure_obj),
                config=config or PlayerConfig(),
                until_h=until_h,
                progress=progress,
            )
        )
    return RunResult(
        exercise=exercise,
        database_url=url,
        team=team,
        hours=hours,
        played=tuple(orgs),
        wall_s=time.monotonic() - started,
    )


def _excon(runtime: Runtime, nation: str, organization: str) -> str:
    user_id = "exercise-control"
    if user_id not in {u.id for u in runtime.directory.users()}:
        runtime.directory.add(
            User(
                id=user_id,
                name="Exercise control (synthetic run)",
                nation=nation,
                organization=organization,
                role="exercise-control",
                clearance=Classification.TOP_SECRET,
            )
        )
    return runtime.directory.issue_token(user_id, "synthetic run")


async def _drive(
    base_url: str,
    excon: str,
    *,
    scenario: Scenario,
    structure: str,
    situation: str,
    exercise: str,
    marking: Marking,
    speed: float | None,
    tokens: dict[str, dict[str, str]],
    playbook: Playbook,
    config: PlayerConfig,
    until_h: float | None,
    progress: Callable[[Progress], None] | None,
) -> tuple[TeamResult, float]:
    import httpx

    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {excon}"}, timeout=60.0
    ) as white:
        body = {
            "id": exercise,
            "name": scenario.name[:200],
            "scenario": scenario.model_dump(mode="json", exclude={"file"}),
            "structure": structure,
            "situation": situation,
            "marking": marking.to_json(),
            "seed": config.seed,
        }
        created = await white.post("/api/exercises", json=body)
        _check(created)
        msel = (await white.get(f"/api/exercises/{exercise}/msel")).json()
        last_h = max((_hours(r["row"]["time"], scenario) for r in msel), default=0.0)
        limit = until_h if until_h is not None else last_h + 14 * 24
        state: dict[str, Any] = {"quiet": 0, "actions": -1, "hours": 0.0}

        async def done(bots: Sequence[Bot]) -> bool:
            ex = (await white.get(f"/api/exercises/{exercise}")).json()
            hours = float(ex["clock"]["hours"])
            state["hours"] = hours
            actions = sum(b.actions for b in bots) + sum(len(b.filed) for b in bots)
            if progress is not None:
                progress(
                    Progress(
                        hours=hours,
                        until_h=max(limit, 1e-9),
                        actions=sum(b.actions for b in bots),
                        filings=sum(len(b.filed) for b in bots),
                        delivered=int(ex["delivered"]),
                        injects=int(ex["injects"]),
                    )
                )
            if hours >= limit:
                return True
            settled = ex["delivered"] >= ex["injects"] and not any(b.busy for b in bots)
            state["quiet"] = state["quiet"] + 1 if settled and actions == state["actions"] else 0
            state["actions"] = actions
            return bool(state["quiet"] >= 3)

        if speed is None:
            alike = _alike(playbook, tokens)
            team = await _stepped(
                white, base_url, exercise, tokens, scenario, playbook, config, limit, progress, alike
            )
            return team, team.hours
        started = await white.post(
            f"/api/exercises/{exercise}/clock", json={"action": "start", "speed": speed}
        )
        _check(started)
        team = await play(base_url, exercise, tokens, playbook=playbook, config=config, done=done)
        paused = await white.post(f"/api/exercises/{exercise}/clock", json={"action": "pause"})
        _check(paused)
    team.hours = float(state["hours"])
    return team, team.hours


async def _stepped(  # noqa: PLR0917 - the pieces of one run, passed on from _drive
    white: Any,
    base_url: str,
    exercise: str,
    tokens: dict[str, dict[str, str]],
    scenario: Scenario,
    playbook: Playbook,
    config: PlayerConfig,
    limit: float,
    progress: Callable[[Progress], None] | None,
    alike: Sequence[Sequence[str]],
) -> TeamResult:
    import math
    from datetime import timedelta

    start = scenario.start
    clock = f"/api/exercises/{exercise}/clock"
    _check(await white.post(clock, json={"action": "start", "speed": 1}))
    _check(await white.post(clock, json={"action": "pause"}))
    _check(await white.post(clock, json={"action": "jump", "to": start.isoformat()}))
    reached = {"hours": 0.0}

    async def jump(hours: float) -> float:
        to = start + timedelta(microseconds=math.ceil(hours * 3.6e9))
        _check(await white.post(clock, json={"action": "jump", "to": to.isoformat()}))
        reached["hours"] = (to - start).total_seconds() / 3600.0
        return reached["hours"]

    async def next_inject_h() -> float | None:
        response = await white.get(f"/api/exercises/{exercise}")
        _check(response)
        nxt = response.json()["next_due"]
        return None if nxt is None else (datetime.fromisoformat(nxt) - start).total_seconds() / 3600.0

    def report(bots: Sequence[Bot], hours: float) -> None:
        if progress is not None:
            filings = sum(len(b.filed) for b in bots)
            progress(
                Progress(
                    hours=hours,
                    until_h=limit,
                    actions=sum(b.actions for b in bots),
                    filings=filings,
                    delivered=0,
                    injects=0,
                )
            )

    msel = (await white.get(f"/api/exercises/{exercise}/msel")).json()
    hours = [(datetime.fromisoformat(r["row"]["time"]) - start).total_seconds() / 3600.0 for r in msel]
    team = await play_stepped(
        base_url,
        exercise,
        tokens,
        playbook=playbook,
        config=config,
        jump=jump,
        next_inject_h=next_inject_h,
        inject_hours=hours,
        until_h=limit,
        alike=alike,
        progress=report,
    )
    team.hours = reached["hours"]
    return team


def _alike(playbook: Playbook, tokens: dict[str, dict[str, str]]) -> list[list[str]]:
    """Organizations whose bots' users see the same (same nation, same clearance: see `bot_users`)."""
    structure = playbook.structure
    groups: dict[str, list[str]] = {}
    for org in tokens:
        organization = structure.org(org)
        nation = structure.nations[0].id if organization.is_bilateral else organization.nation
        groups.setdefault(nation, []).append(org)
    return list(groups.values())


def _hours(text: str, scenario: Scenario) -> float:
    return (datetime.fromisoformat(text) - scenario.start).total_seconds() / 3600.0


def _check(response: Any) -> None:
    if response.status_code >= 400:
        what = f"{response.request.method} {response.request.url.path}"
        raise InvalidQuery(f"{what}: {response.status_code} {response.text[:500]}")


async def _exercise_setup(client: Any, exercise: str) -> tuple[Scenario, str]:
    """Read an exercise's scenario and structure from the log, as a bot's user sees it."""
    after = 0
    while True:
        response = await client.get("/api/events", params={"after": after, "limit": 1000})
        _check(response)
        page = response.json()
        for item in page:
            event = item["event"]
            if item["type"] == "exercise-created" and event.get("crisis") == exercise:
                return Scenario.model_validate(event["scenario"]), str(event["structure"])
        if len(page) < 1000:
            raise InvalidQuery(f"no exercise {exercise!r} that these bots may see")
        after = int(page[-1]["seq"])


def play_against(
    base_url: str,
    exercise: str,
    tokens: dict[str, dict[str, str]],
    *,
    config: PlayerConfig | None = None,
    until_h: float,
    progress: Callable[[Progress], None] | None = None,
) -> TeamResult:
    """Let bots play organizations of an exercise already running on a service (people may play the rest).

    The bots read the exercise's scenario and structure from the log; they play on the exercise's clock
    (real time) until it reaches `until_h` exercise hours.
    """
    import httpx

    from kizuna.model import load_structure

    async def main() -> TeamResult:
        first = next(iter(tokens.values()))["actor"]
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {first}"}, timeout=60.0
        ) as client:
            scenario, structure = await _exercise_setup(client, exercise)

            async def done(bots: Sequence[Bot]) -> bool:
                response = await client.get(f"/api/exercises/{exercise}/clock")
                _check(response)
                hours = float(response.json()["hours"])
                if progress is not None:
                    progress(
                        Progress(
                            hours=hours,
                            until_h=until_h,
                            actions=sum(b.actions for b in bots),
                            filings=sum(len(b.filed) for b in bots),
                            delivered=0,
                            injects=0,
                        )
                    )
                return hours >= until_h

            return await play(
                base_url,
                exercise,
                tokens,
                playbook=Playbook(scenario, load_structure(structure)),
                config=config or PlayerConfig(),
                done=done,
            )

    return asyncio.run(main())
