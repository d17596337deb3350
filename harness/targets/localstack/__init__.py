"""LocalStack as an outside test target on this machine: installed, started in host mode,
stopped, leaving nothing.

- `install.py`: its own virtualenv under `.harness/localstack/venv` with the pinned
  versions that run here (idempotent: a stamp file keyed by the pins);
- `process.py`: `start()` in host mode (no Docker) on one loopback port, all of its files
  inside one run directory, ready when its health check reports every service we use; the
  `LocalStack` handle, recorded in the children registry (harness/plumbing/children.py),
  which stops its whole process group and removes its files, also after its owner was killed;
- `leftovers.py`: what is left on an endpoint (buckets, REST APIs, IAM roles).

How the suite talks to LocalStack (`--target localstack`, its deviations) lives with the
other targets (harness/targets/target.py, deviations.py); the `make test-localstack` job
(`harness localstack run-suite`) in harness/jobs/localstack_suite.py.
"""
