"""One APIRouter per resource; `ROUTERS` is the order the app includes them in."""

from kizuna.service.routers import (
    auth,
    crises,
    events,
    exercises,
    exports,
    health,
    intel_releases,
    intel_reports,
    intel_sensors,
    intel_tracks,
    requests,
    sitreps,
    steps,
    taskings,
    users,
)

ROUTERS = (
    health.router,
    auth.router,
    users.router,
    crises.router,
    requests.router,
    steps.router,
    taskings.router,
    sitreps.router,
    events.router,
    exports.router,
    exercises.router,
    intel_sensors.router,
    intel_reports.router,
    intel_releases.router,
    intel_tracks.router,
)

__all__ = ["ROUTERS"]
