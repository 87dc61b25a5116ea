"""The demo seeds users of both nations and a running crisis whose requests they can carry through."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from tests.service.conftest import Service

from kizuna.access.directory import users_table
from kizuna.service import open_runtime
from kizuna.service.demo import CRISIS, DEMO_PASSWORD, login_lines, seed_demo
from kizuna.settings import Settings
from kizuna.store import system_clock


def test_the_demo_seeds_a_running_crisis_once(service: Service) -> None:
    info = seed_demo(service.runtime)
    assert info.seeded_now
    nations = {u.nation for u in info.users}
    assert nations == {"USA", "JPN"}
    crisis = service.runtime.coordinator.view.crises[CRISIS]
    assert [d.situation for d in crisis.timeline] == ["gray-zone", "important-influence"]
    assert crisis.timeline[-1].organization == "jp-cabinet", "designated by the competent organization"
    assert all(r.status.value == "filed" for r in info.requests)
    assert service.runtime.directory.authenticate("jp-mod-approver", DEMO_PASSWORD).organization == "jp-mod"
    again = seed_demo(service.runtime)
    assert not again.seeded_now
    assert len(service.runtime.coordinator.view.crises) == 1
    text = "\n".join(login_lines(info, "http://127.0.0.1:8000"))
    assert "us-operator" in text
    assert "curl" in text


def test_demo_users_can_carry_a_demo_request_to_execution(service: Service) -> None:
    info = seed_demo(service.runtime)
    coordinator = service.runtime.coordinator
    members = {u.organization: u for u in info.users if u.role in {"operator", "approver"}}
    request = info.requests[1]
    while ready := coordinator.view.requests[request.id].ready_steps():
        step = ready[0]
        action = {
            "coordinate": "coordinate",
            "consult": "consult",
            "approve": "approve",
            "order": "order",
            "execute": "execute",
            "inform": "inform",
        }[step.kind.value]
        user = members[step.organization]
        token = service.runtime.directory.issue_token(user.id, "test")
        response = service.http.post(
            f"/api/requests/{request.id}/steps/{step.id}/actions",
            json={"action": action},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
    assert coordinator.view.requests[request.id].status.value == "executed"


def test_the_printed_instructions_are_true_once_every_request_is_carried_through(service: Service) -> None:
    """A second `serve --demo` on a finished demo: no empty "next:", no placeholder step in the curl."""
    from kizuna.service.demo import _carry

    info = seed_demo(service.runtime)
    members = {u.organization: u for u in info.users if u.role in {"operator", "approver"}}
    for request in info.requests:
        _carry(service.runtime, request.id, lambda org: members[org])
    text = "\n".join(login_lines(seed_demo(service.runtime), "http://127.0.0.1:8000", service.runtime))
    assert "-> next: \n" not in text + "\n"
    assert "STEP" not in text
    assert "/steps/" not in text  # nothing is left to act on
    assert "carried through" in text
    assert "serve --demo --reset" in text
    for request in info.requests:
        assert f"Request {request.id}: " in text
    assert "-> executed" in text


def test_the_curl_acts_on_a_ready_step_as_a_member_of_its_organization(service: Service) -> None:
    info = seed_demo(service.runtime)
    text = "\n".join(login_lines(info, "http://127.0.0.1:8000", service.runtime))
    request = service.runtime.coordinator.view.requests[info.requests[0].id]
    step = request.ready_steps()[0]
    assert f"/api/requests/{request.id}/steps/{step.id}/actions" in text
    import re

    user_id = re.search(r'"username":"([^"]+)"', text)
    assert user_id is not None
    actor = next(u for u in info.users if u.id == user_id.group(1))
    assert actor.organization == step.organization
    assert actor.role in {"operator", "approver"}


def test_reset_deletes_only_a_sqlite_demo_database(tmp_path: Path) -> None:
    import typer

    from kizuna.cli.serve import _reset_demo

    db = tmp_path / "demo.db"
    db.write_bytes(b"not empty")
    (tmp_path / "demo.db-wal").write_bytes(b"x")
    _reset_demo(f"sqlite:///{db}", demo=True)
    assert not db.exists()
    assert not (tmp_path / "demo.db-wal").exists()
    for url, demo in ((f"sqlite:///{db}", False), ("postgresql://u@localhost/kizuna", True)):
        with pytest.raises(typer.Exit) as done:
            _reset_demo(url, demo=demo)
        assert done.value.exit_code == 2


def test_demo_users_get_the_cheap_hash_and_the_services_cost_at_first_login(tmp_path: Path) -> None:
    # Their password is printed for all to see: hashing it at the full cost for every demo user made
    # most of a demo start. The first login re-hashes at the service's cost, as any other stale hash.
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    runtime = open_runtime(settings, system_clock)  # the production hasher, as `kizuna serve` has
    try:
        seed_demo(runtime)
        service_cost = runtime.directory.passwords

        def stored_hash() -> str:
            with runtime.store.engine.connect() as connection:
                return str(
                    connection.execute(
                        select(users_table.c.password_hash).where(users_table.c.id == "us-operator")
                    ).scalar_one()
                )

        assert service_cost.needs_rehash(stored_hash())
        assert runtime.directory.authenticate("us-operator", DEMO_PASSWORD).id == "us-operator"
        assert not service_cost.needs_rehash(stored_hash())
        assert runtime.directory.authenticate("us-operator", DEMO_PASSWORD).id == "us-operator"
    finally:
        runtime.close()
