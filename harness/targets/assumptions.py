"""What the e2e checks assume about AWS without a recorded AWS answer, and how each fared.

An e2e check asserts what AWS is known to do (with its source). Where AWS's behaviour
is not confirmed, the check asserts only the part that is (nothing lands outside the
bucket, nothing is half-stored) and records here what the target actually did against
the assumption. Every run's summary lists each assumption with its outcome on that
target, so the first run on real AWS confirms or refutes each of them; on any other
target an outcome says only whether that endpoint agrees with the assumption.

The local AWS follows the best evidence listed here (harness/localaws), but nothing in
this module or the checks reads from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.plumbing import jsonl

REFERENCE = "docs/aws-behaviour.md"


@dataclass(frozen=True)
class Assumption:
    id: str
    statement: str  # what we expect AWS to do
    evidence: str  # the best evidence so far, with its source, and why it is not proof


ASSUMPTIONS: dict[str, Assumption] = {a.id: a for a in (
    Assumption(
        "content-type-absent-stored-as-s3-default",
        "A PUT without Content-Type is stored with S3's default type `binary/octet-stream`: the module's "
        "mapping of method.request.header.Content-Type yields nothing, so S3 picks its default.",
        f"{REFERENCE} (S3 proxy configuration; 'whether API Gateway forwards ... when it is not mapped' is "
        "unconfirmed); S3 User Guide, 'Working with object metadata': Content-Type defaults to "
        "binary/octet-stream. Not recorded end to end on AWS; API Gateway may instead supply its own "
        "default (application/json) to the integration request.",
    ),
    Assumption(
        "oversize-413-body-is-api-gateways",
        "A regional REST API answers a body over 10,485,760 bytes with 413 and API Gateway's own body "
        '`{"message": "Request Too Long"}` (REQUEST_TOO_LARGE), not CloudFront\'s '
        "`HTTP content length exceeded 10485760 bytes.`",
        f"{REFERENCE} (Quotas and errors): both bodies were recorded (koki-develop/lgtm-generator#10), the "
        "CloudFront one through an edge-optimized API; which one a regional endpoint gives is unconfirmed.",
    ),
    Assumption(
        "oversize-413-carries-no-cors-headers",
        "API Gateway's 413 for a body over 10,485,760 bytes carries no header of the DEFAULT_4XX gateway "
        "response, so a browser page that uploads through a CORS-enabled API gets no "
        "Access-Control-Allow-Origin on it and sees only a failed fetch, never the status. A page must "
        "check the file's size before sending it.",
        "API Gateway developer guide, 'Amazon API Gateway important notes' (REST APIs): customising the "
        "413 REQUEST_TOO_LARGE gateway response is not supported; a team that tried found the default "
        "served despite its customisation (https://zenn.dev/august/articles/67c76de854cb6d). Whether "
        "DEFAULT_4XX's headers still reach it is recorded nowhere.",
    ),
    Assumption(
        "raw-dot-segments-resolved-before-routing",
        "A raw `..` segment in the request path is resolved before routing (RFC 3986 section 5.2.4), so "
        "`/{bucket}/junk/../{key}` writes `{bucket}/{key}` and answers 200.",
        f"{REFERENCE} (Mapping framing headers): 'Raw .. segments ... nothing recorded'. CloudFront and "
        "most HTTP front ends normalise paths, which is the reason for the guess.",
    ),
    Assumption(
        "folded-header-refused",
        "A request carrying an obsolete line-folded header (obs-fold) is refused with 400.",
        f"{REFERENCE}: 'folded headers ... nothing recorded'. RFC 7230 section 3.2.4 lets a server either "
        "refuse with 400 or replace the fold with spaces; either way the fold must not become a header.",
    ),
    Assumption(
        "length-and-chunked-refused",
        "A request with both Content-Length and Transfer-Encoding: chunked is refused with 400.",
        f"{REFERENCE}: 'Content-Length with chunked: nothing recorded'. RFC 7230 section 3.3.3 lets a "
        "server let Transfer-Encoding win or treat the message as an error; it must not let Content-Length "
        "win (request smuggling).",
    ),
)}

HELD, DIFFERED, NOT_RUN = "held", "differed", "not-run"


def record(log_file: Path, assumption_id: str, held: bool, observed: str, check: str) -> None:
    """Append one observation (xdist workers share the file: each appends one short line)."""
    if assumption_id not in ASSUMPTIONS:
        raise KeyError(f"unknown assumption {assumption_id!r}: add it to harness/targets/assumptions.py")
    jsonl.append(log_file, {"id": assumption_id, "held": held, "observed": observed, "check": check})


def meaning(outcome: str, target_kind: str) -> str:
    if outcome == NOT_RUN:
        return "not exercised in this run"
    if target_kind == "aws":
        return "confirmed on AWS" if outcome == HELD else "refuted on AWS: update the reference and the local AWS"
    agrees = "agrees with" if outcome == HELD else "differs from"
    return f"{target_kind} {agrees} the assumption (not evidence about AWS)"


def outcomes(log_file: Path | None, target_kind: str) -> list[dict[str, Any]]:
    """Every assumption with its outcome on this target: held, differed or not-run."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for item in jsonl.read(log_file) if log_file is not None else []:
        seen.setdefault(item["id"], []).append(item)
    result = []
    for assumption in ASSUMPTIONS.values():
        observations = seen.get(assumption.id, [])
        held = all(o["held"] for o in observations)
        outcome = NOT_RUN if not observations else HELD if held else DIFFERED
        result.append({
            "id": assumption.id,
            "statement": assumption.statement,
            "evidence": assumption.evidence,
            "target": target_kind,
            "outcome": outcome,
            "meaning": meaning(outcome, target_kind),
            "observed": sorted({o["observed"] for o in observations}),
            "checks": sorted({o["check"] for o in observations}),
        })
    return result
