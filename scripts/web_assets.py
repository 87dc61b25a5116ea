#!/usr/bin/env python3
"""Install the web console's front-end packages from npm and copy what it serves into the package.

`npm ci` installs exactly the versions of package-lock.json into node_modules/; the files the console
serves are then copied to src/kizuna/web/static/vendor/ (ignored by git, included in the wheel by the
hatch build hook in hatch_build.py, which runs this same step). Nothing is fetched at run time.

Usage: python scripts/web_assets.py [--force]   (stdlib only: it also runs inside the wheel build)
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "src" / "kizuna" / "web" / "static" / "vendor"
MODULES = ROOT / "node_modules"

#: (npm package, file or folder inside it, destination inside vendor/).
COPIES: tuple[tuple[str, str, str], ...] = (
    ("htmx.org", "dist/htmx.min.js", "htmx/htmx.min.js"),
    ("idiomorph", "dist/idiomorph.min.js", "idiomorph/idiomorph.min.js"),
    ("leaflet", "dist/leaflet.js", "leaflet/leaflet.js"),
    ("leaflet", "dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet", "dist/images", "leaflet/images"),
    ("milsymbol", "dist/milsymbol.js", "milsymbol/milsymbol.js"),
    ("cytoscape", "dist/cytoscape.min.js", "cytoscape/cytoscape.min.js"),
    ("swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"),
    ("swagger-ui-dist", "swagger-ui.css", "swagger-ui/swagger-ui.css"),
    ("redoc", "bundles/redoc.standalone.js", "redoc/redoc.standalone.js"),
    ("axe-core", "axe.min.js", "axe-core/axe.min.js"),
)
#: Font weights of Noto Sans JP the console uses (each a CSS file and its woff2 subsets).
FONT = "@fontsource/noto-sans-jp"
FONT_WEIGHTS = ("400", "700")
#: Licences shipped beside the copies.
LICENCES = (
    "htmx.org", "idiomorph", "leaflet", "milsymbol", "topojson-client", "world-atlas", "cytoscape",
    "swagger-ui-dist", "redoc", "axe-core", FONT,
)


def _stamp() -> str:
    """Return a digest of package-lock.json and this script: when it changes, the copies are redone."""
    h = hashlib.sha256((ROOT / "package-lock.json").read_bytes())
    h.update(Path(__file__).read_bytes())
    h.update((ROOT / "scripts" / "basemap.mjs").read_bytes())
    return h.hexdigest()


def _npm_ci() -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("web_assets: npm is needed for the web console's assets (Debian: apt-get install npm)")
    subprocess.run(  # noqa: S603 - a fixed command
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], cwd=ROOT, check=True
    )


def _version(package: str) -> str:
    return str(json.loads((MODULES / package / "package.json").read_text())["version"])


def build(force: bool = False) -> Path:
    """Install (if needed) and copy the assets; return the vendor folder."""
    stamp = _stamp()
    marker = VENDOR / ".stamp"
    if not force and marker.exists() and marker.read_text() == stamp:
        return VENDOR
    lock = json.loads((ROOT / "package-lock.json").read_text())
    installed = MODULES / ".package-lock.json"
    if not installed.exists() or json.loads(installed.read_text()).get("packages") != {
        k: v for k, v in lock["packages"].items() if k
    }:
        _npm_ci()
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    VENDOR.mkdir(parents=True)
    for package, inside, dest in COPIES:
        source, target = MODULES / package / inside, VENDOR / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    # The basemap: Natural Earth 1:10m countries converted at build time by topojson-client (node).
    (VENDOR / "basemap").mkdir()
    node = shutil.which("node")
    if node is None:
        sys.exit("web_assets: node is needed to build the basemap (Debian: apt-get install nodejs)")
    subprocess.run(  # noqa: S603 - a fixed command
        [node, str(ROOT / "scripts" / "basemap.mjs"), str(MODULES / "world-atlas" / "countries-10m.json"),
         str(VENDOR / "basemap" / "theatre-10m.geojson")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    fonts = VENDOR / "fonts"
    (fonts / "files").mkdir(parents=True)
    for weight in FONT_WEIGHTS:
        css = (MODULES / FONT / f"{weight}.css").read_text()
        # Only the woff2 files are shipped (every browser the console supports reads them).
        css = re.sub(r",\s*url\([^)]*\.woff\) format\('woff'\)", "", css)
        (fonts / f"noto-sans-jp-{weight}.css").write_text(css)
        for woff2 in (MODULES / FONT / "files").glob(f"*-{weight}-normal.woff2"):
            shutil.copy2(woff2, fonts / "files" / woff2.name)
    licences = VENDOR / "licences"
    licences.mkdir()
    for package in LICENCES:
        for name in ("LICENSE", "LICENSE.md", "LICENSE.txt", "license"):
            if (MODULES / package / name).exists():
                shutil.copy2(MODULES / package / name, licences / f"{package.replace('/', '-')}.txt")
                break
    versions = {package: _version(package) for package in sorted({c[0] for c in COPIES} | {FONT})}
    (VENDOR / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")
    marker.write_text(stamp)
    return VENDOR


if __name__ == "__main__":
    build(force="--force" in sys.argv[1:])
