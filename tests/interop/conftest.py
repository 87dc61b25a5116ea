"""The interop tests run against the live service's fixtures (a real app over a real SQLite file)."""

from tests.service.conftest import service

__all__ = ["service"]
