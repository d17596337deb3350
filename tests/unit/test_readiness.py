"""The readiness gate's rules, against a stand-in API: pure logic (the gate against the real
local AWS is exercised by every e2e run, and its failure by tests/harness)."""

import pytest
import requests

from harness.errors import HarnessError
from harness.lifecycle.readiness import SENTINEL_PREFIX, likely_cause, wait_until_ready


class Answer:
    def __init__(self, status: int, text: str) -> None:
        self.status_code, self.text = status, text


class ScriptedApi:
    """Answers PUTs from a script; then keeps repeating its last answer."""

    def __init__(self, *answers: tuple[int, str] | type[Exception]) -> None:
        self.answers = list(answers)
        self.keys: list[str] = []

    def put(self, key, body, content_type=None):
        self.keys.append(key)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, type):
            raise answer("no answer")
        return Answer(*answer)


MISSING_TOKEN = (403, '{"message":"Missing Authentication Token"}')
NOT_ASSUMABLE = (500, '{"message": "Internal server error"}')
OK = (200, "")


def test_waits_through_propagation_and_a_flap_then_removes_the_sentinel():
    api = ScriptedApi(MISSING_TOKEN, NOT_ASSUMABLE, OK, MISSING_TOKEN, OK, OK)
    removed: list[str] = []
    ready = wait_until_ready(api, removed.append, timeout=60, sleep=lambda s: None)
    assert ready.answers == ["403", "500", "200", "403", "200", "200"]
    assert ready.attempts == 6
    # Each probe writes its own key (a second PUT of one key gets 412 with overwrite_policy
    # reject); every key a 200 stored is removed, and only those.
    assert len(set(api.keys)) == 6 and all(key.startswith(SENTINEL_PREFIX) for key in api.keys)
    assert removed == [api.keys[2], api.keys[4], api.keys[5]]


def test_never_ready_names_the_likely_cause_and_the_time_waited():
    api = ScriptedApi(NOT_ASSUMABLE)
    clock = iter(range(0, 10_000, 1))
    with pytest.raises(HarnessError) as info:
        wait_until_ready(api, lambda key: None, timeout=0.5, sleep=lambda s: next(clock))
    assert "cannot be assumed" in info.value.message and "waited" in info.value.message
    assert "--ready-timeout" in info.value.hint


def test_connection_errors_are_retried_not_fatal():
    api = ScriptedApi(requests.ConnectionError, OK, OK)
    assert wait_until_ready(api, lambda key: None, timeout=60, sleep=lambda s: None).answers == [
        "ConnectionError", "200", "200"]


@pytest.mark.parametrize(("status", "body", "words"), [
    (403, '{"message":"Missing Authentication Token"}', "not deployed"),
    (500, '{"message": "Internal server error"}', "cannot be assumed"),
    (503, "SlowDown", "failing"),
    (None, "ConnectTimeout", "did not answer"),
])
def test_likely_cause(status, body, words):
    assert words in likely_cause(status, body)
