"""The embedded local AWS: moto's control planes plus an API Gateway execute-api data plane.

- `server.py`: one loopback server and port for both; `LocalAws` (in-process) and
  `serve_forever` (what `harness localaws` runs).
- `process.py`: the same server as a child process, for fixtures and CLI commands.
- `warmup.py`: each service's slow first call, made by the server itself right after it
  reports ready, so a `terraform apply` does not wait for it.
- `controlplane/`: every patch to moto, one module per concern, and their registry
  (`PATCHES`, each with the moto names it touches; `install()`): corrections so moto reads
  back what AWS does (API Gateway, S3, IAM, the account's CloudWatch role), deployment
  snapshots, IAM enforcement for assumed-role credentials, API Gateway's Update* operations
  moto lacks, every gateway response type's default, and measured speed-ups.
- `patch_operations.py`: API Gateway's PATCH rules (paths, ops, AWS's refusals), pure.
- `moto_boundary.py`: the pinned moto version and the check, before any patch, that
  every moto name we patch or read is there (and unchanged where we replace it).
- `backends.py`: every read or reset of moto's in-memory state.
- `dataplane.py`: one execute-api request, step by step (flow, body, quota), and what
  is not modelled; `routing.py` (URL -> API, stage, resource, method),
  `integration.py` (request mapping, the S3 call, response selection),
  `credentials.py` (STS AssumeRole and SigV4 as the integration's role),
  `gateway_responses.py` (API Gateway's own answers: 403, 413, 500, 504).
- `encodings.py`: binary vs text payload handling per "Content type conversions".
- `faults.py`: AWS on a bad day, only when asked: the propagation profile (`aws-like`) and
  the fault spec (S3, control plane, data plane), seeded, counted at `/_harness/faults`.
"""

from harness.localaws.server import LocalAws

__all__ = ["LocalAws"]
