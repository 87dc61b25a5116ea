"""A writer for crash tests: appends in a burst and acknowledges each committed write on stdout.

Run as `python crash_writer.py URL PREFIX`. After each append returns (committed), it prints the
append's idempotency key and seq on one line and flushes, so the parent knows exactly which writes were
acknowledged when it kills this process with SIGKILL.
"""

from __future__ import annotations

import itertools
import sys

from kizuna.store import NewEvent, open_store


def main() -> None:
    url, prefix = sys.argv[1], sys.argv[2]
    with open_store(url, listen=False) as store:
        for n in itertools.count():
            key = f"{prefix}-{n}"
            events = [NewEvent("burst.write", {"n": n, "pad": "x" * 200}) for _ in range(1 + n % 3)]
            written = store.append(f"burst:{prefix}-{n % 7}", events, idempotency_key=key, actor=prefix)
            sys.stdout.write(f"{key} {written[-1].seq}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
