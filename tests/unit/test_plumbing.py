"""The shared plumbing: one wait loop, one JSON-lines reader and writer."""

import pytest

from harness.plumbing import jsonl
from harness.plumbing.waiting import WaitTimeout, wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_returns_the_first_truthy_value():
    answers = iter([None, 0, "", "ready", "later"])
    clock = FakeClock()
    assert wait_until(lambda: next(answers), 10, what="x", interval=0.5, sleep=clock.sleep, clock=clock) == "ready"
    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_wait_until_backs_off_and_never_sleeps_past_the_deadline():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as timed_out:
        wait_until(lambda: False, 3.0, what="the local AWS to answer", interval=0.5, backoff=2, max_interval=1.5,
                   hint="see its log", sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [0.5, 1.0, 1.5]
    assert clock.now == 3.0
    assert timed_out.value.message == "timed out after 3s waiting for the local AWS to answer"
    assert timed_out.value.hint == "see its log"


def test_a_zero_timeout_checks_once():
    calls = []
    clock = FakeClock()
    with pytest.raises(WaitTimeout):
        wait_until(lambda: calls.append(1), 0, what="y", sleep=clock.sleep, clock=clock)
    assert calls == [1] and clock.sleeps == []


def test_jsonl_round_trip_skips_a_torn_last_line(tmp_path):
    path = tmp_path / "deep" / "history.jsonl"
    assert jsonl.read(path) == []
    jsonl.append(path, {"run": 1})
    jsonl.append(path, {"run": 2, "ok": True})
    with path.open("a") as handle:
        handle.write('{"run": 3, "ok"')  # killed mid-write
    assert jsonl.read(path) == [{"run": 1}, {"run": 2, "ok": True}]
    jsonl.append(path, {"run": 4})  # the next writer starts a line of its own after the torn one
    assert jsonl.read(path) == [{"run": 1}, {"run": 2, "ok": True}, {"run": 4}]
