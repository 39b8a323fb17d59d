"""The wait helper, on a fake clock: it returns the first answer and fails on time."""

import pytest

from tests.waiting import wait_until


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        self.now += seconds


def test_returns_the_first_truthy_answer_without_waiting_longer():
    clock, answers = FakeClock(), iter([None, 0, "ready", "later"])
    got = wait_until(lambda: next(answers), 5, "ready", clock=clock, pause=clock.pause)
    assert got == "ready" and clock.now == pytest.approx(0.1)


def test_fails_naming_what_never_happened_and_the_last_error():
    clock = FakeClock()

    def refused():
        raise ConnectionError("refused")

    with pytest.raises(pytest.fail.Exception) as failed:
        wait_until(refused, 1, "the server answering", clock=clock, pause=clock.pause)
    assert "the server answering did not happen within 1 s" in str(failed.value)
    assert "refused" in str(failed.value)
    assert clock.now == pytest.approx(1.0)
