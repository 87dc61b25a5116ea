"""The web console: the live service's pages, served by the same app at `/` (layer 7, a thin shell).

`install(app)` adds the pages (sign-in, crisis overview, request detail, structure explorer, law
explorer), the static assets (every one from the package: htmx, Leaflet, milsymbol, cytoscape, the
Natural Earth basemap and a Japanese font, installed from npm by scripts/web_assets.py) and the API
docs served offline. Pages read the same filtered views as the API (`kizuna.service.egress`); the
browser holds no rule of its own. docs/web.md describes the layout of the front-end code.
"""

from kizuna.web.console import STATIC, VENDOR, MissingAssets, install

__all__ = ["MissingAssets", "STATIC", "VENDOR", "install"]
