"""Schemathesis against the OpenAPI document: generated requests to every operation, as a real user.

Bounded on purpose (a few examples per operation). The stream is left out: it is an open-ended response
by design (its bounded use is tested in test_security.py). Checks: never a server error, only documented
status codes and content types, responses that match their schemas, and invalid input refused with 4xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from tests.service.conftest import SECRET_BOTH, Service, build_service
from tests.service.test_end_to_end import CRISIS, asset_protection, open_crisis

from kizuna.settings import Settings


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service for the module, with a crisis and a request to aim generated ids at."""
    path: Path = tmp_path_factory.mktemp("openapi")
    for service in build_service(
        Settings(data_dir=path, database_url=f"sqlite:///{path / 'k.db'}", sqlite_synchronous="NORMAL")
    ):
        open_crisis(service)
        service.client("usfj-op").post(
            f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json())
        )
        yield service


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


def test_every_operation_keeps_its_contract(seeded: Service) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", seeded.app).exclude(path="/api/events/stream")
    headers = {"Authorization": f"Bearer {seeded.tokens['usfj-approver']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, "every route is in the document"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
