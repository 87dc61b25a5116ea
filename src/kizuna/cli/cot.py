"""Cursor on Target: a CoT stream endpoint for TAK clients, a feed to a TAK server, test certificates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kizuna.cli.console import EXIT_USAGE, err, fail, out

if TYPE_CHECKING:
    from kizuna.service import Runtime

app = typer.Typer(no_args_is_help=True)

UrlOption = Annotated[str | None, typer.Option(help="Database URL (default: KIZUNA_DATABASE_URL or SQLite).")]


@app.command()
def certs(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the PEM files.")],
    user: Annotated[list[str], typer.Option(help="A Kizuna user id to issue a client certificate for.")],
    host: Annotated[str, typer.Option(help="The server's address or name.")] = "127.0.0.1",
    days: Annotated[int, typer.Option(min=1, max=3_650)] = 30,
) -> None:
    """Write a test CA, a server certificate and client certificates (CN = the Kizuna user)."""
    from kizuna.interop.cot import make_certificates

    files = make_certificates(out_dir, users=user, host=host, days=days)
    for name, pair in files.items():
        out.print(f"{name}: {pair.cert} {pair.key}")


def _runtime(url: str | None) -> Runtime:
    from kizuna.service import open_runtime
    from kizuna.settings import get_settings
    from kizuna.store import system_clock

    settings = get_settings()
    if url is not None:
        settings = settings.model_copy(update={"database_url": url})
    return open_runtime(settings, system_clock)


@app.command()
def serve(
    *,
    crisis: Annotated[str, typer.Option(help="The crisis whose picture is served.")],
    url: UrlOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65_535)] = 8087,
    user: Annotated[str | None, typer.Option(help="The identity of plain-TCP connections.")] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="Server certificate (PEM): serve TLS.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="Server key (PEM).")] = None,
    tls_ca: Annotated[Path | None, typer.Option(help="CA of the client certificates (PEM).")] = None,
    exercise: Annotated[bool, typer.Option("--exercise", help="The feed carries exercise traffic.")] = False,
) -> None:
    """Serve the crisis's picture to TAK clients as CoT; what they send becomes their tracks."""
    import asyncio

    from kizuna.errors import KizunaError, PermissionDenied
    from kizuna.intel import IntelDesk
    from kizuna.interop.cot import Feed
    from kizuna.interop.cot.stream import common_name, server_tls
    from kizuna.interop.cot.stream import serve as serve_cot
    from kizuna.store import system_clock

    tls = None
    if tls_cert or tls_key or tls_ca:
        if not (tls_cert and tls_key and tls_ca):
            fail("TLS needs --tls-cert, --tls-key and --tls-ca", EXIT_USAGE)
        tls = server_tls(tls_cert, tls_key, tls_ca)
    elif user is None:
        fail("plain TCP needs --user (the identity of every connection); or serve TLS", EXIT_USAGE)
    runtime = _runtime(None if url is None else url)
    coordinator = runtime.coordinator
    desk = IntelDesk(
        runtime.store, clock=system_clock, crisis_marking=lambda u, c: coordinator.crisis(u, c).marking
    )

    def identify(peer: dict[str, object] | None) -> Feed:
        user_id = common_name(peer) if tls else user
        try:
            identity = runtime.directory.get(user_id or "")
        except KizunaError as error:
            raise PermissionDenied(f"no Kizuna user {user_id!r}") from error
        if not identity.active:
            raise PermissionDenied(f"user {user_id!r} is not active")
        return Feed(user=identity, crisis=crisis, exercise=exercise)

    async def main() -> None:
        server = await serve_cot(desk, identify, host=host, port=port, tls=tls)
        err.print(f"CoT {'TLS' if tls else 'TCP'} endpoint on {host}:{port} for {crisis} (Ctrl-C stops)")
        async with server:
            while True:  # the picture follows the log, written by the service or anyone else
                await asyncio.sleep(1.0)
                await asyncio.to_thread(desk.catch_up)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()


@app.command()
def feed(
    *,
    crisis: Annotated[str, typer.Option(help="The crisis whose picture is fed.")],
    user: Annotated[str, typer.Option(help="The Kizuna identity the feed acts as.")],
    host: Annotated[str, typer.Option(help="The TAK server.")],
    port: Annotated[int, typer.Option(min=1, max=65_535)] = 8087,
    url: UrlOption = None,
    tls_ca: Annotated[Path | None, typer.Option(help="CA of the TAK server (PEM): connect over TLS.")] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="Our client certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="Our client key (PEM).")] = None,
    exercise: Annotated[bool, typer.Option("--exercise", help="The feed carries exercise traffic.")] = False,
) -> None:
    """Feed a TAK server the picture the identity may see; what it sends back becomes tracks."""
    import asyncio

    from kizuna.intel import IntelDesk
    from kizuna.interop.cot import Feed
    from kizuna.interop.cot.stream import client_tls, feed_server
    from kizuna.store import system_clock

    runtime = _runtime(url)
    coordinator = runtime.coordinator
    desk = IntelDesk(
        runtime.store, clock=system_clock, crisis_marking=lambda u, c: coordinator.crisis(u, c).marking
    )
    identity = runtime.directory.get(user)
    tls = client_tls(tls_ca, tls_cert, tls_key) if tls_ca else None

    async def main() -> None:
        async def follow() -> None:
            while True:
                await asyncio.sleep(1.0)
                await asyncio.to_thread(desk.catch_up)

        follower = asyncio.create_task(follow())
        err.print(f"Feeding {host}:{port} as {user} ({crisis}; Ctrl-C stops)")
        try:
            session = await feed_server(
                desk, Feed(user=identity, crisis=crisis, exercise=exercise), host=host, port=port, tls=tls
            )
            out.print(f"the server closed the feed; {session.received} events received")
        finally:
            follower.cancel()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
