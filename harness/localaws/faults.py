"""AWS on a bad day, on request: propagation delays (a profile) and injected faults (a spec).

This module owns the two specs, their parsing (one clear line on bad input), the seeded
decisions, and the counters and journal of what was injected (served at
`GET /_harness/faults`, and one line per injection in the process log). The hooks live
where the behaviour belongs: `server.py` (control plane, data-plane reset),
`integration.py` (the S3 call, the role), `dataplane.py` (the stage).

Nothing here runs unless asked: with the `default` profile and no fault spec the server
is built without the middleware and the data plane never consults this module.

Profile spec: `NAME[:KEY=VALUE,...]`

    default                     instant, as before (no delays)
    aws-like                    role=10s,stage=3s,flap=1
    aws-like:role=5s,stage=3s   aws-like with other delays

- `role=DURATION`: a new or changed IAM role is not assumable by API Gateway for this
  long (IAM: a new role "cannot be assumed for 10-30 seconds",
  hashicorp/terraform-provider-aws#6566; changes "usually propagate within ~2 seconds",
  pulumi/pulumi-aws#2411). Invokes get `500 {"message": "Internal server error"}` and the
  execution-log line recorded for an unassumable role. That propagation produces the
  same answer as a wrong trust policy is inferred, not recorded (reference, "Real AWS is
  not a perfect world").
- `stage=DURATION`: a new deployment or stage of an API answers 403
  `{"message":"Missing Authentication Token"}` for this long after it was created or
  changed; `flap=1`: then it answers 200 once and 403 once more ("200, but then fails
  again with 403", LocalStack tests/aws/services/apigateway/test_apigateway_lambda.py,
  AWS-validated).

Fault spec: `RULE[,RULE...][;seed=N]`, RULE = `WHERE:KIND[=VALUE][@TRIGGER]`,
TRIGGER = `rate=P` (each matching request with probability P, 0 < P <= 1) or `count=N`
(the first N matching requests). Latency needs no trigger (every request).

    s3.put:slowdown@rate=0.2    S3 PutObject from the integration: 503 SlowDown
    s3.put:internal@count=3     S3 PutObject: 500 InternalError
    s3.put:latency=200ms        S3 PutObject: 200 ms added before S3 answers
    apigw:throttle@rate=0.1     API Gateway control plane: 429 TooManyRequestsException
    apigw:conflict@count=2      API Gateway control plane (writes): 409 ConflictException
    iam:throttle@count=2        IAM: 400 Throttling
    sts:throttle@count=1        STS: 400 Throttling
    data:reset@rate=0.05        execute-api: the connection is reset mid-response

Decisions are seeded (`seed=N`, default 0; one random stream per rule), so a run with the
same requests in the same order gets the same faults.
"""

from __future__ import annotations

import random
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError

PROFILE_ENV = "HARNESS_LOCALAWS_PROFILE"
FAULTS_ENV = "HARNESS_LOCALAWS_FAULTS"
FAULTS_PATH = "/_harness/faults"
JOURNAL_LIMIT = 20000

# Where a fault applies, and the kinds each place knows.
KINDS: dict[str, tuple[str, ...]] = {
    "s3.put": ("slowdown", "internal", "latency"),
    "apigw": ("throttle", "conflict"),
    "iam": ("throttle",),
    "sts": ("throttle",),
    "data": ("reset",),
}
AWS_LIKE_DEFAULTS = {"role": 10.0, "stage": 3.0, "flap": 1.0}
PROFILES: dict[str, dict[str, float]] = {
    "default": {"role": 0.0, "stage": 0.0, "flap": 0.0},
    "aws-like": AWS_LIKE_DEFAULTS,
}
FAULTS_EXAMPLE = "s3.put:slowdown@rate=0.2,apigw:throttle@count=2;seed=42"
PROFILE_EXAMPLE = "aws-like or aws-like:role=5s,stage=3s,flap=1"
_DURATION = re.compile(r"^(?P<n>\d+(\.\d+)?)(?P<unit>ms|s|m)?$")
_RULE = re.compile(r"^(?P<where>[a-z0-9.]+):(?P<kind>[a-z]+)(=(?P<value>[^@]+))?(@(?P<trigger>[a-z]+)=(?P<arg>.+))?$")


def parse_duration(text: str, what: str) -> float:
    """`200ms`, `3s`, `1.5s`, `2m` or a bare number of seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise HarnessError(f"{what}: {text!r} is not a duration", "e.g. 200ms, 3s or 1m")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match.group("unit")]
    return float(match.group("n")) * scale


# --- the profile ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    name: str = "default"
    role_delay: float = 0.0
    stage_delay: float = 0.0
    flap: bool = False

    @property
    def active(self) -> bool:
        return self.role_delay > 0 or self.stage_delay > 0 or self.flap

    def spec(self) -> str:
        if self.name == "default" and not self.active:
            return "default"
        return f"{self.name}:role={self.role_delay:g}s,stage={self.stage_delay:g}s,flap={int(self.flap)}"


def parse_profile(text: str | None, role_delay: str | None = None, stage_delay: str | None = None) -> Profile:
    """A profile spec (see the module docstring), with `--role-delay`/`--stage-delay` on top."""
    text = (text or "default").strip()
    name, _, rest = text.partition(":")
    if name not in PROFILES:
        raise HarnessError(f"local AWS profile {name!r} is unknown (known: {', '.join(PROFILES)})",
                           f"e.g. --profile {PROFILE_EXAMPLE}")
    values = dict(PROFILES[name])
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in values:
            raise HarnessError(f"local AWS profile {text!r}: {item!r} is not role=DURATION, stage=DURATION "
                               "or flap=0|1", f"e.g. --profile {PROFILE_EXAMPLE}")
        if key == "flap":
            if value not in ("0", "1"):
                raise HarnessError(f"local AWS profile {text!r}: flap must be 0 or 1", f"e.g. {PROFILE_EXAMPLE}")
            values[key] = float(value)
        else:
            values[key] = parse_duration(value, f"local AWS profile {text!r}, {key}")
    if role_delay is not None:
        values["role"] = parse_duration(role_delay, "--role-delay")
    if stage_delay is not None:
        values["stage"] = parse_duration(stage_delay, "--stage-delay")
    return Profile(name, values["role"], values["stage"], bool(values["flap"]))


# --- the fault spec ---------------------------------------------------------------------------


@dataclass
class Rule:
    where: str
    kind: str
    value: float | None = None  # latency seconds
    rate: float | None = None
    count: int | None = None
    matched: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @property
    def name(self) -> str:
        return f"{self.where}:{self.kind}"

    def decide(self) -> bool:
        """Whether this matching request gets the fault (call under the spec's lock)."""
        self.matched += 1
        if self.count is not None:
            return self.matched <= self.count
        if self.rate is not None:
            return self.rng.random() < self.rate
        return True


@dataclass
class FaultSpec:
    rules: list[Rule]
    seed: int = 0
    text: str = ""


def parse_faults(text: str | None) -> FaultSpec:
    """The fault spec (see the module docstring); HarnessError naming the bad part otherwise."""
    text = (text or "").strip()
    if not text:
        return FaultSpec([], 0, "")
    body, _, options = text.partition(";")
    seed = 0
    for option in filter(None, (o.strip() for o in options.split(";"))):
        key, _, value = option.partition("=")
        if key != "seed" or not value.strip().lstrip("-").isdigit():
            raise HarnessError(f"fault spec {text!r}: {option!r} is not seed=INTEGER", f"e.g. {FAULTS_EXAMPLE}")
        seed = int(value)
    rules: list[Rule] = []
    for index, item in enumerate(filter(None, (part.strip() for part in body.split(",")))):
        match = _RULE.match(item)
        if not match:
            raise HarnessError(f"fault spec: {item!r} is not WHERE:KIND[=VALUE][@rate=P|@count=N]",
                               f"e.g. {FAULTS_EXAMPLE}")
        where, kind = match.group("where"), match.group("kind")
        if where not in KINDS:
            raise HarnessError(f"fault spec: {item!r}: {where!r} is not one of {', '.join(KINDS)}",
                               f"e.g. {FAULTS_EXAMPLE}")
        if kind not in KINDS[where]:
            raise HarnessError(f"fault spec: {item!r}: {where} knows {', '.join(KINDS[where])}, not {kind!r}",
                               f"e.g. {FAULTS_EXAMPLE}")
        rule = Rule(where, kind, rng=random.Random(f"{seed}/{index}/{where}:{kind}"))
        value = match.group("value")
        if kind == "latency":
            if value is None:
                raise HarnessError(f"fault spec: {item!r} needs a duration", "e.g. s3.put:latency=200ms")
            rule.value = parse_duration(value, f"fault spec {item!r}")
        elif value is not None:
            raise HarnessError(f"fault spec: {item!r}: {kind} takes no value", f"e.g. {where}:{kind}@count=2")
        trigger, arg = match.group("trigger"), match.group("arg")
        if trigger == "rate":
            try:
                rule.rate = float(arg)
            except ValueError:
                rule.rate = -1.0
            if not 0 < rule.rate <= 1:
                raise HarnessError(f"fault spec: {item!r}: rate must be a number in (0, 1]",
                                   f"e.g. {where}:{kind}@rate=0.1")
        elif trigger == "count":
            if not arg.isdigit() or int(arg) < 1:
                raise HarnessError(f"fault spec: {item!r}: count must be a positive integer",
                                   f"e.g. {where}:{kind}@count=3")
            rule.count = int(arg)
        elif trigger is not None:
            raise HarnessError(f"fault spec: {item!r}: @{trigger} is not @rate=P or @count=N", f"e.g. {FAULTS_EXAMPLE}")
        elif kind != "latency":
            raise HarnessError(f"fault spec: {item!r} needs @rate=P or @count=N (an always-on {kind} would never "
                               "let a run finish)", f"e.g. {where}:{kind}@count=2")
        rules.append(rule)
    return FaultSpec(rules, seed, text)


# --- the running state -----------------------------------------------------------------------


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Faults:
    """What one local AWS injects: the profile's clocks, the spec's decisions, the counters."""

    def __init__(self, profile: Profile | None = None, spec: FaultSpec | None = None) -> None:
        self.profile = profile or Profile()
        self.spec = spec or FaultSpec([])
        self._lock = threading.Lock()
        self._by_where: dict[str, list[Rule]] = {}
        for rule in self.spec.rules:
            self._by_where.setdefault(rule.where, []).append(rule)
        self.injected: dict[str, int] = {rule.name: 0 for rule in self.spec.rules}
        self.journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_LIMIT)
        self._role_changed: dict[str, float] = {}
        self._stage_changed: dict[str, float] = {}
        self._flapped: set[tuple[str, float]] = set()
        self._served_after_live: dict[tuple[str, float], int] = {}

    @property
    def active(self) -> bool:
        return self.profile.active or bool(self.spec.rules)

    def wants(self, where: str) -> bool:
        return where in self._by_where

    # --- injected faults ---

    def pick(self, where: str, detail: dict[str, Any], kinds: tuple[str, ...] | None = None,
             single: bool = True) -> list[Rule]:
        """The rules at `where` that fire for this request (each counted and logged).

        `single`: at most one (a request fails one way); rules after the one that fired do
        not see the request, so their counts and random streams are not consumed by it.
        """
        fired: list[Rule] = []
        with self._lock:
            for rule in self._by_where.get(where, ()):
                if kinds is not None and rule.kind not in kinds:
                    continue
                if rule.decide():
                    fired.append(rule)
                    self.injected[rule.name] += 1
                    self.journal.append({"fault": rule.name, "at": round(time.time(), 3), **detail})
                    if single:
                        break
        for rule in fired:
            _log(f"harness-fault: injected {rule.name} {' '.join(f'{k}={v}' for k, v in detail.items())}")
        return fired

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {"profile": self.profile.spec(), "spec": self.spec.text, "seed": self.spec.seed,
                    "injected": dict(self.injected), "total": sum(self.injected.values()),
                    "events": list(self.journal)}

    # --- propagation (the profile) ---

    def role_changed(self, role_name: str) -> None:
        if self.profile.role_delay > 0:
            with self._lock:
                self._role_changed[role_name] = time.monotonic()

    def role_not_assumable(self, role_arn: str) -> bool:
        """True while the role's last change has not propagated; logs AWS's execution-log line."""
        if self.profile.role_delay <= 0:
            return False
        name = role_arn.rsplit("/", 1)[-1]
        with self._lock:
            changed = self._role_changed.get(name)
        if changed is None or time.monotonic() - changed >= self.profile.role_delay:
            return False
        # The execution-log line AWS writes for a role API Gateway cannot assume (reference,
        # "IAM propagation"; recorded for a wrong trust policy).
        _log("Execution failed due to configuration error: API Gateway does not have permission to assume "
             f"the provided role {role_arn}")
        return True

    def stage_changed(self, api_id: str) -> None:
        if self.profile.stage_delay > 0 or self.profile.flap:
            with self._lock:
                self._stage_changed[api_id] = time.monotonic()

    def stage_not_live(self, api_id: str) -> bool:
        """True while the API's newest deployment/stage is not live, and once more as a flap."""
        with self._lock:
            changed = self._stage_changed.get(api_id)
            if changed is None:
                return False
            if time.monotonic() - changed < self.profile.stage_delay:
                return True
            if not self.profile.flap:
                return False
            key = (api_id, changed)
            if key in self._flapped:
                return False
            served = self._served_after_live.get(key, 0) + 1
            self._served_after_live[key] = served
            if served == 2:  # 200 once, then 403 once
                self._flapped.add(key)
                return True
            return False


def from_specs(profile: str | None, faults: str | None, role_delay: str | None = None,
               stage_delay: str | None = None) -> Faults | None:
    """The running state for these specs, or None when nothing is asked (no overhead)."""
    state = Faults(parse_profile(profile, role_delay, stage_delay), parse_faults(faults))
    return state if state.active else None


# --- the answers AWS gives for each fault -----------------------------------------------------

# S3's error body ("Error responses", https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):
# SlowDown is 503 "Please reduce your request rate.", InternalError is 500 "We encountered an
# internal error. Please try again." (list of error codes on the same page).
S3_ERRORS = {
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "internal": (500, "InternalError", "We encountered an internal error. Please try again."),
}
# API Gateway's control plane (REST/JSON): TooManyRequestsException is 429, ConflictException
# is 409 ("Common errors" and e.g. API_CreateDeployment "Errors",
# https://docs.aws.amazon.com/apigateway/latest/api/API_CreateDeployment.html); the
# concurrent-modification message is the one AWS sends (and the harness's
# RETRYABLE_ERRORS matches, harness/terraform/runner.py).
APIGW_ERRORS = {
    "throttle": (429, "TooManyRequestsException", "Too Many Requests"),
    "conflict": (409, "ConflictException",
                 "Unable to complete operation due to concurrent modification. Please try again later."),
}
# IAM and STS (query protocol, XML): throttling is HTTP 400 with error code `Throttling`,
# message "Rate exceeded" ("Common errors",
# https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html and
# https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html list it as
# ThrottlingException, HTTP 400; the query APIs send the code as `Throttling`, which
# every AWS SDK's retryer counts as throttling, e.g. aws-sdk-js-v3
# service-error-classification THROTTLING_ERROR_CODES).
QUERY_NAMESPACES = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
                    "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}


def s3_error(kind: str, resource: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
    status, code, message = S3_ERRORS[kind]
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<Resource>{resource}</Resource><RequestId>{request_id}</RequestId><HostId>{request_id}</HostId>"
            "</Error>").encode()
    return status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body


def control_plane_error(where: str, kind: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
    if where == "apigw":
        status, code, message = APIGW_ERRORS[kind]
        import json

        return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code,
                        "x-amzn-RequestId": request_id}, json.dumps({"message": message}).encode()
    body = (f'<ErrorResponse xmlns="{QUERY_NAMESPACES[where]}"><Error><Type>Sender</Type><Code>Throttling</Code>'
            f"<Message>Rate exceeded</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return 400, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body
