"""The current user."""

from __future__ import annotations

from fastapi import APIRouter

from kizuna.access import User
from kizuna.service.dependencies import CurrentUser
from kizuna.service.errors import responses

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("/me", responses=responses(401))
async def me(user: CurrentUser) -> User:
    """Return who the request is authenticated as: nation, organization, role and clearance."""
    return user
