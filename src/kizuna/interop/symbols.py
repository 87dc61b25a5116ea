"""CoT types and MIL-STD-2525B symbol codes (SIDC) of tracks.

A CoT atom type (`a-h-S-C`) is built from the 2525B hierarchy: affiliation, battle dimension, then the
function id's letters. `sidc_of()` reverses that construction into the 15-character 2525B code a symbol
renderer (milsymbol) draws; `default_type()` names the type of a track nobody classified, by height.
"""

from __future__ import annotations

#: CoT affiliation letter -> 2525B standard identity.
_AFFILIATION = {"f": "F", "h": "H", "n": "N", "u": "U", "a": "A", "s": "S", "j": "J", "k": "K", "p": "P"}
#: CoT battle dimension -> 2525B battle dimension.
_DIMENSION = {"A": "A", "G": "G", "S": "S", "U": "U", "P": "P", "F": "F", "X": "X"}


def default_type(alt_m: float) -> str:
    """Return the CoT type of an unclassified track: unknown surface below 1 km, unknown air above."""
    return "a-u-S" if alt_m < 1_000 else "a-u-A"


def sidc_of(cot_type: str) -> str | None:
    """Return the 2525B SIDC of a CoT atom type, or None if the type is not an atom (`a-...`).

    `a-h-S-C` (hostile surface combatant) gives `SHSPC----------`: scheme S, identity H, dimension S,
    status P (present), function C, padding.
    """
    parts = cot_type.split(";", maxsplit=1)[0].split("-")
    if len(parts) < 3 or parts[0] != "a" or parts[1] not in _AFFILIATION or parts[2] not in _DIMENSION:
        return None
    function = "".join(parts[3:])[:6].upper()
    return f"S{_AFFILIATION[parts[1]]}{_DIMENSION[parts[2]]}P{function:-<6}-----"
