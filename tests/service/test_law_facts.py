"""Issue 8 item 13 through the API: a request that leaves out a fact its ruling depends on is refused
with 422, naming the fact, instead of being ruled on a default; a crisis is opened in a situation its
opener names."""

from __future__ import annotations

from tests.service.conftest import SECRET_BOTH, UNCLASS_BOTH, Service


def open_crisis(service: Service, **extra: object) -> tuple[int, str]:
    """Open an exercise crisis; return the status code and the id the service chose."""
    response = service.client("excon").post(
        "/api/crises",
        {
            "name": "facts",
            "structure": "us-japan-2025",
            "exercise": True,
            "marking": UNCLASS_BOTH.to_json(),
            **extra,
        },
    )
    return response.status_code, response.json().get("id", "")


def test_a_crisis_needs_its_situation_named(service: Service) -> None:
    assert open_crisis(service)[0] == 422  # no default situation decides the law
    assert open_crisis(service, situation="gray-zone")[0] == 201


def test_a_request_leaving_out_a_fact_the_law_depends_on_is_422_naming_it(service: Service) -> None:
    status, crisis = open_crisis(service, situation="gray-zone")
    assert status == 201
    us = service.client("usfj-op")
    body = {
        "executor": "msdf",
        "actor": "msdf",
        "activity": "asset-protection",
        "supported": "us-forces",
        "marking": SECRET_BOTH.to_json(),
    }
    refused = us.post(f"/api/crises/{crisis}/requests", body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "MissingFact"
    assert "location" in refused.json()["detail"]
    stated = us.post(f"/api/crises/{crisis}/requests", {**body, "location": "high-seas-near-japan"})
    assert stated.status_code == 201, stated.text
