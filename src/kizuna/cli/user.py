"""Manage local user accounts (for administrators): add, list, update, set passwords, API tokens."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from kizuna.cli.console import err, fail, out
from kizuna.cli.db import UrlOption, database_url

if TYPE_CHECKING:
    from pydantic import ValidationError

    from kizuna.access import UserDirectory
    from kizuna.store import EventStore

app = typer.Typer(no_args_is_help=True)


def _directory(url: str | None) -> tuple[EventStore, UserDirectory]:
    from kizuna.access import UserDirectory
    from kizuna.store import open_store

    store = open_store(database_url(url), listen=False)
    return store, UserDirectory(store.engine)


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e['input']!r})" for e in error.errors()
    )


@app.command()
def add(
    user_id: Annotated[str, typer.Argument(help="Login name (kebab-case), e.g. `tanaka-k`.")],
    *,
    name: Annotated[str, typer.Option(help="Full name.")],
    nation: Annotated[str, typer.Option(help="Nation code as markings use it: USA, JPN.")],
    organization: Annotated[str, typer.Option("--org", help="Organization id the user belongs to.")],
    role: Annotated[
        str, typer.Option(help="operator, approver, observer, exercise-control or admin.")
    ] = "observer",
    clearance: Annotated[
        str, typer.Option(help="unclassified, confidential, secret or top-secret.")
    ] = "unclassified",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Create the user without a password (API tokens only).")
    ] = False,
    url: UrlOption = None,
) -> None:
    """Add a user; asks for the password unless --password-stdin or --no-password."""
    from pydantic import ValidationError

    from kizuna.access import User

    try:
        user = User(
            id=user_id, name=name, nation=nation, organization=organization, role=role, clearance=clearance
        )
    except ValidationError as error:
        fail(f"invalid user: {_problems(error)}")
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store, directory = _directory(url)
    with store:
        directory.add(user, password)
    out.print(f"added {user.id} ({user.nation}, {user.organization}, {user.role}, cleared {user.clearance})")


@app.command("list")
def list_users(url: UrlOption = None) -> None:
    """List every user with nation, organization, role, clearance and whether active."""
    from rich.markup import escape

    from kizuna.cli.console import print_table
    from kizuna.report.terminal import Column

    store, directory = _directory(url)
    with store:
        users = directory.users()
    print_table(
        [
            Column("id", key=True),
            Column("name", wrap=True),
            Column("nation", key=True),
            Column("organization", key=True),
            Column("role", key=True),
            Column("clearance", key=True),
            Column("active"),
        ],
        [
            [
                user.id,
                escape(user.name),
                user.nation,
                user.organization,
                user.role,
                user.clearance,
                "yes" if user.active else "no",
            ]
            for user in users
        ],
    )


token_app = typer.Typer(no_args_is_help=True, help="API tokens: create, list, revoke.")
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    user_id: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for (shown in listings).")] = "cli",
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="Expire after this many days (default KIZUNA_TOKEN_TTL_DAYS)."),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Issue an API token for a user and print it once (it is stored only as a hash)."""
    from datetime import timedelta

    from kizuna.settings import get_settings

    store, directory = _directory(url)
    with store:
        lifetime = days if days is not None else get_settings().token_ttl_days
        issued = directory.issue_token(user_id, name, ttl=timedelta(days=lifetime))
    out.print(issued, markup=False, highlight=False, soft_wrap=True)
    err.print(f"token {directory.token_id(issued)} for {user_id}, expires in {lifetime} days")


@token_app.command("list")
def token_list(
    user_id: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    url: UrlOption = None,
) -> None:
    """List API tokens (never the tokens themselves): id, user, name, created, expires, state."""
    from datetime import UTC, datetime

    from rich.table import Table

    store, directory = _directory(url)
    with store:
        if user_id is not None:
            directory.get(user_id)  # UnknownId names the known users
        tokens = directory.tokens(user_id)
    now = datetime.now(UTC)
    table = Table("id", "user", "name", "created", "expires", "state")
    for info in tokens:
        expired = info.expires_at is not None and info.expires_at <= now
        state = "revoked" if info.revoked else "expired" if expired else "valid"
        table.add_row(
            info.id,
            info.user_id,
            info.name,
            f"{info.created_at:%Y-%m-%d}",
            f"{info.expires_at:%Y-%m-%d}" if info.expires_at else "never",
            state,
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id, as `kizuna user token list` shows it.")],
    url: UrlOption = None,
) -> None:
    """Revoke an API token at once: running services stop accepting it and end its open streams."""
    store, directory = _directory(url)
    with store:
        info = directory.revoke_token_id(token_id)
    out.print(f"revoked token {info.id} ({info.user_id}, {info.name})")


@app.command()
def update(
    user_id: Annotated[str, typer.Argument(help="The user to change.")],
    *,
    role: Annotated[str | None, typer.Option(help="New role.")] = None,
    clearance: Annotated[str | None, typer.Option(help="New clearance.")] = None,
    organization: Annotated[str | None, typer.Option("--org", help="New organization id.")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Allow or stop logins and tokens.")
    ] = None,
    url: UrlOption = None,
) -> None:
    """Change a user's role, clearance, organization or whether the user may log in."""
    from pydantic import ValidationError

    from kizuna.access import User

    changes = {
        key: value
        for key, value in {
            "role": role,
            "clearance": clearance,
            "organization": organization,
            "active": active,
        }.items()
        if value is not None
    }
    if not changes:
        fail("nothing to change; give --role, --clearance, --org, --active or --inactive")
    store, directory = _directory(url)
    with store:
        current = directory.get(user_id)
        try:
            changed = User.model_validate(current.model_dump() | changes)
        except ValidationError as error:
            fail(f"invalid user: {_problems(error)}")
        directory.update(changed)
    state = "active" if changed.active else "inactive"
    out.print(
        f"updated {changed.id} ({changed.organization}, {changed.role}, cleared {changed.clearance}, {state})"
    )


@app.command()
def password(
    user_id: Annotated[str, typer.Argument(help="The user whose password to set.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    url: UrlOption = None,
) -> None:
    """Set a user's password (asks for it unless --password-stdin)."""
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\n")
    else:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store, directory = _directory(url)
    with store:
        directory.set_password(user_id, secret)
    out.print(f"password set for {user_id}")
