"""The embedded local AWS: moto's control planes plus an API Gateway execute-api data plane.

- `server.py`: one loopback server and port for both; `LocalAws` (in-process) and
  `serve_forever` (what `harness localaws` runs).
- `process.py`: the same server as a child process, for fixtures and CLI commands.
- `controlplane.py`: corrections to moto so it reads back what AWS does, deployment
  snapshots, and IAM enforcement for assumed-role credentials.
- `dataplane.py`: executes deployed REST APIs (routing, mapping, quota, credentials,
  responses) with the AWS rule and page each step follows, and what is not modelled.
- `encodings.py`: binary vs text payload handling per "Content type conversions".
"""

from harness.localaws.server import LocalAws

__all__ = ["LocalAws"]
