"""Load on the live service from a separate process over loopback: commands per second, latency, fan-out.

`kizuna bench service` runs this. For each database (a SQLite file; a throw-away PostgreSQL server
started from Debian's binaries) it prepares users and tokens, starts `kizuna serve --demo` in a
subprocess on a free loopback port, and drives it from this process with 50 concurrent clients, each on
its own keep-alive connection (a minimal HTTP/1.1 client: httpx would spend more CPU per request than
the server's cheapest route, and the two share the machine).
Each client repeats a real cycle of commands: file a U.S. request for MSDF asset protection, then carry
it along its compiled decision path, each step with a token of a member of the step's organization
(every command is checked against the law and appended to the hash-chained log). Latency is measured
per command at the client; throughput is commands over wall time. Two runs per database: saturation
(each client sends as soon as it is answered: the most the service does, with the latency that much
queueing costs) and a fixed offered load of 500 commands/s (the goal's rate) on a schedule, with each
latency counted from when the command was due. The scheduled clients start a few milliseconds apart, so
their cycles are in phase and all of them file in the same tenth of a second (a burst of the dearest
command); on SQLite a third run offers the same rate with the cycles spread evenly, to show the
steady-state latency beside the burst's. The reference, measured in the same
run with the same clients, is the service's cheapest route (GET /api/health): the HTTP stack's floor.

Beside throughput and latency each run reports the server's CPU time per command (user and system
time of the server process and its workers, read from the operating system before and after the run)
and the load client's own. Wall-clock latency on a shared machine depends on what else runs there;
CPU per command barely does, so it is the figure to compare between versions of the code.

Fan-out: 200 clients hold the event stream open; one client files a situation report twenty times;
the latency of each delivery is from the POST leaving the client to the message arriving at each
subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from kizuna.errors import KizunaError

#: A callback for progress: (what is happening, fraction done 0..1).
Progress = Callable[[str, float], None]

ASSET_PROTECTION = {
    "name": "MSDF protects U.S. ships (benchmark)",
    "executor": "msdf",
    "actor": "msdf",
    "activity": "asset-protection",
    "supported": "us-forces",
    "location": "high-seas-near-japan",
    "flags": ["in-response-plan"],
    "marking": {"level": "secret", "owner": "USA", "rel_to": ["JPN"], "exercise": True},
}
#: Commands in a client's cycle: filing ASSET_PROTECTION and acting on its path's nine steps (a client
#: whose path has more or fewer steps still runs; only the out-of-phase starts assume this length).
CYCLE_COMMANDS = 10
_ACTION = {
    "coordinate": "coordinate",
    "consult": "consult",
    "approve": "approve",
    "order": "order",
    "execute": "execute",
    "inform": "inform",
}


class BenchFailed(KizunaError, RuntimeError):
    """The service under test did not start or answered with errors."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Throughput and latency of one load run."""

    commands_per_s: float
    p50_ms: float
    p99_ms: float
    commands: int
    errors: int
    seconds: float
    server_cpu_ms: float = 0.0  # CPU time of the server (all its processes) per command, user + system
    client_cpu_ms: float = 0.0  # CPU time of the load client per command


@dataclass(frozen=True, slots=True)
class FanoutResult:
    """Delivery latency of events to stream subscribers."""

    subscribers: int
    events: int
    deliveries: int
    p50_ms: float
    p99_ms: float


def _free_port() -> int:
    from kizuna.store.pgserver import free_port

    return free_port()


#: How long to wait for `kizuna serve` to answer before giving up. Generous: on a loaded machine a
#: start (imports, verifying the log, seeding the demo) can take many times what it takes on a quiet one,
#: and a dead server is noticed at once anyway (its exit is checked on every poll).
READY_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class Served:
    """A `kizuna serve` subprocess: its base URL and process."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path
    ready_s: float  # from starting the process to its first answer

    def cpu_seconds(self) -> float:
        """Return the CPU time (user + system) the server and its worker processes have used so far."""
        try:
            root = psutil.Process(self.process.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess as error:
            raise BenchFailed(f"the server (pid {self.process.pid}) is gone") from error
        total = 0.0
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total


def wait_until_serving(
    process: subprocess.Popen[bytes],
    base: str,
    *,
    log: Path | None = None,
    workers: int = 1,
    timeout_s: float = READY_TIMEOUT_S,
) -> float:
    """Wait until the server at `base` answers `GET /api/health`; return the seconds it took.

    With several `workers`, wait until that many distinct workers have answered (each opens its own
    runtime, and one can be serving long before another is): until then a fresh connection may only
    ever reach the first.

    Raises:
        BenchFailed: The process exited first, or `timeout_s` passed; the message ends with its log.
    """
    started = time.monotonic()
    answered: set[int] = set()
    while True:
        if process.poll() is not None:
            raise BenchFailed(
                f"kizuna serve exited with {process.returncode} before answering{_log_tail(log)}"
            )
        try:
            health = httpx.get(f"{base}/api/health", timeout=5)
            if health.status_code == 200:
                answered.add(int(health.json().get("worker", 0)))
                if len(answered) >= workers:
                    return time.monotonic() - started
        except httpx.TransportError:
            pass
        if time.monotonic() - started > timeout_s:
            raise BenchFailed(
                f"kizuna serve ran for {timeout_s:.0f} s without answering GET {base}/api/health"
                f" from {workers} worker(s) ({len(answered)} answered){_log_tail(log)}"
            )
        time.sleep(0.1)


def _log_tail(log: Path | None) -> str:
    """Return the end of a server's log, to close a failure message with (empty without a log)."""
    if log is None or not log.exists():
        return ""
    return f"; the end of its log ({log}):\n{log.read_text(errors='replace')[-2000:]}"


@contextmanager
def serve_subprocess(
    url: str,
    data_dir: Path,
    *,
    demo: bool = True,
    workers: int = 1,
    timeout_s: float = READY_TIMEOUT_S,
    extra_args: tuple[str, ...] = (),
) -> Iterator[Served]:
    """Run `kizuna serve` on `url` in a subprocess on a free loopback port until it answers; yield it.

    Its standard error goes to `serve-PORT.log` in `data_dir`. On exit the server is terminated (and
    killed if it does not stop).
    """
    port = _free_port()
    kizuna = str(Path(sys.executable).parent / "kizuna")
    args = [kizuna, "serve", "--url", url, "--port", str(port), "--workers", str(workers), *extra_args]
    args += ["--demo"] if demo else []
    env = {**os.environ, "KIZUNA_DATA_DIR": str(data_dir)}
    log = data_dir / f"serve-{port}.log"
    with log.open("wb") as sink:
        # The kizuna script beside this interpreter, with arguments built here: no untrusted input.
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=sink)  # noqa: S603
        base = f"http://127.0.0.1:{port}"
        try:
            ready_s = wait_until_serving(process, base, log=log, workers=workers, timeout_s=timeout_s)
            yield Served(base=base, process=process, log=log, ready_s=ready_s)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(30)


def prepare_users(url: str) -> dict[str, str]:
    """Add a bench user (an approver) for every organization of the benchmark's path; return tokens."""
    from kizuna.access import Classification, Passwords, User, UserDirectory
    from kizuna.authority import load_frameworks
    from kizuna.model import RequestSpec, load_structure
    from kizuna.planning.compile import compile_request
    from kizuna.service.demo import STRUCTURE
    from kizuna.store import open_store

    structure = load_structure(STRUCTURE)
    fields = {k: v for k, v in ASSET_PROTECTION.items() if k != "marking"}
    spec = RequestSpec.model_validate(
        {**fields, "id": "bench", "requester": "usfj", "situation": "important-influence"}
    )
    path = compile_request(structure, load_frameworks(), spec)
    tokens: dict[str, str] = {}
    with open_store(url, listen=False) as store:
        directory = UserDirectory(store.engine, passwords=Passwords.fast())
        for org in sorted({"usfj", *(s.organization for s in path.steps)}):
            organization = structure.org(org)
            nation = "JPN" if organization.is_bilateral else structure.nation_by_id[organization.nation].code
            user = User(
                id=f"bench-{org}",
                name=f"Benchmark member of {org}",
                nation=nation,
                organization=org,
                role="approver",
                clearance=Classification.SECRET,
            )
            directory.add(user)
            tokens[org] = directory.issue_token(user.id, "bench")
    return tokens


class _Connection:
    """A minimal HTTP/1.1 keep-alive client on one loopback connection.

    The load generator shares the machine with the server, so it should cost as little as possible:
    httpx's connection pool spends more CPU per request than the service's cheapest route, which
    would measure the client rather than the server. Only what the benchmark sends is supported: JSON
    bodies and responses with Content-Length.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request and return the status and the body."""
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        """Close the connection."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()


async def _command_load(
    base: str,
    tokens: dict[str, str],
    *,
    clients: int,
    seconds: float,
    rate: float | None = None,
    out_of_phase: bool = False,
) -> LoadResult:
    """Run command cycles from `clients` connections for `seconds`.

    Without `rate`, each client sends its next command as soon as the last is answered (the most the
    service does). With `rate`, the clients together offer `rate` commands per second on a fixed
    schedule, and each latency counts from the moment the command was due, so a server that falls
    behind is charged for the wait (no coordinated omission). The clients start within one period of
    each other, so their cycles are in phase: every client files in the same tenth of a cycle (a
    burst of filings, the dearest command, once a cycle). With `out_of_phase`, client n starts
    n mod CYCLE_COMMANDS whole periods later as well, so as many clients file in each period of a
    cycle (filings spread evenly) while the sends stay evenly spaced within each period; only commands
    due after the last client has started are counted, over `seconds` from then.
    """
    from kizuna.service.demo import CRISIS

    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    headers = {org: {"Authorization": f"Bearer {token}"} for org, token in tokens.items()}
    started = time.perf_counter()
    period = clients / rate if rate else 0.0
    counted_from = started + period * CYCLE_COMMANDS if out_of_phase else started
    deadline = counted_from + seconds

    async def client(number: int) -> None:
        nonlocal errors
        connection = _Connection(host, int(port))
        due = started + _first_due(number, clients, period, out_of_phase=out_of_phase)

        async def send(path: str, body: Any, org: str) -> tuple[int, bytes]:
            nonlocal due
            now = time.perf_counter()
            if rate:
                if due > now:
                    await asyncio.sleep(due - now)
                begin, due = due, due + period
            else:
                begin = now
            result = await connection.request("POST", path, body=body, headers=headers[org])
            if begin >= counted_from:
                latencies.append(time.perf_counter() - begin)
            return result

        try:
            while time.perf_counter() < deadline:
                status, body = await send(f"/api/crises/{CRISIS}/requests", ASSET_PROTECTION, "usfj")
                if status != 201:
                    errors += 1
                    continue
                view = json.loads(body)
                request_id = view["request"]["id"]
                for step in view["steps"]:
                    if time.perf_counter() >= deadline:
                        return
                    path = f"/api/requests/{request_id}/steps/{step['id']}/actions"
                    status, _ = await send(path, {"action": _ACTION[step["kind"]]}, step["organization"])
                    if status != 200:
                        errors += 1
                        break
        finally:
            await connection.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return _load_result(latencies, errors, time.perf_counter() - counted_from)


def _first_due(number: int, clients: int, period: float, *, out_of_phase: bool) -> float:
    """Return when client `number` sends its first command, in seconds from the start.

    The clients' sends are evenly spaced within each period (client n at n/clients of it); out of
    phase, client n also starts n mod CYCLE_COMMANDS whole periods later, so each period of a cycle
    holds the filings of as many clients.
    """
    due = number * period / clients
    if out_of_phase:
        due += (number % CYCLE_COMMANDS) * period
    return due


async def _reference_load(base: str, *, clients: int, seconds: float) -> LoadResult:
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        connection = _Connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                status, _ = await connection.request("GET", "/api/health")
                latencies.append(time.perf_counter() - start)
                errors += status != 200
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return _load_result(latencies, errors, time.perf_counter() - started)


def _measured(served: Served, load: Coroutine[Any, Any, LoadResult]) -> LoadResult:
    """Run one load and add the CPU time per command of the server and of this client to its result."""
    server_before, client_before = served.cpu_seconds(), time.process_time()
    result = asyncio.run(load)
    server_cpu, client_cpu = served.cpu_seconds() - server_before, time.process_time() - client_before
    return replace(
        result,
        server_cpu_ms=server_cpu * 1000 / result.commands,
        client_cpu_ms=client_cpu * 1000 / result.commands,
    )


def _load_result(latencies: list[float], errors: int, elapsed: float) -> LoadResult:
    if not latencies:
        raise BenchFailed("no command completed")
    ms = np.asarray(latencies) * 1000
    return LoadResult(
        commands_per_s=len(latencies) / elapsed,
        p50_ms=float(np.percentile(ms, 50)),
        p99_ms=float(np.percentile(ms, 99)),
        commands=len(latencies),
        errors=errors,
        seconds=elapsed,
    )


async def _fanout(base: str, token: str, *, subscribers: int, events: int) -> FanoutResult:
    from kizuna.service.demo import CRISIS

    host, port = base.removeprefix("http://").split(":")
    auth = f"Bearer {token}"
    sent: dict[bytes, float] = {}
    received: list[float] = []
    timeout_s = 60.0 + events * 2

    async def subscriber() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        query = f"timeout_s={timeout_s}&max_events={events}"
        head = f"GET /api/events/stream?{query} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {auth}"
        writer.write(f"{head}\r\n\r\n".encode())
        try:
            await reader.readuntil(b"\r\n\r\n")
            while line := await reader.readline():
                if line.startswith(b"data:") and b'"fanout-' in line:
                    arrived = time.perf_counter()
                    title = line.split(b'"title":"', 1)[1].split(b'"', 1)[0]
                    received.append(arrived - sent[title])
        finally:
            writer.close()

    tasks = [asyncio.create_task(subscriber()) for _ in range(subscribers)]
    publisher = _Connection(host, int(port))
    try:
        deadline = time.perf_counter() + 60
        while True:
            status, body = await publisher.request("GET", "/api/health")
            if status == 200 and json.loads(body)["subscribers"] >= subscribers:
                break
            if time.perf_counter() > deadline:
                raise BenchFailed(
                    f"only {json.loads(body)['subscribers']} of {subscribers} subscribers connected"
                )
            await asyncio.sleep(0.05)
        marking = {"level": "unclassified", "owner": "USA", "rel_to": ["JPN"], "exercise": True}
        for k in range(events):
            title = f"fanout-{k}"
            before = len(received)
            sent[title.encode()] = time.perf_counter()
            status, body = await publisher.request(
                "POST",
                f"/api/crises/{CRISIS}/sitreps",
                body={"title": title, "refs": [], "marking": marking},
                headers={"Authorization": auth},
            )
            if status != 201:
                raise BenchFailed(f"filing a report failed: {status} {body[:200]!r}")
            wait_until = time.perf_counter() + 10
            while len(received) < before + subscribers and time.perf_counter() < wait_until:
                await asyncio.sleep(0.002)
    finally:
        await publisher.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if not received:
        raise BenchFailed("no stream message arrived")
    ms = np.asarray(received) * 1000
    return FanoutResult(
        subscribers=subscribers,
        events=events,
        deliveries=len(received),
        p50_ms=float(np.percentile(ms, 50)),
        p99_ms=float(np.percentile(ms, 99)),
    )


def run(
    *,
    clients: int = 50,
    seconds: float = 10.0,
    subscribers: int = 200,
    events: int = 20,
    postgresql: bool = True,
    rate: float = 500.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the whole benchmark and return its figures (the shape `--json` prints)."""
    report = progress or (lambda _what, _done: None)
    results: dict[str, LoadResult] = {}
    paced: dict[str, LoadResult] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-") as tmp:
        root = Path(tmp)
        report("SQLite: preparing", 0.0)
        url = f"sqlite:///{root / 'bench.db'}"
        tokens = prepare_users(url)
        with serve_subprocess(url, root) as served:
            base, starts = served.base, {"sqlite": served.ready_s}
            report("SQLite: reference load (GET /api/health)", 0.1)
            reference = _measured(served, _reference_load(base, clients=clients, seconds=seconds / 2))
            report("SQLite: command load", 0.2)
            results["sqlite"] = _measured(
                served, _command_load(base, tokens, clients=clients, seconds=seconds)
            )
            report(f"SQLite: {rate:.0f} commands/s offered", 0.35)
            paced["sqlite"] = _measured(
                served, _command_load(base, tokens, clients=clients, seconds=seconds, rate=rate)
            )
            report(f"SQLite: {rate:.0f} commands/s offered, clients out of phase", 0.4)
            spread = _measured(
                served,
                _command_load(base, tokens, clients=clients, seconds=seconds, rate=rate, out_of_phase=True),
            )
            report(f"Fan-out to {subscribers} subscribers", 0.45)
            fanout = asyncio.run(_fanout(base, tokens["usfj"], subscribers=subscribers, events=events))
        if postgresql:
            from kizuna.store.pgserver import temporary_postgres

            report("PostgreSQL: starting a throw-away server", 0.6)
            with temporary_postgres() as server:
                pg_url = server.create_database("kizuna_bench")
                tokens = prepare_users(pg_url)
                with serve_subprocess(pg_url, root) as served:
                    starts["postgresql"] = served.ready_s
                    report("PostgreSQL: command load", 0.7)
                    results["postgresql"] = _measured(
                        served, _command_load(served.base, tokens, clients=clients, seconds=seconds)
                    )
                    report(f"PostgreSQL: {rate:.0f} commands/s offered", 0.85)
                    paced["postgresql"] = _measured(
                        served,
                        _command_load(served.base, tokens, clients=clients, seconds=seconds, rate=rate),
                    )
    report("done", 1.0)
    out: dict[str, Any] = {name: _rounded(r) for name, r in results.items()}
    for name, r in paced.items():
        out[name]["at_offered_rate"] = {"offered_per_s": rate, **_rounded(r)}
    # The same offered rate with the clients' cycles spread evenly (no burst of filings): information
    # beside the goal's run, which keeps the in-phase clients its figures were first measured with.
    out["sqlite"]["at_offered_rate_out_of_phase"] = {"offered_per_s": rate, **_rounded(spread)}
    for name, start in starts.items():
        out[name]["start_s"] = round(start, 2)  # `kizuna serve --demo` on a fresh database, until it answers
    out["fanout_p99_ms"] = round(fanout.p99_ms, 2)
    out["fanout"] = _rounded(fanout)
    out["reference"] = {
        "what": "GET /api/health with the same clients on the SQLite server (the HTTP floor)",
        **_rounded(reference),
    }
    out["setup"] = {
        "clients": clients,
        "seconds": seconds,
        "cpus": os.cpu_count(),
        # The machine's 1-minute load average when the run started and ended: other work beside it.
        "load_average": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
    }
    return out


def _rounded(result: LoadResult | FanoutResult) -> dict[str, Any]:
    return {
        k: round(v, 3 if k.endswith("_cpu_ms") else 2) if isinstance(v, float) else v
        for k, v in asdict(result).items()
    }
