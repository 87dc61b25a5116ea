"""One module per page of the console, each with its APIRouter; `ROUTERS` is the order they are included."""

from kizuna.web.pages import crisis, exercise, law, login, plans, request, structure, tracks

ROUTERS = (
    login.router,
    crisis.router,
    tracks.router,
    request.router,
    structure.router,
    law.router,
    plans.router,
    exercise.router,
)

__all__ = ["ROUTERS"]
