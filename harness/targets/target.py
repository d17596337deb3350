"""Where a stack is deployed: the embedded local AWS, any AWS-compatible endpoint, or AWS.

The one place that builds boto3 clients and the provider override for local endpoints.

- `local`: the embedded local AWS (moto + our execute-api), started for the run;
- `endpoint URL`: an AWS-compatible endpoint already running (`harness localaws`,
  LocalStack); static test credentials; the invoke URL in `_user_request_` form;
- `localstack [URL]`: a running LocalStack (default http://127.0.0.1:4566); its own
  path-based invoke URL form (`/_aws/execute-api/{api}/{stage}`), and the checks its known
  deviations from AWS break are expected failures (`harness/targets/deviations.py`);
- `aws`: real AWS through the standard credential chain (`--profile`, `--region`).

For local and endpoint targets the harness writes, next to the stack, the way tflocal
does: `harness_endpoint.tf` (declares `harness_endpoint_url`) and
`harness_provider_override.tf` (endpoints, path-style S3, no EC2/metadata probing). The
override is the same for every target (values come from the variable, null on AWS) and
depends only on the provider's major version, per the provider's upgrade guides:
path-style S3 is `s3_force_path_style` in 3.x, `s3_use_path_style` from 4.0 (the old
name is deprecated in 4.x and removed in 5.0); `skip_get_ec2_platforms` exists up to
4.x and was removed in 5.0 (with EC2-Classic). When the version is not known yet (no
lock file before the first init) only arguments every supported major accepts are
written; the Deployer rewrites the file once init has locked a version. Like tflocal,
the override does not set `skip_requesting_account_id`: the local AWS answers STS
GetCallerIdentity, so ARNs the provider builds carry a real account id (an empty one
reaches 6.x resource identities and can surface as "Unexpected Identity Change").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.plumbing.files import replace_text

TARGET_KINDS = ("local", "endpoint", "localstack", "aws")
DEFAULT_REGION = "us-east-1"
DEFAULT_LOCALSTACK_ENDPOINT = "http://127.0.0.1:4566"
# A refused connection fails at once; a listening endpoint may take long to answer its
# first request (LocalStack loaded S3 lazily: 4.5 s, then 4 ms), so it gets this long.
CONNECT_TIMEOUT_SECONDS = 3.0
FIRST_ANSWER_TIMEOUT_SECONDS = 120.0
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
# `cloudwatchlogs` is CloudWatch Logs' endpoint key on every supported provider (3.x's only
# name for it; an alias of `logs` in 5.x and 6.x: custom-service-endpoints guide).
ENDPOINT_SERVICES = ("apigateway", "cloudwatchlogs", "ec2", "iam", "resourcegroupstaggingapi", "s3", "sts")

ENDPOINT_VARIABLE_FILE = "harness_endpoint.tf"
OVERRIDE_FILE = "harness_provider_override.tf"


@dataclass
class Target:
    kind: str
    endpoint: str | None = None
    region: str = DEFAULT_REGION
    profile: str | None = None
    _session: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise TargetError(
                f"unknown target {self.kind!r}",
                f"use one of: {', '.join(TARGET_KINDS)} (endpoint needs --endpoint URL)",
            )
        if self.kind == "localstack" and not self.endpoint:
            self.endpoint = DEFAULT_LOCALSTACK_ENDPOINT
        if self.kind == "endpoint" and not self.endpoint:
            raise TargetError(
                "target `endpoint` needs an endpoint URL",
                "pass --endpoint http://127.0.0.1:4566 (e.g. a running `harness localaws`)",
            )
        if self.endpoint and not self.endpoint.startswith(("http://", "https://")):
            raise TargetError(
                f"endpoint {self.endpoint!r} is not an http(s) URL",
                "pass it as http://HOST:PORT",
            )
        if self.endpoint:
            self.endpoint = self.endpoint.rstrip("/")

    @property
    def is_local_endpoint(self) -> bool:
        return self.kind in ("local", "endpoint", "localstack")

    def describe(self) -> str:
        where = self.endpoint if self.is_local_endpoint else f"profile {self.profile or 'default chain'}"
        return f"{self.kind} ({where}, {self.region})"

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "endpoint": self.endpoint, "region": self.region,
                "profile": self.profile}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Target:
        return cls(record["kind"], record.get("endpoint"), record.get("region") or DEFAULT_REGION,
                   record.get("profile"))

    # --- Terraform ----------------------------------------------------------------

    def terraform_env(self) -> dict[str, str]:
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.is_local_endpoint:
            env.update(LOCAL_CREDENTIALS)
            env["AWS_EC2_METADATA_DISABLED"] = "true"
        elif self.profile:
            env["AWS_PROFILE"] = self.profile
        return env

    def terraform_vars(self) -> dict[str, Any]:
        return {"region": self.region, "harness_endpoint_url": self.endpoint}

    # --- boto3 --------------------------------------------------------------------

    def session(self) -> Any:
        import boto3

        if self._session is None:
            if self.is_local_endpoint:
                self._session = boto3.session.Session(
                    aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    region_name=self.region,
                )
            else:
                self._session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        return self._session

    def client(self, service: str, **kwargs: Any) -> Any:
        from botocore.config import Config

        config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path"} if self.is_local_endpoint else {},
            connect_timeout=5,
            read_timeout=60,
        )
        if self.is_local_endpoint:
            kwargs.setdefault("endpoint_url", self.endpoint)
        return self.session().client(service, config=config, **kwargs)

    def check_reachable(self) -> None:
        """Fail early and clearly when the target cannot be used."""
        if self.is_local_endpoint:
            self._check_endpoint_answers()
            return
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            credentials = self.session().get_credentials()
        except BotoCoreError as exc:
            raise TargetError(f"AWS credentials could not be loaded: {exc}",
                              "check --profile / AWS_PROFILE and ~/.aws/config") from exc
        if credentials is None:
            raise TargetError(
                "no AWS credentials found for --target aws",
                "configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY), or use the default local target",
            )
        try:
            self.client("sts").get_caller_identity()
        except (BotoCoreError, ClientError) as exc:
            raise TargetError(f"AWS rejected the credentials: {exc}",
                              "refresh them (e.g. aws sso login) and try again") from exc

    def _check_endpoint_answers(self, answer_timeout: float = FIRST_ANSWER_TIMEOUT_SECONDS) -> None:
        """Refused: fail at once. Listening but slow: wait for the first answer, bounded."""
        import requests

        started = time.monotonic()
        try:
            requests.get(f"{self.endpoint}/", timeout=(CONNECT_TIMEOUT_SECONDS, answer_timeout))
        except requests.ConnectionError as exc:
            raise TargetError(
                f"nothing answers at {self.endpoint} (connection refused or unreachable)",
                "start it (`harness localaws --port PORT`, or LocalStack) or fix --endpoint",
            ) from exc
        except requests.Timeout as exc:
            raise TargetError(
                f"the endpoint {self.endpoint} accepted the connection but sent no answer within "
                f"{time.monotonic() - started:.0f}s",
                "check that it finished starting (its log), then retry",
            ) from exc

    def invoke_url(self, outputs: dict[str, Any]) -> str:
        """Base URL for `PUT {url}/{bucket}/{filename}`."""
        if self.kind == "localstack":
            # LocalStack's path-based form; its host-based form needs a DNS name that
            # resolves only through public DNS.
            return f"{self.endpoint}/_aws/execute-api/{outputs['rest_api_id']}/{outputs['stage_name']}"
        if self.is_local_endpoint:
            return f"{self.endpoint}/restapis/{outputs['rest_api_id']}/{outputs['stage_name']}/_user_request_"
        return str(outputs["invoke_url"])


def provider_override(provider_version: str | None) -> str:
    """The generated provider override for this hashicorp/aws version (None: not known yet)."""
    major = int(provider_version.split(".", 1)[0]) if provider_version else None
    local = "var.harness_endpoint_url != null"
    lines = [
        "# Generated by the harness (harness/targets/target.py) for hashicorp/aws "
        f"{provider_version or 'unknown (arguments every supported version accepts)'}; do not edit, do not commit.",
        'provider "aws" {',
        f"  skip_credentials_validation = {local}",
        f"  skip_metadata_api_check     = {local}",
        "  skip_region_validation      = true",
    ]
    if major is not None and major <= 3:
        lines += [f"  s3_force_path_style         = {local}"]
    elif major is not None:
        lines += [f"  s3_use_path_style           = {local}"]
    if major is not None and major <= 4:
        lines += ["  skip_get_ec2_platforms      = true"]
    lines += [
        "",
        '  dynamic "endpoints" {',
        "    for_each = var.harness_endpoint_url == null ? [] : [var.harness_endpoint_url]",
        "    content {",
    ]
    width = max(map(len, ENDPOINT_SERVICES))  # aligned as `terraform fmt` writes it (make lint checks)
    lines += [f"      {service:<{width}} = endpoints.value" for service in ENDPOINT_SERVICES]
    lines += ["    }", "  }", "}", ""]
    return "\n".join(lines)


ENDPOINT_VARIABLE = """# Generated by the harness (harness/targets/target.py); do not edit, do not commit.
variable "harness_endpoint_url" {
  description = "AWS-compatible endpoint for every service (local targets); null on AWS."
  type        = string
  default     = null
}
"""


def write_generated_files(stack_dir: Path, provider_version: str | None) -> None:
    """Write the endpoint variable and provider override if their content changed."""
    for name, text in (
        (ENDPOINT_VARIABLE_FILE, ENDPOINT_VARIABLE),
        (OVERRIDE_FILE, provider_override(provider_version)),
    ):
        replace_text(stack_dir / name, text)
