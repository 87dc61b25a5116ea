"""The demo seeds users of both nations and a running crisis whose requests they can carry through."""

from __future__ import annotations

from pathlib import Path

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
