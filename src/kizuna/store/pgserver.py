"""A throw-away PostgreSQL server for tests and benchmarks, started from Debian's binaries.

`temporary_postgres()` finds `initdb` and `pg_ctl` under /usr/lib/postgresql/*/bin (or on PATH),
initializes a cluster in a fresh directory under the system temp dir, starts it on a free loopback port
with its unix socket in that directory, and removes everything on exit. PostgreSQL refuses to run as
root, so when the caller is root the server runs as the unprivileged `postgres` user (which Debian's
package creates) through `runuser`, with the directory handed over to it. The cluster trusts local
connections and runs with fsync off: it is for tests, never for data.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kizuna.errors import KizunaError

#: The superuser the cluster is initialized with.
SUPERUSER = "kizuna"


class PostgresUnavailable(KizunaError, RuntimeError):
    """No PostgreSQL server binaries were found, or the server did not start."""


def find_bin_dir() -> Path | None:
    """Return the directory holding `initdb` and `pg_ctl` (the newest version), or None if there is none."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for directory in reversed(candidates):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """A running throw-away server: its port and directory, and how to reach a database on it."""

    port: int
    directory: Path

    def url(self, database: str = "postgres", *, schema: str | None = None) -> str:
        """Return the SQLAlchemy URL of `database` on this server (psycopg 3, over loopback TCP).

        With `schema`, connections use that schema (`search_path`) instead of `public`.
        """
        url = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"
        return f"{url}?options=-csearch_path%3D{schema}" if schema else url

    def create_schema(self, database: str, schema: str) -> str:
        """Create an empty schema in `database` and return a URL whose connections use it.

        Much faster than a new database (no copy of the template), so tests can have one each.
        """
        import psycopg
        from psycopg import sql

        conninfo = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        return self.url(database, schema=schema)

    def drop_schema(self, database: str, schema: str) -> None:
        """Drop a schema and everything in it."""
        import psycopg
        from psycopg import sql

        conninfo = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        import psycopg
        from psycopg import sql

        conninfo = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting its sessions first."""
        import psycopg
        from psycopg import sql

        conninfo = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _runner() -> tuple[list[str], int | None, int | None]:
    """Return the command prefix that runs a program as a non-root user, with that user's uid and gid."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError as error:
        raise PostgresUnavailable(
            "running as root, and there is no unprivileged 'postgres' user to run the server as"
        ) from error
    runuser = shutil.which("runuser") or shutil.which("setpriv")
    if runuser is None:
        raise PostgresUnavailable("running as root, and neither runuser nor setpriv is available")
    if Path(runuser).name == "runuser":
        return [runuser, "-u", "postgres", "--"], entry.pw_uid, entry.pw_gid
    prefix = [runuser, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
    return prefix, entry.pw_uid, entry.pw_gid


def _run(prefix: Sequence[str], command: Sequence[str], what: str) -> None:
    result = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"{what} failed ({result.returncode}): {result.stderr.strip() or result.stdout}"
        )


@contextmanager
def temporary_postgres(*, attempts: int = 3) -> Iterator[PostgresServer]:
    """Start a throw-away PostgreSQL server, yield it, then stop it and delete its files.

    Raises:
        PostgresUnavailable: There are no server binaries, or the server would not start.
    """
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql")
    prefix, uid, gid = _runner()
    directory = Path(tempfile.mkdtemp(prefix="kizuna-pg-"))
    data = directory / "data"
    try:
        if uid is not None and gid is not None:
            os.chown(directory, uid, gid)
        _run(
            prefix,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            "initdb",
        )
        port = _start(prefix, bin_dir, directory, attempts)
        try:
            yield PostgresServer(port=port, directory=directory)
        finally:
            subprocess.run(  # noqa: S603
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _start(prefix: Sequence[str], bin_dir: Path, directory: Path, attempts: int) -> int:
    """Start the cluster on a free port (retrying if another process takes the port first)."""
    options = (
        "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        f"-c max_connections=200 -k {directory}"
    )
    error: PostgresUnavailable | None = None
    for _ in range(attempts):
        port = free_port()
        try:
            _run(
                prefix,
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(directory / "data"),
                    "-l",
                    str(directory / "server.log"),
                    "-o",
                    f"-p {port} {options}",
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                "pg_ctl start",
            )
        except PostgresUnavailable as failure:
            error = failure
            time.sleep(0.2)
            continue
        return port
    log = directory / "server.log"
    detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise PostgresUnavailable(f"{error}\n{detail}")
