"""`kizuna bench exercise`: exercises through the live service, measured against references in the same run.

* **Bots at top speed**: a generated scenario (U.S. requests for MSDF asset protection, filed as a
  Poisson stream) played by bots on the stepped clock through the service on loopback; events appended
  per wall second. Reference: the same number of requests filed and carried along their paths by one
  client, through the same API, as fast as it can (no clock, no bots, no reading of the log).
* **Review build time for ~10,000 events**: an exercise of the same scenario whose schedule is drawn by
  the engine (one replication) and replayed through the coordinator in exercise-time order; then the
  review (2,000 replications). Reference: `kizuna simulate` of the same exercise's scenario with the same
  replications, in the same process.
* **taiwan-contingency at 3600x**: bots play every organization on the real-time clock; the wall time
  beside the exercise hours covered divided by the speed (the ratio is the overhead).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kizuna.access import Classification, Marking, Passwords, User
from kizuna.model.scenario import Scenario

#: The generated scenario: one request filed as a Poisson stream (rate and horizon filled in).
BENCH_SCENARIO = """
id: bench-exercise
name: Asset protection requested as a Poisson stream (benchmark)
structures: [us-japan-2025]
start: {date: 2027-04-05, time: "06:00", zone: Asia/Tokyo}
requests:
  - {id: asset-protection, name: MSDF protects U.S. ships, executor: msdf, situation: gray-zone, actor: msdf,
     activity: asset-protection, supported: us-forces, location: high-seas-near-japan}
injects:
  - at_h: 0
    requests:
      - request: asset-protection
        arrival: {process: poisson, rate_per_h: RATE, horizon_h: HORIZON}
    assumption: A benchmark workload.
parameters:
  defaults:
    service: {dist: lognormal, mean: 0.3, cv: 0.6}
    servers: SERVERS
    assumption: A benchmark workload.
  organizations:
    jp-mod:
      duty:
        {hours: office, open: "09:00", close: "18:00", days: mon-fri, call_in: {dist: exponential, mean: 0.5}}
      assumption: Office hours, to exercise duty hours.
  links:
    same-country: {delay: {dist: lognormal, mean: 10, cv: 0.5, unit: min}, assumption: A benchmark workload.}
    trans-pacific: {delay: {dist: lognormal, mean: 0.5, cv: 0.5}, assumption: A benchmark workload.}
"""


def bench_scenario(folder: Path, *, rate: float, horizon: float, servers: int = 2) -> Scenario:
    """Write and load the benchmark scenario with a filing rate (per hour) and a horizon (hours)."""
    from kizuna.model import load_scenario

    path = folder / "bench-exercise.yaml"
    text = BENCH_SCENARIO.replace("RATE", f"{rate:g}").replace("HORIZON", f"{horizon:g}")
    path.write_text(text.replace("SERVERS", str(servers)), encoding="utf-8")
    return load_scenario(path)


def _count(url: str) -> int:
    from kizuna.store import open_store

    with open_store(url, listen=False) as store:
        return store.count()


def bots_at_top_speed(folder: Path, *, filings: int) -> dict[str, Any]:
    """Bots on the stepped clock: events per second through the service."""
    from kizuna.exercise.players import PlayerConfig
    from kizuna.service.exercise_runner import run_exercise

    scenario = bench_scenario(folder, rate=2.0, horizon=filings / 2.0)
    result = run_exercise(
        scenario,
        speed=None,
        situation="gray-zone",
        data_dir=folder / "bots",
        exercise_id="bench",
        config=PlayerConfig(seed=1),
    )
    events = _count(result.database_url)
    return {
        "filings": result.team.filings,
        "steps": result.team.actions,
        "events": events,
        "wall_s": result.team.wall_s,
        "events_per_s": events / result.team.wall_s,
        "errors": len(result.team.errors),
    }


def direct_reference(folder: Path, *, filings: int) -> dict[str, Any]:
    """One client files requests and carries them along their paths through the API as fast as it can."""
    import httpx

    from kizuna.service.exercise_runner import LocalServer
    from kizuna.settings import Settings

    settings = Settings(
        data_dir=folder, database_url=f"sqlite:///{folder / 'direct.db'}", sqlite_synchronous="NORMAL"
    )
    with LocalServer(settings) as server:
        runtime = server.runtime
        directory = runtime.directory
        users = {
            "admin": ("USA", "usfj", "admin"),
            "filer": ("JPN", "jjoc", "operator"),
        }
        structure = runtime.coordinator.law.structure("us-japan-2025")
        for org in ("jjoc", "indopacom", "acm-acg", "jp-mod", "msdf"):
            organization = structure.org(org)
            nation = (
                "USA"
                if organization.is_bilateral
                else next(n.code for n in structure.nations if n.id == organization.nation)
            )
            users[f"act-{org}"] = (nation, org, "approver")
        tokens = {}
        for user_id, (nation, org, role) in users.items():
            directory.add(
                User(id=user_id, name=user_id, nation=nation, organization=org, role=role, clearance="secret")
            )
            tokens[user_id] = directory.issue_token(user_id, "bench")
        marking = Marking.releasable(Classification.UNCLASSIFIED, "USA", ["JPN"], exercise=True)
        with httpx.Client(base_url=server.url, timeout=60.0) as http:

            def post(user: str, path: str, body: Any) -> Any:
                response = http.post(path, json=body, headers={"Authorization": f"Bearer {tokens[user]}"})
                response.raise_for_status()
                return response.json()

            post(
                "admin",
                "/api/crises",
                {
                    "id": "direct",
                    "name": "Direct",
                    "structure": "us-japan-2025",
                    "situation": "gray-zone",
                    "marking": marking.to_json(),
                },
            )
            before = _count(settings.resolved_database_url())
            started = time.perf_counter()
            spec = {
                "name": "MSDF protects U.S. ships",
                "executor": "msdf",
                "actor": "msdf",
                "activity": "asset-protection",
                "supported": "us-forces",
                "location": "high-seas-near-japan",
                "marking": marking.to_json(),
            }
            for _ in range(filings):
                view = post("filer", "/api/crises/direct/requests", spec)
                request = view["request"]["id"]
                while view["ready"]:
                    step = next(s for s in view["steps"] if s["id"] == view["ready"][0])
                    action = {"approve": "approve", "order": "order", "execute": "execute"}.get(
                        step["kind"], "coordinate"
                    )
                    view = post(
                        f"act-{step['organization']}",
                        f"/api/requests/{request}/steps/{step['id']}/actions",
                        {"action": action},
                    )
            wall = time.perf_counter() - started
    events = _count(settings.resolved_database_url()) - before
    return {"filings": filings, "events": events, "wall_s": wall, "events_per_s": events / wall}


def review_build(folder: Path, *, events: int, replications: int = 2000) -> dict[str, Any]:
    """Replay a drawn schedule of about `events` events through the coordinator; time the review."""
    from kizuna.exercise.aar import review_and_calibration
    from kizuna.interop import scenario_from_msel
    from kizuna.sim import simulate

    filings = max(1, events // 9)  # a filing, six steps, the inject's delivery and answer
    scenario = bench_scenario(folder, rate=4.0, horizon=filings / 4.0, servers=6)
    log, msel = replayed_exercise(folder, scenario)
    import scipy.stats  # noqa: F401 - imported before the clock starts: a one-time cost, not the review's

    from kizuna.model import load_structure

    load_structure("us-japan-2025")  # read once per process, like the reference's
    started = time.perf_counter()
    review, _ = review_and_calibration(log, "bench", replications=replications, seed=1)
    build = time.perf_counter() - started
    started = time.perf_counter()
    simulate(scenario_from_msel(msel, scenario), replications=replications, seed=1, workers=1)
    reference = time.perf_counter() - started
    return {
        "events": len(log),
        "filings": sum(1 for r in msel.rows if r.request),
        "replications": replications,
        "build_s": build,
        "simulate_s": reference,
        "ratio": build / reference,
        "tests": len(review.tests),
    }


def replayed_exercise(folder: Path, scenario: Scenario) -> tuple[list[Any], Any]:
    """An exercise of `scenario` carried through the coordinator in exercise-time order, without HTTP.

    Each filing walks its path with step times drawn at random (queues left out: the workload is only
    there to make a log of the right size and shape). Returns the log and the MSEL.
    """
    import heapq

    import numpy as np

    from kizuna.access import UserDirectory
    from kizuna.coordination import Action, Coordinator, Law
    from kizuna.exercise import ClockAction, Exercises
    from kizuna.exercise.aar import log_of
    from kizuna.exercise.design import msel_for
    from kizuna.store import open_store

    wall = [datetime(2030, 1, 1, tzinfo=UTC)]

    def clock() -> datetime:
        return wall[0]

    with open_store(f"sqlite:///{folder / 'review.db'}", clock=clock, sqlite_synchronous="NORMAL") as store:
        law = Law()
        coordinator = Coordinator(store, law, clock=clock)
        exercises = Exercises(coordinator, clock=clock)
        members = _members(UserDirectory(store.engine, passwords=Passwords.fast(), clock=clock), law)
        msel = msel_for(scenario, "us-japan-2025", law, seed=3)
        exercises.create(
            members["excon"],
            exercise_id="bench",
            name=scenario.name,
            scenario=scenario,
            msel=msel,
            structure="us-japan-2025",
            situation="gray-zone",
            marking=Marking.releasable(Classification.UNCLASSIFIED, "USA", ["JPN"], exercise=True),
        )
        exercises.set_clock(members["excon"], "bench", ClockAction.START, speed=3600)
        anchor = wall[0]
        rng = np.random.default_rng(7)
        queue: list[tuple[float, int, str, str]] = [
            (msel.hours(r.time), n, r.serial, "") for n, r in enumerate(msel.rows) if r.request
        ]
        heapq.heapify(queue)
        counter = len(queue)
        queued: set[tuple[str, str]] = set()
        actions = {"approve": Action.APPROVE, "order": Action.ORDER, "execute": Action.EXECUTE}
        while queue:
            hours, _, key, step = heapq.heappop(queue)
            # 3600x: an exercise hour a wall second (rounded up to the microsecond, so the time is reached)
            wall[0] = max(wall[0], anchor + timedelta(microseconds=math.ceil(hours * 1e6)))
            exercises.deliver_due()
            if not step:
                request = exercises.file_inject(members["filer"], "bench", key)
            else:
                target = coordinator.view.requests[key].path.by_id[step]
                action = actions.get(target.kind.value, Action.COORDINATE)
                request = coordinator.act(members[target.organization], key, step, action)
            for ready in request.ready_steps():
                if (request.id, ready.id) not in queued:
                    queued.add((request.id, ready.id))
                    counter += 1
                    later = hours + float(rng.lognormal(-1.4, 0.55))
                    heapq.heappush(queue, (later, counter, request.id, ready.id))
        exercises.set_clock(members["excon"], "bench", ClockAction.PAUSE)
        log = log_of(store)
        exercises.close()
    return log, msel


def _members(directory: Any, law: Any) -> dict[str, User]:
    """A member of each organization of the benchmark's path, a filer and exercise control."""
    structure = law.structure("us-japan-2025")
    members: dict[str, User] = {}
    for org in ("jjoc", "indopacom", "acm-acg", "jp-mod", "msdf"):
        organization = structure.org(org)
        nation = "USA" if organization.is_bilateral else structure.nation_by_id[organization.nation].code
        members[org] = directory.add(
            User(
                id=f"m-{org}", name=org, nation=nation, organization=org, role="approver", clearance="secret"
            )
        )
    members["filer"] = directory.add(
        User(id="filer", name="filer", nation="JPN", organization="jjoc", role="operator", clearance="secret")
    )
    members["excon"] = directory.add(
        User(
            id="excon",
            name="excon",
            nation="USA",
            organization="usfj",
            role="exercise-control",
            clearance="secret",
        )
    )
    return members


def taiwan_realtime(folder: Path, *, speed: float = 3600.0) -> dict[str, Any]:
    """Bots play every organization of taiwan-contingency on the real-time clock."""
    from kizuna.exercise.players import PlayerConfig
    from kizuna.model import load_scenario
    from kizuna.service.exercise_runner import run_exercise

    result = run_exercise(
        load_scenario("taiwan-contingency"),
        speed=speed,
        situation="gray-zone",
        data_dir=folder / "taiwan",
        exercise_id="taiwan",
        config=PlayerConfig(seed=1),
    )
    ideal = result.hours * 3600.0 / speed
    return {
        "speed": speed,
        "hours": result.hours,
        "ideal_s": ideal,
        "wall_s": result.team.wall_s,
        "ratio": result.team.wall_s / ideal if ideal else float("nan"),
        "lag_s": result.team.lag_s,
        "steps": result.team.actions,
        "errors": len(result.team.errors),
    }


def run(
    *,
    filings: int = 20,
    events: int = 10_000,
    realtime: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every part of the benchmark; return the figures."""
    import os

    def say(what: str) -> None:
        if progress is not None:
            progress(what)

    figures: dict[str, Any] = {"setup": {"cpus": os.cpu_count(), "load": os.getloadavg()[0]}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        say(f"bots at top speed ({filings} filings)")
        figures["bots"] = bots_at_top_speed(folder, filings=filings)
        say("reference: one client carrying the same requests")
        figures["direct"] = direct_reference(folder, filings=filings)
        say(f"review of ~{events:,} events")
        figures["review"] = review_build(folder, events=events)
        if realtime:
            say("taiwan-contingency at 3600x")
            figures["taiwan"] = taiwan_realtime(folder)
    return figures
