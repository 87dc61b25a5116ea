"""GeoJSON and KML of a fused picture (tracks with their trails) and of a structure's sites.

Both exports take a picture already fused for the reader's audience and filtered at the egress: they
add nothing and drop nothing but format. Each carries the picture's combined marking and banner, and
every track its own marking, CoT type and 2525B symbol code (for the map's symbol layer).
"""

from __future__ import annotations

from typing import Any

from kizuna.access import Marking, combine
from kizuna.intel import FusedTrack, Picture
from kizuna.interop.symbols import default_type, sidc_of
from kizuna.model import Structure


def track_type(track: FusedTrack) -> str:
    """Return the CoT type shown for a track: the one its reports claimed, else unknown by height."""
    return track.kind or default_type(track.alt_m)


def picture_marking(picture: Picture) -> Marking | None:
    """Return the combined marking of a picture's tracks (None for an empty picture)."""
    return combine(*(t.marking for t in picture.tracks)) if picture.tracks else None


def _track_properties(track: FusedTrack, nation: str) -> dict[str, Any]:
    cot_type = track_type(track)
    return {
        "kind": "track",
        "id": track.id,
        "type": cot_type,
        "sidc": sidc_of(cot_type),
        "alt_m": round(track.alt_m, 1),
        "speed_m_s": round(track.speed_m_s, 2),
        "course_deg": round(track.course_deg, 1),
        "sigma_m": [round(s, 1) for s in track.sigma_m],
        "updated_at": track.updated_at.isoformat(),
        "updates": track.updates,
        "sensors": [c.sensor for c in track.contributions],
        "marking": track.marking.to_json(),
        "banner": track.marking.banner(nation),
        "exercise": track.exercise,
    }


def picture_geojson(
    picture: Picture, *, nation: str, structure: Structure | None = None, trails: bool = True
) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection: a point per track, its trail as a line, and the sites.

    Coordinates are [longitude, latitude, height] (RFC 7946). `nation` chooses how banners are written.
    """
    features: list[dict[str, Any]] = []
    for track in picture.tracks:
        features.append(
            {
                "type": "Feature",
                "id": track.id,
                "geometry": {"type": "Point", "coordinates": [track.lon, track.lat, round(track.alt_m, 1)]},
                "properties": _track_properties(track, nation),
            }
        )
        if trails and len(track.trail) > 1:
            features.append(
                {
                    "type": "Feature",
                    "id": f"{track.id}/trail",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[p.lon, p.lat, round(p.alt_m, 1)] for p in track.trail],
                    },
                    "properties": {
                        "kind": "trail",
                        "track": track.id,
                        "times": [p.time.isoformat() for p in track.trail],
                        "marking": track.marking.to_json(),
                        "exercise": track.exercise,
                    },
                }
            )
    if structure is not None:
        features.extend(_site_features(structure))
    marking = picture_marking(picture)
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "crisis": picture.crisis,
            "audience": picture.audience.key,
            "version": picture.version,
            "updated_at": picture.updated_at.isoformat() if picture.updated_at else None,
            "marking": marking.to_json() if marking else None,
            "banner": marking.banner(nation) if marking else None,
        },
    }


def _site_features(structure: Structure) -> list[dict[str, Any]]:
    return [
        {
            "type": "Feature",
            "id": f"site/{site.id}",
            "geometry": {"type": "Point", "coordinates": [site.longitude, site.latitude]},
            "properties": {"kind": "site", "id": site.id, "name": site.name},
        }
        for site in structure.sites
    ]


def picture_kml(picture: Picture, *, nation: str, structure: Structure | None = None) -> bytes:
    """Return KML 2.2: a placemark per track (with its trail) and per site, the banner as the name."""
    from lxml import etree

    ns = "http://www.opengis.net/kml/2.2"
    kml = etree.Element(f"{{{ns}}}kml", nsmap={None: ns})
    document = etree.SubElement(kml, f"{{{ns}}}Document")
    marking = picture_marking(picture)
    banner = marking.banner(nation) if marking else "NO TRACKS"
    etree.SubElement(document, f"{{{ns}}}name").text = f"{banner} — {picture.crisis} ({picture.audience.key})"
    for track in picture.tracks:
        placemark = etree.SubElement(document, f"{{{ns}}}Placemark", id=track.id)
        etree.SubElement(placemark, f"{{{ns}}}name").text = f"{track.id} {track_type(track)}"
        etree.SubElement(placemark, f"{{{ns}}}description").text = (
            f"{track.marking.banner(nation)}; {track.speed_m_s:.0f} m/s course {track.course_deg:.0f}; "
            f"updated {track.updated_at.isoformat()}; "
            f"sensors {', '.join(c.sensor for c in track.contributions)}"
        )
        geometry = etree.SubElement(placemark, f"{{{ns}}}MultiGeometry")
        point = etree.SubElement(geometry, f"{{{ns}}}Point")
        etree.SubElement(point, f"{{{ns}}}altitudeMode").text = "absolute"
        etree.SubElement(point, f"{{{ns}}}coordinates").text = f"{track.lon},{track.lat},{track.alt_m:.1f}"
        if len(track.trail) > 1:
            line = etree.SubElement(geometry, f"{{{ns}}}LineString")
            etree.SubElement(line, f"{{{ns}}}altitudeMode").text = "absolute"
            etree.SubElement(line, f"{{{ns}}}coordinates").text = " ".join(
                f"{p.lon},{p.lat},{p.alt_m:.1f}" for p in track.trail
            )
    if structure is not None:
        for site in structure.sites:
            placemark = etree.SubElement(document, f"{{{ns}}}Placemark", id=f"site-{site.id}")
            etree.SubElement(placemark, f"{{{ns}}}name").text = site.name
            point = etree.SubElement(placemark, f"{{{ns}}}Point")
            etree.SubElement(point, f"{{{ns}}}coordinates").text = f"{site.longitude},{site.latitude}"
    return bytes(etree.tostring(kml, xml_declaration=True, encoding="UTF-8", pretty_print=True))
