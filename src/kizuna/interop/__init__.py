"""Adapters to other systems' formats: Cursor on Target (CoT/TAK) and GeoJSON/KML of fused tracks."""

__all__: list[str] = []
