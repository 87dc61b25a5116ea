"""The console's assets come from npm through the project's own files and ship inside the wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kizuna.web import VENDOR

ROOT = Path(__file__).resolve().parents[2]
#: What the console serves from the package: scripts, styles, fonts with Japanese glyphs, the basemap.
NEEDED = (
    "htmx/htmx.min.js",
    "idiomorph/idiomorph.min.js",
    "leaflet/leaflet.js",
    "leaflet/leaflet.css",
    "milsymbol/milsymbol.js",
    "cytoscape/cytoscape.min.js",
    "basemap/theatre-10m.geojson",
    "fonts/noto-sans-jp-400.css",
    "fonts/noto-sans-jp-700.css",
    "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui/swagger-ui.css",
    "redoc/redoc.standalone.js",
    "axe-core/axe.min.js",
    "versions.json",
)


def test_the_vendor_folder_holds_the_locked_versions() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    versions = json.loads((VENDOR / "versions.json").read_text())
    for package, version in versions.items():
        assert lock[f"node_modules/{package}"]["version"] == version, package
    for name in NEEDED:
        assert (VENDOR / name).is_file(), name
    fonts = list((VENDOR / "fonts" / "files").glob("*.woff2"))
    assert len(fonts) > 100  # every unicode-range subset of Noto Sans JP, 400 and 700
    css = (VENDOR / "fonts" / "noto-sans-jp-400.css").read_text()
    assert ".woff)" not in css  # only the woff2 files are shipped, and only those are named


def test_the_basemap_shows_the_nansei_islands() -> None:
    basemap = json.loads((VENDOR / "basemap" / "theatre-10m.geojson").read_text())
    japan = next(f for f in basemap["features"] if f["properties"]["name"] == "Japan")
    polygons = japan["geometry"]["coordinates"]

    def land_at(lon: float, lat: float) -> bool:
        for polygon in polygons:
            ring = polygon[0]
            xs, ys = [p[0] for p in ring], [p[1] for p in ring]
            if min(xs) <= lon <= max(xs) and min(ys) <= lat <= max(ys):
                return True
        return False

    for island, (lon, lat) in {
        "Yonaguni": (123.0, 24.46),
        "Ishigaki": (124.2, 24.4),
        "Miyako": (125.3, 24.78),
        "Amami Oshima": (129.45, 28.3),
        "Okinawa": (127.8, 26.5),
    }.items():
        assert land_at(lon, lat), island


@pytest.mark.slow
def test_the_wheel_carries_the_assets(tmp_path: Path) -> None:
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [str(uv), "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)], check=True, capture_output=True
    )
    wheel = next(tmp_path.glob("kizuna-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in NEEDED:
        assert f"kizuna/web/static/vendor/{name}" in names, name
    assert "kizuna/web/static/js/crisis.js" in names
    assert "kizuna/web/messages/ja.json" in names
    assert "kizuna/web/templates/base.html" in names
    assert not [n for n in names if "node_modules" in n]
