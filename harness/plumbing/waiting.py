"""Waiting with a deadline: one loop for every poll in the harness.

`wait_until(condition, timeout, what=...)` calls `condition` until it returns something
truthy, sleeping `interval` between calls (growing by `backoff` up to `max_interval`), and
raises `WaitTimeout` saying what was awaited and for how long. `deadline_passed`-style
loops elsewhere are replaced by it, so every wait is bounded and says what it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


class WaitTimeout(HarnessError):
    """A condition did not hold within its deadline."""


def wait_until(
    condition: Callable[[], T | None],
    timeout: float,
    *,
    what: str,
    interval: float = 0.05,
    backoff: float = 1.0,
    max_interval: float = 1.0,
    hint: str = "",
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """The first truthy value of `condition()`; `WaitTimeout` if none within `timeout` seconds.

    The condition is called at least once, and once more at the deadline, so a wait of 0 s
    is a single check.
    """
    deadline = clock() + timeout
    delay = interval
    while True:
        value = condition()
        if value:
            return value
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}", hint)
        sleep(min(delay, remaining))
        delay = min(delay * backoff, max_interval)
