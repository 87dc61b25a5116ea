"""What a running service holds: settings, clock, store, user directory, coordinator, stream hub,
credentials, the login gate and the encoder of requests' views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kizuna.access import UserDirectory
from kizuna.coordination import Coordinator
from kizuna.service.commands import CommandRunner
from kizuna.service.credentials import CredentialCache, LoginGate
from kizuna.service.hub import Hub
from kizuna.service.viewjson import RequestViewJson
from kizuna.settings import Settings
from kizuna.store import Clock, EventStore, VerifyReport


@dataclass
class Runtime:
    """The live parts behind one app, closed together."""

    settings: Settings
    clock: Clock
    store: EventStore
    directory: UserDirectory
    coordinator: Coordinator
    hub: Hub
    credentials: CredentialCache
    login: LoginGate
    commands: CommandRunner = field(default_factory=CommandRunner)  # the coordinator's commands' thread
    views: RequestViewJson = field(default_factory=RequestViewJson)  # requests' views as JSON
    integrity: VerifyReport | None = None  # the chain check at start (faults only if told to serve anyway)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Stop listening and release the database."""
        for close in reversed(self.closers):
            close()
        self.closers.clear()
        self.commands.stop()
        self.store.close()
