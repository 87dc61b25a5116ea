"""Adapters to the formats other tools read: maps (GeoJSON, KML) of a structure's sites and units."""

from kizuna.interop.geo import MAP_FORMATS, structure_geojson, structure_kml, write_structure_map

__all__ = ["MAP_FORMATS", "structure_geojson", "structure_kml", "write_structure_map"]
