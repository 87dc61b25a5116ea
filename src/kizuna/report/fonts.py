"""The fonts documents are set in: a Japanese font installed from PyPI, never looked up on the system.

IPAexGothic ships inside the `matplotlib-fontja` wheel; it is found by the package's location without
importing the package (whose import changes matplotlib's global defaults). Charts register it with
matplotlib for the Japanese names (`name_ja`); the PDF writer embeds it for the same names in reports.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

#: The family name IPAexGothic registers under.
JAPANESE_FAMILY = "IPAexGothic"


@lru_cache(maxsize=1)
def japanese_font_path() -> Path:
    """Return the path of the bundled Japanese font file (IPAexGothic, from `matplotlib-fontja`).

    Raises:
        FileNotFoundError: the package is not installed (it is a dependency of Kizuna).
    """
    from importlib.util import find_spec

    spec = find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the Japanese font comes with the matplotlib-fontja package; install Kizuna again"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the Japanese font file is missing from matplotlib-fontja")
    return path


@lru_cache(maxsize=1)
def register_japanese_font() -> str:
    """Make the Japanese font known to matplotlib (once per process); return its family name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(japanese_font_path()))
    return JAPANESE_FAMILY
