"""The live service: a FastAPI app over the coordinator, with markings enforced at its egress.

`create_app(settings, clock)` builds it; `kizuna serve` runs it with uvicorn; docs/service.md lists the
routes.
"""

from kizuna.service.app import create_app, open_runtime
from kizuna.service.runtime import Runtime

__all__ = ["Runtime", "create_app", "open_runtime"]
