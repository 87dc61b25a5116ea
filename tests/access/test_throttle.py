"""The login throttle and the password policy, on their own."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.access import LoginThrottle, check_password
from kizuna.errors import InvalidQuery, Throttled


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@given(failures=st.integers(1, 40), waits=st.lists(st.floats(0, 100), min_size=1, max_size=40))
def test_a_closed_account_opens_after_its_delay_and_the_delay_is_capped(
    failures: int, waits: list[float]
) -> None:
    ticks = Ticks()
    throttle = LoginThrottle(
        account_failures=3, address_failures=1000, backoff_s=1, max_backoff_s=60, clock=ticks
    )
    for i in range(failures):
        ticks.now += waits[i % len(waits)]
        refused: Throttled | None = None
        try:
            throttle.check("tanaka", "10.0.0.1")
        except Throttled as error:
            refused = error
        if refused is not None:
            assert 0 < refused.retry_after_s <= 60
        else:
            throttle.failed("tanaka", "10.0.0.1")
    ticks.now += 60.001
    throttle.check("tanaka", "10.0.0.1")  # never closed longer than the longest delay


def test_success_opens_the_account_but_not_the_address() -> None:
    ticks = Ticks()
    throttle = LoginThrottle(account_failures=2, address_failures=3, backoff_s=5, clock=ticks)
    throttle.failed("a", "addr")
    throttle.failed("a", "addr")
    with pytest.raises(Throttled, match="this account"):
        throttle.check("a", "addr")
    throttle.succeeded("a")
    throttle.check("a", "other")
    throttle.failed("b", "addr")
    with pytest.raises(Throttled, match="this address"):
        throttle.check("c", "addr")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short", "at least 8"),
        ("x" * 1001, "at most 1000"),
        ("password1", "most common"),
        ("Qwertyuiop", "most common"),
        ("tanaka-rocks-2027", "user's id"),
    ],
)
def test_the_password_policy_names_the_rule_and_never_the_password(password: str, rule: str) -> None:
    with pytest.raises(InvalidQuery, match=rule) as refused:
        check_password(password, "tanaka")
    assert password not in str(refused.value)


def test_a_good_password_passes() -> None:
    check_password("correct horse battery", "tanaka")
    check_password("kizuna-demo", "us-operator")  # the demo's
