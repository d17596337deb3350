"""Known deviations of endpoints we did not write from AWS, versioned, with the checks they break.

A check asserts what AWS does. On an AWS-compatible endpoint that deviates from AWS in a
known way, the checks it breaks are reported as expected failures (strict: when the
endpoint fixes a deviation on a version it was measured on, the check passes and the run
fails saying so, so the list cannot go stale). On a version not measured, the same checks
are expected failures but not strict, and the run says the profile is unverified there.

Each deviation names what AWS does (with the source) and what the endpoint was measured
doing (with this project's e2e suite); the table in docs/endpoints.md is this list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

REFERENCE = "docs/aws-behaviour.md"
# Read by failure reports and `harness logs`, which then say why no line came instead of waiting for one.
ACCESS_LOG_LINES_NOT_WRITTEN = "access-log-lines-not-written"


@dataclass(frozen=True)
class Deviation:
    id: str
    endpoint_does: str
    aws_does: str  # with its source
    breaks: tuple[str, ...]  # pytest node ids (tests/e2e/...); `*` matches anything, nothing else is special


@dataclass(frozen=True)
class Profile:
    endpoint: str
    measured_on: tuple[str, ...]  # endpoint versions the list was measured on
    deviations: tuple[Deviation, ...]

    def matching(self, nodeid: str) -> list[Deviation]:
        return [d for d in self.deviations if any(_pattern(p).fullmatch(nodeid) for p in d.breaks)]

    def has(self, deviation_id: str) -> bool:
        return any(d.id == deviation_id for d in self.deviations)

    def verified_on(self, version: str | None) -> bool:
        return version is not None and any(version == v or version.startswith(f"{v}.") for v in self.measured_on)


def no_access_log_lines(target_kind: str) -> str | None:
    """Why an endpoint's access log holds no line to show (a known deviation), or None."""
    profile = PROFILES.get(target_kind)
    if profile is None or not profile.has(ACCESS_LOG_LINES_NOT_WRITTEN):
        return None
    return (f"{target_kind} writes no access-log lines "
            f"(known deviation {ACCESS_LOG_LINES_NOT_WRITTEN}, docs/endpoints.md)")


def _pattern(node_pattern: str) -> re.Pattern[str]:
    # Not fnmatch: parametrized ids carry brackets ("[png]"), which fnmatch reads as a set.
    return re.compile(".*".join(re.escape(part) for part in node_pattern.split("*")))


# Bodies of the integrity checks that are not valid UTF-8: the ones a text conversion mangles.
_NON_UTF8_BODIES = ("every-byte-value", "invalid-utf8", "random-1KiB", "random-1MiB", "png", "gzip", "pdf")

LOCALSTACK = Profile(
    endpoint="localstack",
    measured_on=("4.13.1",),
    deviations=(
        Deviation(
            "binary-media-type-wildcard-never-matches",
            "`*/*` in binaryMediaTypes never matches (its matcher skips entries whose type is `*`), so "
            "every body is treated as text and UTF-8-mangled: 256 bytes of every byte value are stored as 512; "
            "with the client's x-amz-checksum-sha256 or Content-MD5 (the upload client sends a SHA-256 by default), "
            "S3 then refuses the mangled body with 400 BadDigest instead.",
            "`*/*` includes all content types and binary bodies pass as they are (API Gateway developer guide, "
            f"'Binary media types for REST APIs'; {REFERENCE}, Payload encodings).",
            (
                *(f"tests/e2e/test_integrity.py::test_integrity_body_arrives_unchanged[{name}]"
                  for name in _NON_UTF8_BODIES),
                "tests/e2e/test_integrity.py::test_integrity_invalid_utf8_survives_any_content_type[*]",
                "tests/e2e/test_integrity.py::test_integrity_just_under_quota",
                "tests/e2e/test_concurrency.py::test_concurrency_parallel_uploads_arrive_intact",
                "tests/e2e/test_authorization.py::test_authorization_authorised_caller_uploads_byte_identical",
                "tests/e2e/test_browser.py::test_browser_upload_is_byte_identical",
                "tests/harness/test_change_matrix.py::binary-media-types-image-png",
                "tests/e2e/test_content_types.py::test_content_type_is_stored_as_sent[*]",
                "tests/e2e/test_checksums.py::test_checksum_right_sha256_is_stored_with_the_checksum_s3_reports",
                "tests/e2e/test_checksums.py::test_checksum_right_md5_is_stored",
            ),
        ),
        Deviation(
            "no-payload-quota",
            "no 10 MB payload quota: 10,485,761 bytes are stored and answered 200.",
            "REST API payloads are limited to 10 MB (10,485,760 bytes), not raisable; over it the gateway answers "
            f"413 (API Gateway quotas; {REFERENCE}, Quotas and errors).",
            ("tests/e2e/test_oversize.py::test_oversize_body_is_rejected_and_nothing_is_stored",
             "tests/e2e/test_browser.py::test_browser_oversize_upload_is_refused_and_nothing_is_stored"),
        ),
        Deviation(
            "no-iam-enforcement",
            "IAM is not enforced: the integration role can read, list and write other buckets, so a write "
            "through the API to another bucket succeeds.",
            "S3 evaluates the role's policy; a role without s3:PutObject on the object ARN gets AccessDenied "
            f"(403) ({REFERENCE}, S3 proxy configuration).",
            (
                "tests/e2e/test_errors.py::test_errors_write_to_foreign_bucket_is_denied",
                "tests/e2e/test_security.py::test_security_role_may_not_read_delete_or_list",
                "tests/e2e/test_security.py::test_security_role_may_not_write_another_bucket",
            ),
        ),
        Deviation(
            "gateway-response-headers-not-applied",
            "a gateway response's responseParameters never reach the answer (its execute-api error handler "
            "leaves them as a TODO): behind API_KEY the 403 for a missing key carries no "
            "Access-Control-Allow-Origin from DEFAULT_4XX, so a browser page sees only a failed fetch.",
            "the gateway response of the answer's type, else DEFAULT_4XX/DEFAULT_5XX, adds its "
            "gatewayresponse.header.* values to API Gateway's own answers (API Gateway developer guide, "
            f"'Gateway responses for REST APIs'; {REFERENCE}, CORS on REST APIs).",
            ("tests/e2e/test_browser.py::test_browser_reads_the_caller_checks_refusal",),
        ),
        Deviation(
            "execute-api-iam-not-enforced",
            "an AWS_IAM method is not checked (community edition): an unsigned PUT from a browser page is "
            "answered 200, and none of the unsigned, wrong-signature or no-execute-api:Invoke callers is refused.",
            "unsigned: 403 Missing Authentication Token; bad signature: 403; no execute-api:Invoke: 403 "
            "AccessDeniedException (API Gateway developer guide, 'Control access to a REST API with IAM "
            "permissions'; re:Post 'How do I troubleshoot HTTP 403 errors from API Gateway?').",
            (
                "tests/e2e/test_authorization.py::test_authorization_unsigned_request_is_refused",
                "tests/e2e/test_authorization.py::test_authorization_wrong_signature_is_refused",
                "tests/e2e/test_authorization.py::test_authorization_caller_without_invoke_is_refused",
                "tests/e2e/test_browser.py::test_browser_reads_the_caller_checks_refusal",
                "tests/harness/test_change_matrix.py::authorization-none-aws-iam",
                "tests/harness/test_change_matrix.py::authorization-api-key-aws-iam",
            ),
        ),
        Deviation(
            "no-throttling-or-quota",
            "stage throttling and usage-plan quotas are stored but not enforced: a burst over the stage's "
            "limits and requests over the key's quota are all answered 200 (measured by the change matrix).",
            "over the throttle: 429 Too Many Requests; over a usage plan's quota: 429 Limit Exceeded "
            "(API Gateway developer guide, 'Throttle requests to your REST APIs' and 'Gateway response types', "
            "THROTTLED and QUOTA_EXCEEDED).",
            (
                "tests/e2e/test_authorization.py::test_authorization_burst_above_the_throttle_gets_429s",
                "tests/e2e/test_authorization.py::test_authorization_usage_plan_quota_gets_limit_exceeded",
                "tests/harness/test_change_matrix.py::usage-plan-quota-set-api-key",
                "tests/harness/test_change_matrix.py::throttle-50-100-2-4",
            ),
        ),
        Deviation(
            "resource-policy-not-enforced",
            "a REST API's resource policy is not evaluated: a caller outside the allowed source ranges "
            "uploads with 200.",
            "a Deny with NotIpAddress on aws:SourceIp refuses other callers with 403 ('Controlling access to "
            "an API with API Gateway resource policies'; docs/aws-behaviour.md).",
            (
                "tests/e2e/test_authorization.py::test_authorization_resource_policy_refuses_callers_outside_the_ranges",
                "tests/harness/test_change_matrix.py::allowed-source-cidrs-127-0-0-2-32",
            ),
        ),
        Deviation(
            "binary-media-type-removal-ignored",
            "UpdateRestApi's `remove /binaryMediaTypes/...` leaves the type on the API, so after "
            "binary_media_types loses an entry the API keeps it: the apply that removes it can fail "
            "(the provider finds the deployment's trigger inconsistent), and every later plan redeploys.",
            "the patch operation removes the entry (API Gateway API reference, UpdateRestApi and "
            "PatchOperation).",
            # The type the change matrix removes (image/png) stays on the API: the next steps'
            # applies that change the deployment fail the same way, and their checks of image/png
            # bodies pass where the wildcard deviation says they fail.
            ("tests/harness/test_change_matrix.py::binary-media-types-back-to-default",
             "tests/harness/test_change_matrix.py::allowed-source-cidrs-127-0-0-2-32",
             "tests/harness/test_change_matrix.py::allowed-source-cidrs-back-to-integration-timeout-ms-29000-5000",
             "tests/harness/test_change_matrix.py::map-content-type-back-to-true-cors-allowed-origins-one-origin",
             "tests/harness/test_change_matrix.py::cors-allowed-origins-back-to-the-stack-s-origin"),
        ),
        Deviation(
            "answers-preflight-without-options-method",
            "answers a CORS preflight itself on a resource that has no OPTIONS method (not 403).",
            "an unknown method answers 403 `{\"message\":\"Missing Authentication Token\"}` "
            "(MISSING_AUTHENTICATION_TOKEN gateway response; 'CORS for REST APIs in API Gateway': CORS needs "
            "an OPTIONS method).",
            ("tests/harness/test_change_matrix.py::cors-allowed-origins-no-cors",),
        ),
        Deviation(
            "unknown-stage-answer",
            "a stage that no longer exists answers `{\"message\": \"The API id ... does not correspond to a "
            "deployed API Gateway API\"}`.",
            "an unknown stage answers 403 `{\"message\":\"Missing Authentication Token\"}` "
            "(docs/aws-behaviour.md, Quotas and errors).",
            ("tests/harness/test_change_matrix.py::stage-name-dev-v2-replaces-the-stage",),
        ),
        Deviation(
            ACCESS_LOG_LINES_NOT_WRITTEN,
            "accepts a stage's access log settings (and its account has a CloudWatch role from the start) "
            "but writes no line: the log group stays without a stream.",
            "one line per request in the stage's format, in the destination log group ('Set up CloudWatch "
            "logging for REST APIs'; docs/aws-behaviour.md, Access logging).",
            # Failure reports and `harness logs` say why they show no line; the change matrix reads one.
            ("tests/harness/test_change_matrix.py::access-logging-back-on-access-log-retention-days-1-7",),
        ),
    ),
)

PROFILES: dict[str, Profile] = {LOCALSTACK.endpoint: LOCALSTACK}


def endpoint_version(endpoint: str) -> str | None:
    """The running LocalStack's version from its health endpoint, or None."""
    import requests

    try:
        answer = requests.get(f"{endpoint}/_localstack/health", timeout=(3, 30))
        data: Any = answer.json()
    except (requests.RequestException, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return str(version).split(":", 1)[0] if version else None


def xfail_reason(profile: Profile, deviations: list[Deviation], version: str | None) -> str:
    names = ", ".join(d.id for d in deviations)
    if profile.verified_on(version):
        return (f"known {profile.endpoint} {version} deviation from AWS ({names}); if this passes, "
                f"{profile.endpoint} fixed it: remove it from harness/targets/deviations.py")
    return (f"known {profile.endpoint} deviation from AWS ({names}), measured on "
            f"{', '.join(profile.measured_on)}; unverified on {version or 'this unknown version'}")
