"""Who may call a method, and how often: the caller checks API Gateway runs before the integration.

Each rule, with the AWS source it follows:

- `AWS_IAM` methods ("Control access to a REST API with IAM permissions",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html): the caller
  signs with SigV4 for service `execute-api` and needs `execute-api:Invoke` on the method ARN
  `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH`
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html).
  The answers are those of "How do I troubleshoot HTTP 403 errors from API Gateway?"
  (https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden):
  no signature: 403 `{"message":"Missing Authentication Token"}` (MissingAuthenticationTokenException);
  an access key AWS does not know: 403 "The security token included in the request is invalid.";
  a signature that does not match: 403 InvalidSignatureException whose message is the recorded
  "The request signature we calculated does not match ..." text followed by the canonical string
  and string-to-sign (recorded answers: mhart/aws4#33, aws/aws-sdk-js#2372);
  no permission: 403 AccessDeniedException `{"Message":"User: ARN is not authorized to perform:
  execute-api:Invoke on resource: ARN"}`, `... with an explicit deny` when a policy denies. The
  body's key is `Message` (capital M) and the account id in the resource ARN is masked as
  `********` plus its last four digits (recorded: ASFHyP3/hyp3#2283, serverless/serverless#5071).
- Resource policies ("How API Gateway resource policies affect authorization workflow",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html):
  an explicit Deny always wins; without AWS_IAM the caller is `anonymous` and the policy must
  allow it; with AWS_IAM (same account) either the IAM policy or the resource policy may allow.
  A resource policy takes effect with the next deployment, so it is read from the snapshot.
- API keys ("Usage plans and API keys",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html):
  a method with `apiKeyRequired` needs `x-api-key` naming an enabled key of a usage plan bound
  to the stage; otherwise 403 `{"message":"Forbidden"}` (ForbiddenException, INVALID_API_KEY).
- Throttling ("Throttle requests to your REST APIs",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html):
  a token bucket per stage (method settings `*/*`, or the method's own entry) and per API key
  (its usage plan's throttle): rate tokens per second, at most burst tokens; over it 429
  `{"message":"Too Many Requests"}` (TooManyRequestsException, THROTTLED). A usage plan's quota
  per key and period: over it 429 `{"message":"Limit Exceeded"}` (LimitExceededException,
  QUOTA_EXCEEDED). Statuses from "Gateway response types"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
  Stage settings and usage plans apply without a new deployment, so they are read live.

Local choices (not AWS facts): access keys that are neither an IAM user's nor an STS session's
(the harness's static `test` keys) act as the account's administrator, as everywhere in the
local AWS, and their signature cannot be checked (the local AWS does not know their secret).
The order of the checks (authentication, authorization, API key, throttle, quota) follows the
documented flow; which answer AWS gives when two checks fail at once is *unconfirmed*.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness.localaws import backends
from harness.localaws.gateway_responses import GatewayResponse, json_message, missing_authentication_token

INVOKE_ACTION = "execute-api:Invoke"
API_KEY_HEADER = "x-api-key"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
# The period a usage plan quota counts over, in seconds (DAY, WEEK; MONTH as 31 days: the
# calendar boundary AWS resets on is not modelled).
QUOTA_PERIOD_SECONDS = {"DAY": 86400, "WEEK": 7 * 86400, "MONTH": 31 * 86400}


@dataclass
class CallerRequest:
    """What the caller checks read from one invocation."""

    api_id: str
    stage: str
    http_method: str
    method: dict[str, Any]
    resource_path: str  # e.g. /{bucket}/{filename}
    encoded_path: str  # the path after the stage, as sent
    raw_path: str  # the whole request path as sent (what a SigV4 signature covers)
    raw_query: str
    headers: dict[str, str]
    body: bytes
    source_ip: str
    region: str
    account_id: str
    policy: str | None = None
    # Who the checks found, for the access log: a signed caller's ARN, the API key's id.
    caller_arn: str | None = None
    api_key_id: str | None = None


def access_denied(principal: str, resource_arn: str, explicit: bool) -> GatewayResponse:
    masked = resource_arn
    parts = resource_arn.split(":")
    if len(parts) > 5 and len(parts[4]) == 12:
        parts[4] = "********" + parts[4][-4:]
        masked = ":".join(parts)
    message = f"User: {principal} is not authorized to perform: {INVOKE_ACTION} on resource: {masked}"
    if explicit:
        message += " with an explicit deny"
    return GatewayResponse(
        403, json.dumps({"Message": message}, separators=(",", ":")).encode(),
        {"Content-Type": "application/json", "x-amzn-ErrorType": "AccessDeniedException"},
    )


def method_arn(request: CallerRequest) -> str:
    path = request.encoded_path.lstrip("/")
    return (f"arn:aws:execute-api:{request.region}:{request.account_id}:{request.api_id}/"
            f"{request.stage}/{request.http_method.upper()}/{path}")


# --- resource policies ---------------------------------------------------------------------

def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str) -> bool:
    from harness.localaws.controlplane.iam import wildcard_match

    return wildcard_match(pattern, value)


def _ip_in(values: list[str], source_ip: str) -> bool:
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    for value in values:
        try:
            if address in ipaddress.ip_network(str(value), strict=False):
                return True
        except ValueError:
            continue
    return False


def condition_holds(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    """IpAddress / NotIpAddress on aws:SourceIp, String(Not)Equals / StringLike; others never hold."""
    for operator, clauses in conditions.items():
        for key, expected in clauses.items():
            values = [str(v) for v in _as_list(expected)]
            actual = context.get(key)
            if actual is None:
                return False
            if operator == "IpAddress":
                ok = _ip_in(values, actual)
            elif operator == "NotIpAddress":
                ok = not _ip_in(values, actual)
            elif operator == "StringEquals":
                ok = actual in values
            elif operator == "StringNotEquals":
                ok = actual not in values
            elif operator == "StringLike":
                ok = any(_wildcard(v, actual) for v in values)
            else:
                ok = False
            if not ok:
                return False
    return True


def _principal_matches(principal: Any, caller_arn: str | None) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = _as_list(principal.get("AWS", []))
        return "*" in aws or (caller_arn is not None and caller_arn in aws)
    return False


def resource_policy_verdict(policy: str | None, resource: str, caller_arn: str | None,
                            context: dict[str, str]) -> str:
    """"deny", "allow" or "neutral" for execute-api:Invoke on `resource`."""
    if not policy:
        return "neutral"
    document = json.loads(policy)
    verdict = "neutral"
    for statement in _as_list(document.get("Statement", [])):
        actions = _as_list(statement.get("Action", []))
        if not any(_wildcard(a.lower(), INVOKE_ACTION.lower()) for a in actions):
            continue
        if not any(_wildcard(r, resource) for r in _as_list(statement.get("Resource", []))):
            continue
        if not _principal_matches(statement.get("Principal"), caller_arn):
            continue
        if statement.get("Condition") and not condition_holds(statement["Condition"], context):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        if statement.get("Effect") == "Allow":
            verdict = "allow"
    return verdict


# --- SigV4 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Signature:
    access_key_id: str
    scope_date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> Signature | None:
    if not value.startswith("AWS4-HMAC-SHA256 "):
        return None
    fields: dict[str, str] = {}
    for part in value[len("AWS4-HMAC-SHA256 "):].split(","):
        name, _, item = part.strip().partition("=")
        fields[name] = item
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or not fields.get("SignedHeaders") or not fields.get("Signature"):
        return None
    return Signature(scope[0], scope[1], scope[2], scope[3], fields["SignedHeaders"].split(";"),
                     fields["Signature"])


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def expected_signature(request: CallerRequest, signature: Signature, secret: str,
                       token: str | None) -> tuple[str, str, str]:
    """(signature, canonical request, string to sign) as the caller should have computed them."""
    signed = {name: _header(request.headers, name) or "" for name in signature.signed_headers}
    aws_request = AWSRequest(
        method=request.http_method.upper(),
        url=f"http://{signed.get('host', 'localhost')}{request.raw_path}"
            + (f"?{request.raw_query}" if request.raw_query else ""),
        data=request.body, headers=signed)
    aws_request.context["timestamp"] = signed.get("x-amz-date", "")
    auth = SigV4Auth(Credentials(signature.access_key_id, secret, token), signature.service, signature.region)
    canonical = auth.canonical_request(aws_request)
    string_to_sign = auth.string_to_sign(aws_request, canonical)
    return auth.signature(string_to_sign, aws_request), canonical, string_to_sign


def invalid_signature(canonical: str, string_to_sign: str) -> GatewayResponse:
    message = (f"{SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'"
               f"\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n")
    return json_message(403, message, "InvalidSignatureException")


# --- throttling ----------------------------------------------------------------------------

@dataclass
class TokenBucket:
    rate: float
    burst: int
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens = float(self.burst)
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def too_many_requests() -> GatewayResponse:
    return json_message(429, "Too Many Requests", "TooManyRequestsException")


def limit_exceeded() -> GatewayResponse:
    return json_message(429, "Limit Exceeded", "LimitExceededException")


def forbidden() -> GatewayResponse:
    return json_message(403, "Forbidden", "ForbiddenException")


class CallerChecks:
    """The caller checks of every stage, with their throttle and quota state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[Any, ...], TokenBucket] = {}
        self._quota: dict[tuple[str, str], tuple[float, int]] = {}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._quota.clear()

    def check(self, request: CallerRequest) -> GatewayResponse | None:
        """None if the request may go on to the integration, else API Gateway's answer."""
        resource = method_arn(request)
        context = {"aws:SourceIp": request.source_ip}
        if request.method.get("authorizationType") == "AWS_IAM":
            denied = self._check_iam(request, resource, context)
        else:
            verdict = resource_policy_verdict(request.policy, resource, None, context)
            denied = None
            if request.policy and verdict != "allow":
                denied = access_denied("anonymous", resource, explicit=verdict == "deny")
        if denied is not None:
            return denied
        key_id: str | None = None
        plan: backends.UsagePlanView | None = None
        if request.method.get("apiKeyRequired"):
            found = self._api_key(request)
            if found is None:
                return forbidden()
            plan, key_id = found
            request.api_key_id = key_id
        return self._throttle(request, plan, key_id)

    # --- steps ---------------------------------------------------------------------------

    def _check_iam(self, request: CallerRequest, resource: str, context: dict[str, str]) -> GatewayResponse | None:
        authorization = _header(request.headers, "Authorization")
        if not authorization:
            return missing_authentication_token()
        signature = parse_authorization(authorization)
        if signature is None:
            return json_message(403, INVALID_TOKEN, "IncompleteSignatureException")
        token = _header(request.headers, "X-Amz-Security-Token")
        caller = backends.caller_identity(request.account_id, signature.access_key_id, token)
        if caller is None:
            return json_message(403, INVALID_TOKEN, "UnrecognizedClientException")
        if caller.secret_access_key is not None:
            expected, canonical, string_to_sign = expected_signature(
                request, signature, caller.secret_access_key, token)
            if expected != signature.signature:
                return invalid_signature(canonical, string_to_sign)
        request.caller_arn = caller.arn  # authenticated ($context.identity.userArn)
        policy_verdict = resource_policy_verdict(request.policy, resource, caller.arn, context)
        identity_verdict = caller.is_invoke_permitted(resource)
        if "deny" in (policy_verdict, identity_verdict):
            return access_denied(caller.arn, resource, explicit=True)
        if "allow" not in (policy_verdict, identity_verdict):
            return access_denied(caller.arn, resource, explicit=False)
        return None

    def _api_key(self, request: CallerRequest) -> tuple[backends.UsagePlanView, str] | None:
        value = _header(request.headers, API_KEY_HEADER)
        if not value:
            return None
        for plan in backends.usage_plans_for_stage(request.account_id, request.region, request.api_id,
                                                   request.stage):
            for key in plan.keys:
                if key.value == value and key.enabled:
                    return plan, key.id
        return None

    def _throttle(self, request: CallerRequest, plan: backends.UsagePlanView | None,
                  key_id: str | None) -> GatewayResponse | None:
        now = time.monotonic()
        settings = backends.stage_method_settings(request.account_id, request.region, request.api_id,
                                                  request.stage)
        own = f"{request.resource_path.lstrip('/').replace('/', '~1')}/{request.http_method.upper()}"
        stage_limits = settings.get(own) or settings.get("*/*") or {}
        with self._lock:
            if plan is not None and key_id is not None and plan.throttle:
                bucket = self._bucket(("key", plan.id, key_id), plan.throttle)
                if bucket is not None and not bucket.take(now):
                    return too_many_requests()
            if stage_limits:
                bucket = self._bucket(("stage", request.api_id, request.stage), stage_limits,
                                      rate_key="throttlingRateLimit", burst_key="throttlingBurstLimit")
                if bucket is not None and not bucket.take(now):
                    return too_many_requests()
            if plan is not None and key_id is not None and plan.quota.get("limit") is not None:
                period = QUOTA_PERIOD_SECONDS.get(str(plan.quota.get("period")), 86400)
                started, used = self._quota.get((plan.id, key_id), (time.time(), 0))
                if time.time() - started >= period:
                    started, used = time.time(), 0
                if used >= int(plan.quota["limit"]):
                    return limit_exceeded()
                self._quota[(plan.id, key_id)] = (started, used + 1)
        return None

    def _bucket(self, key: tuple[Any, ...], limits: dict[str, Any], rate_key: str = "rateLimit",
                burst_key: str = "burstLimit") -> TokenBucket | None:
        rate, burst = limits.get(rate_key), limits.get(burst_key)
        if rate is None or burst is None:
            return None
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != float(rate) or bucket.burst != int(burst):
            bucket = self._buckets[key] = TokenBucket(float(rate), int(burst))
        return bucket


def caller_request(environ: dict[str, Any], snapshot: dict[str, Any], api_id: str, stage: str,
                   method: dict[str, Any], resource: dict[str, Any], encoded_path: str, raw_query: str,
                   headers: dict[str, str], body: bytes) -> CallerRequest:
    """The caller-check view of one invocation (the data plane's hook)."""
    from harness.localaws.routing import raw_request_path

    return CallerRequest(
        api_id=api_id, stage=stage, http_method=environ["REQUEST_METHOD"], method=method,
        resource_path=str(resource.get("path", "")), encoded_path=encoded_path,
        raw_path=raw_request_path(environ), raw_query=raw_query, headers=headers, body=body,
        source_ip=str(environ.get("REMOTE_ADDR", "")), region=str(snapshot.get("region", "us-east-1")),
        account_id=str(snapshot.get("accountId") or backends.default_account_id()),
        policy=snapshot.get("policy"),
    )
