"""Hatch build hook: the wheel carries the web console's npm assets, built by scripts/web_assets.py.

The assets are not in git (src/kizuna/web/static/vendor is ignored); this hook runs the same step as
scripts/setup (`npm ci`, then copy into the package) before the wheel is built, and the wheel target
lists the folder as an artifact so hatch includes it although git ignores it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class WebAssetsHook(BuildHookInterface):  # type: ignore[type-arg]
    """Build the web console's vendor folder before the wheel is assembled."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Run scripts/web_assets.py's build()."""
        script = Path(self.root) / "scripts" / "web_assets.py"
        spec = importlib.util.spec_from_file_location("kizuna_web_assets", script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build()
