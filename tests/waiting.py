"""One way for tests to wait for something another thread or process does.

``wait_until`` polls a predicate until it returns something truthy (which it
returns) or the timeout passes, then fails the test naming what never
happened. The poll interval is not a sleep a clock could replace: it only sets
how soon after the event the test notices it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> T:
    """``predicate()``'s first truthy answer; fails with ``what`` after ``timeout`` seconds.

    Exceptions from the predicate count as "not yet" (a server not listening
    yet), and the last one is shown when the wait fails.
    """
    deadline = clock() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            answer = predicate()
        except Exception as exc:  # not ready yet: try again until the deadline
            answer, last_error = None, exc
        if answer:
            return answer
        if clock() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error is not None else ""
            pytest.fail(f"{what} did not happen within {timeout:g} s{detail}")
        pause(interval)
