"""Random object ids (`r-3f9a0c1b2d`), drawn from the operating system's CSPRNG a page at a time.

Ids are chosen by the service, never by the user, so that filing an object says nothing about which
ids exist (a hidden object answers exactly like a missing one). `secrets.token_hex` asks the kernel for
every id; the call releases the GIL, and under load the thread then waits for the event loop to give
it back, up to a switch interval per id. Here one `os.urandom` call serves `POOL_BYTES // ID_BYTES`
ids, with the same randomness.
"""

from __future__ import annotations

import os
import threading

#: Random bytes per id: 40 bits, ten hexadecimal digits.
ID_BYTES = 5
#: Bytes asked of the kernel at once.
POOL_BYTES = 4096


class _Pool:
    """Random bytes from one `os.urandom` call, handed out in order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = b""
        self._at = 0

    def take(self, size: int) -> bytes:
        """Return the next `size` bytes (refilling from the kernel when too few are left)."""
        with self._lock:
            if self._at + size > len(self._bytes):
                self._bytes, self._at = os.urandom(max(POOL_BYTES, size)), 0
            start = self._at
            self._at += size
            return self._bytes[start : self._at]


_pool = _Pool()


def random_hex(size: int = ID_BYTES) -> str:
    """Return `size` random bytes as hexadecimal digits."""
    return _pool.take(size).hex()


def new_id(prefix: str) -> str:
    """Return a fresh id such as `r-3f9a0c1b2d` (prefix, hyphen, ID_BYTES random bytes in hex)."""
    return f"{prefix}-{random_hex()}"
