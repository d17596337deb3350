"""The readiness gate: after an apply, wait until the API answers as the module intends.

On AWS an apply returns before everything it created works: a new integration role
"cannot be assumed for 10-30 seconds" (hashicorp/terraform-provider-aws#6566), so invokes
get `500 {"message": "Internal server error"}`; a new deployment or stage can answer
`403 Missing Authentication Token` for a few seconds, and flap back once after a 200
(LocalStack's AWS-validated API Gateway tests retry for both; see
docs/aws-behaviour.md, "Real AWS is not a perfect world").

The gate sends a sentinel PUT through the real API, under a reserved prefix, with
backoff, bounded in attempts and time, until it gets 200 twice in a row (one 200 can be
a flap). Each attempt writes a key of its own: with overwrite_policy reject a second PUT of
one key is refused with 412, whatever the API's readiness. It then removes the sentinels it
wrote. If the API never becomes ready, one error names the likely cause from the last answer
and the time waited.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from harness.client.upload_client import UploadClient
from harness.errors import HarnessError

SENTINEL_PREFIX = ".harness-ready/"
DEFAULT_TIMEOUT_SECONDS = 120.0
FIRST_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 5.0
MAX_ATTEMPTS = 200
CONSECUTIVE_SUCCESSES = 2


@dataclass
class Readiness:
    seconds: float
    attempts: int
    answers: list[str] = field(default_factory=list)  # what each attempt got, in order

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 3), "attempts": self.attempts, "answers": self.answers[-20:]}


def likely_cause(status: int | None, body: str) -> str:
    if status is None:
        return "the API's endpoint did not answer"
    if status == 403 and "Missing Authentication Token" in body:
        return "the stage is not deployed or not live yet (403 Missing Authentication Token)"
    if status == 500 and "Internal server error" in body:
        return ("the integration role cannot be assumed yet (IAM propagation) or does not trust "
                "apigateway.amazonaws.com (500 Internal server error)")
    if status in (502, 503, 504):
        return f"the integration or S3 is failing ({status})"
    return f"the API answered {status}: {body[:120]}"


def wait_until_ready(
    client: UploadClient,
    remove_sentinel: Callable[[str], None],
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Readiness:
    """Probe until two 200s in a row; raise HarnessError with the likely cause if never."""
    started = time.monotonic()
    deadline = started + timeout
    run = uuid.uuid4().hex
    written: list[str] = []  # the sentinels a 200 stored
    delay = FIRST_DELAY_SECONDS
    answers: list[str] = []
    successes = 0
    status: int | None = None
    body = ""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        key = f"{SENTINEL_PREFIX}{run}-{attempt:03d}"  # no key a prefix of another
        try:
            response = client.put(key, b"ready?", content_type="text/plain")
            status, body = response.status_code, response.text
        except requests.RequestException as exc:
            status, body = None, type(exc).__name__
        answers.append(str(status) if status is not None else body)
        if status == 200:
            written.append(key)
        if status != 200 and successes:
            delay = FIRST_DELAY_SECONDS  # a flap right after a 200: the API is nearly ready, probe again soon
        successes = successes + 1 if status == 200 else 0
        if successes >= CONSECUTIVE_SUCCESSES:
            for key in written:
                remove_sentinel(key)
            return Readiness(time.monotonic() - started, attempt, answers)
        if time.monotonic() + delay > deadline:
            break
        sleep(delay if successes == 0 else FIRST_DELAY_SECONDS)
        delay = min(delay * 2, MAX_DELAY_SECONDS)
    for key in written:
        remove_sentinel(key)
    waited = time.monotonic() - started
    raise HarnessError(
        f"the API never became ready: {likely_cause(status, body)}; waited {waited:.0f}s over "
        f"{len(answers)} attempts (answers: {', '.join(answers[-8:])})",
        "on AWS, IAM and new stages can take a minute: raise --ready-timeout; otherwise check the "
        "integration role's trust policy and the stage's deployment",
    )
