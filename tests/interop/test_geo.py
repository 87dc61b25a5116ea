"""A structure on a map: every site and every organization at it, with names, as GeoJSON and KML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kizuna.errors import InvalidQuery
from kizuna.interop import structure_geojson, write_structure_map
from kizuna.model import load_structure


def test_geojson_places_sites_and_organizations_with_their_names() -> None:
    s = load_structure("us-japan-2025")
    data = structure_geojson(s)
    assert data["type"] == "FeatureCollection"
    sites = {f["properties"]["id"]: f for f in data["features"] if f["properties"]["kind"] == "site"}
    orgs = {f["properties"]["id"]: f for f in data["features"] if f["properties"]["kind"] != "site"}
    assert set(sites) == {x.id for x in s.sites}
    assert set(orgs) == {o.id for o in s.organizations if o.site}
    jjoc = orgs["jjoc"]["properties"]
    assert jjoc["name"] == s.org_by_id["jjoc"].name
    assert jjoc["name_ja"] == s.org_by_id["jjoc"].name_ja
    assert jjoc["site_name"] == s.site_by_id["ichigaya"].name
    assert "source" in jjoc or "assumption" in jjoc
    lon, lat = orgs["12th-mlr"]["geometry"]["coordinates"]  # RFC 7946: longitude first
    site = s.site_of("12th-mlr")
    assert site is not None
    assert (lon, lat) == (site.longitude, site.latitude)
    here = {o["id"] for o in sites["ichigaya"]["properties"]["organizations"]}
    assert "jjoc" in here


def test_kml_is_valid_xml_with_a_placemark_per_site_and_organization(tmp_path: Path) -> None:
    s = load_structure("us-japan-2015")
    path = write_structure_map(s, tmp_path / "m.kml")
    root = ET.parse(path).getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = [n.text for n in root.iterfind(".//k:Placemark/k:name", ns)]
    assert len(names) == len(s.sites) + sum(1 for o in s.organizations if o.site)
    assert any(n and n.startswith("Ground Self-Defense Force") for n in names)
    geo = json.loads(write_structure_map(s, tmp_path / "m.geojson").read_text(encoding="utf-8"))
    assert geo["properties"]["structure"] == "us-japan-2015"
    with pytest.raises(InvalidQuery, match="geojson"):
        write_structure_map(s, tmp_path / "m.shp")
