"""A structure on a map: its sites and the organizations at each, as GeoJSON (RFC 7946) or KML.

Every feature carries names a reader knows (the organization's name, its Japanese name where the data
has one, the site's name) beside the ids, and the provenance of the position: site coordinates in the
bundled data are approximate public map positions. GeoJSON coordinates are [longitude, latitude].
One Point feature per site (`kind: site`, with the organizations there), and one per organization at
its site (`kind`: the organization's kind, e.g. `unit`, `command`), so a GIS can style units apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kizuna.errors import InvalidQuery
from kizuna.model.queries import era_instant, format_offset
from kizuna.model.structure import Organization, Site, Structure

#: Map formats by file suffix.
MAP_FORMATS = (".geojson", ".json", ".kml")


def _provenance(entity: Organization | Site) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if entity.source:
        out["source"] = list(entity.source)
    if entity.assumption:
        out["assumption"] = entity.assumption
    return out


def structure_geojson(structure: Structure) -> dict[str, Any]:
    """Return the structure's sites and organizations as a GeoJSON FeatureCollection."""
    at = era_instant(structure)
    features: list[dict[str, Any]] = []
    by_site: dict[str, list[Organization]] = {}
    for org in structure.organizations:
        if org.site:
            by_site.setdefault(org.site, []).append(org)
    for site in structure.sites:
        offset = format_offset(at.astimezone(site.zone).utcoffset())
        features.append(
            {
                "type": "Feature",
                "id": f"site:{site.id}",
                "geometry": {"type": "Point", "coordinates": [site.longitude, site.latitude]},
                "properties": {
                    "kind": "site",
                    "id": site.id,
                    "name": site.name,
                    "time_zone": site.time_zone,
                    "utc_offset": offset,
                    "organizations": [
                        {"id": o.id, "name": o.name, "name_ja": o.name_ja} for o in by_site.get(site.id, [])
                    ],
                    **_provenance(site),
                },
            }
        )
    for org in structure.organizations:
        where = structure.site_by_id.get(org.site) if org.site else None
        if where is None:
            continue
        nation = structure.nation_by_id.get(org.nation)
        features.append(
            {
                "type": "Feature",
                "id": f"organization:{org.id}",
                "geometry": {"type": "Point", "coordinates": [where.longitude, where.latitude]},
                "properties": {
                    "kind": org.kind.value,
                    "id": org.id,
                    "name": org.name,
                    "name_ja": org.name_ja,
                    "nation": org.nation,
                    "nation_name": nation.name if nation else "bilateral",
                    "site": where.id,
                    "site_name": where.name,
                    **_provenance(org),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "name": structure.id,
        "properties": {
            "structure": structure.id,
            "name": structure.name,
            "era": structure.era.model_dump(mode="json"),
            "positions": "approximate public map coordinates (each site says where they come from)",
        },
        "features": features,
    }


def structure_kml(structure: Structure) -> str:
    """Return the structure as KML: a folder of sites, and a folder of organizations per nation."""
    import simplekml

    kml = simplekml.Kml(name=f"{structure.name} ({structure.id})")
    at = era_instant(structure)
    sites = kml.newfolder(name="Sites")
    for site in structure.sites:
        here = [o for o in structure.organizations if o.site == site.id]
        offset = format_offset(at.astimezone(site.zone).utcoffset())
        point = sites.newpoint(name=site.name, coords=[(site.longitude, site.latitude)])
        point.description = "\n".join(
            [f"{site.id} · {site.time_zone} ({offset})", *(f"{o.name} ({o.id})" for o in here)]
        )
    groups = [(n.id, n.name) for n in structure.nations] + [("bilateral", "Bilateral bodies")]
    for nation_id, title in groups:
        members = [
            o for o in structure.organizations if o.nation == nation_id and o.site in structure.site_by_id
        ]
        if not members:
            continue
        folder = kml.newfolder(name=title)
        for org in members:
            site = structure.site_by_id[org.site or ""]
            label = org.name + (f" ({org.name_ja})" if org.name_ja else "")
            point = folder.newpoint(name=label, coords=[(site.longitude, site.latitude)])
            point.description = f"{org.id} · {org.kind.value} · at {site.name}"
    return str(kml.kml())


def write_structure_map(structure: Structure, out: str | Path) -> Path:
    """Write the structure's map to `out` (.geojson/.json or .kml, by suffix); return the path.

    Raises:
        InvalidQuery: the suffix is not one of `MAP_FORMATS`.
    """
    import json

    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in MAP_FORMATS:
        raise InvalidQuery(f"a map file ends in {', '.join(MAP_FORMATS)} (got {path.name!r})")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".kml":
        path.write_text(structure_kml(structure), encoding="utf-8")
    else:
        path.write_text(
            json.dumps(structure_geojson(structure), indent=2, ensure_ascii=False), encoding="utf-8"
        )
    return path
