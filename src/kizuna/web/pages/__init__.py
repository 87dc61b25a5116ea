"""One module per page of the console, each with its APIRouter; `ROUTERS` is the order they are included."""

from kizuna.web.pages import crisis, exercise, law, login, request, structure

ROUTERS = (login.router, crisis.router, request.router, structure.router, law.router, exercise.router)

__all__ = ["ROUTERS"]
