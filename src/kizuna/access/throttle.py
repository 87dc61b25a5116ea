"""Login throttling: exponential backoff per account and per client address.

Each account and each address may fail a few logins freely; the last free failure and every one
after it close it to logins for a delay that doubles with each failure (`backoff_s`, `2 × backoff_s`,
... up to `max_backoff_s`). While closed, a login is refused before its password is checked, so the right
password after many wrong ones is refused too, and a flood of guesses costs no password hashing. A
success opens the account again; an address is forgiven only by time (otherwise one valid account
would let an address reset its own count between guesses). Counts are forgotten after
`forget_after_s` without failures.

Accounts are keyed by the name tried, whether or not it exists, so the throttle tells nothing about
which accounts exist. The clock is injected (monotonic seconds), so tests drive time.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from kizuna.errors import Throttled

#: Most accounts and addresses remembered each; the longest-untouched are forgotten first.
MAX_ENTRIES = 100_000


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0
    closed_until: float = 0.0


class LoginThrottle:
    """Counts failed logins per account and per address and says when the next may be tried."""

    def __init__(
        self,
        *,
        account_failures: int = 5,
        address_failures: int = 20,
        backoff_s: float = 1.0,
        max_backoff_s: float = 900.0,
        forget_after_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Allow `account_failures` (`address_failures`) free failures, then back off exponentially.

        Args:
            account_failures: Failures per account before each further one closes it for a while.
            address_failures: The same per client address (higher: many people may share one).
            backoff_s: The first delay; it doubles with each further failure.
            max_backoff_s: The longest delay.
            forget_after_s: Failures are forgotten after this long without one (default 4 × the
                longest delay).
            clock: Monotonic seconds.
        """
        self.account_failures = account_failures
        self.address_failures = address_failures
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.forget_after_s = forget_after_s if forget_after_s is not None else 4 * max_backoff_s
        self._clock = clock
        self._accounts: OrderedDict[str, _Failures] = OrderedDict()
        self._addresses: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, account: str, address: str) -> None:
        """Refuse a login attempt while the account or the address is closed.

        Raises:
            Throttled: Names which is closed and for how long (never whether the account exists).
        """
        now = self._clock()
        with self._lock:
            for table, what in ((self._accounts, "this account"), (self._addresses, "this address")):
                entry = table.get(account if table is self._accounts else address)
                if entry is not None and entry.closed_until > now:
                    # `closed_until - now` can exceed the cap by a rounding error (now + delay - now).
                    wait = min(entry.closed_until - now, self.max_backoff_s)
                    raise Throttled(
                        f"too many failed logins for {what}; try again in {math.ceil(wait)} s",
                        retry_after_s=wait,
                    )

    def failed(self, account: str, address: str) -> None:
        """Count a failed login against the account and the address."""
        now = self._clock()
        with self._lock:
            self._count(self._accounts, account, self.account_failures, now)
            self._count(self._addresses, address, self.address_failures, now)

    def succeeded(self, account: str) -> None:
        """Open the account again after a successful login."""
        with self._lock:
            self._accounts.pop(account, None)

    def _count(self, table: OrderedDict[str, _Failures], key: str, free: int, now: float) -> None:
        entry = table.pop(key, None)
        if entry is None or now - entry.last > self.forget_after_s:
            entry = _Failures()
        entry.count += 1
        entry.last = now
        beyond = entry.count - free + 1  # the free-th failure closes it for `backoff_s`
        if beyond > 0:
            delay = min(self.max_backoff_s, self.backoff_s * 2 ** min(beyond - 1, 62))
            entry.closed_until = now + delay
        table[key] = entry  # most recently touched last
        while len(table) > MAX_ENTRIES:
            table.popitem(last=False)
