"""Kizuna: an alliance's crisis-response arrangement as working software.

The public surface is small: the version, the root exception and the loaders of the bundled data.
Subpackages (`kizuna.model`, `kizuna.authority`, ...) export their own interfaces.
"""

from kizuna.errors import KizunaError

__version__ = "0.1.0"

__all__ = ["KizunaError", "__version__"]
