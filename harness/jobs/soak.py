"""Soak: N full up -> check -> down cycles on one local AWS, counting leaks and memory.

After each cycle it counts what is left (throwaway workspace state, buckets, IAM roles,
REST APIs on the local AWS) and samples the local AWS's RSS. Bounded by `MAX_CYCLES` and
a wall-clock limit; stops early on the limit and says so.

With `faults` (a fault spec, harness/localaws/faults.py) the soak's local AWS injects
them, and each upload is judged against the local AWS's journal of what it injected
(`GET /_harness/faults`), matched by the request's bucket and key:
- a 200 for a request that had an S3 error or a connection reset injected is a **false
  pass** (the check was green although it should have seen the fault);
- a non-200 (or a broken connection) for such a request is an expected failure, and an
  S3 error must have stored nothing under the key;
- a non-200 for a request that had no fault injected fails the cycle, as without faults.
Faults that hit apply, the readiness gate or destroy are survived (retries) or fail the
cycle with their message; either way the cycle's teardown and the final sweep run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

from harness import paths
from harness.client.readback import S3ReadBack, integrity_bodies, sha256
from harness.client.upload_client import UploadClient
from harness.lifecycle import sweep
from harness.lifecycle.run import Run
from harness.lifecycle.workspace import new_run_id
from harness.localaws import process as localaws_process
from harness.options import RunOptions
from harness.targets.target import Target
from harness.terraform.backend import LocalState, StateStore

MAX_CYCLES = 500
# Injected faults a client must see as a failure (latency must not be seen at all).
FAILING_FAULTS = ("s3.put:slowdown", "s3.put:internal", "data:reset")
S3_ERROR_FAULTS = ("s3.put:slowdown", "s3.put:internal")


def leftovers(target: Target, store: StateStore, run_id: str) -> dict[str, int]:
    return {
        "workspaces": sum(1 for name in store.workspaces() if name.startswith(f"t-{run_id}-")),
        "buckets": len(target.client("s3").list_buckets().get("Buckets", [])),
        "roles": len(target.client("iam").list_roles().get("Roles", [])),
        "rest_apis": len(target.client("apigateway").get_rest_apis().get("items", [])),
    }


def judge_uploads(outcomes: list[tuple[str, int | None]], bucket: str, events: list[dict[str, Any]],
                  readback: S3ReadBack, bodies: dict[str, bytes]) -> dict[str, Any]:
    """Each upload's status against what the local AWS injected for its request."""
    injected = {e["path"]: e["fault"] for e in events if e.get("fault") in FAILING_FAULTS and "path" in e}
    verdict: dict[str, Any] = {"false_passes": [], "expected_failures": 0, "errors": []}
    for name, status in outcomes:
        fault = injected.get(f"/{bucket}/{name}")
        if status == 200:
            if fault:
                verdict["false_passes"].append(f"{name}: 200 although {fault} was injected")
            elif readback.get(name).sha256 != sha256(bodies[name]):
                verdict["errors"].append(f"{name}: stored bytes differ")
        elif fault is None:
            verdict["errors"].append(f"{name}: {status} with no fault injected")
        else:
            verdict["expected_failures"] += 1
            if fault in S3_ERROR_FAULTS and readback.exists(name):
                verdict["errors"].append(f"{name}: {fault} answered {status} but an object was stored")
    return verdict


def run(cycles: int, max_seconds: float = 3600, output: Path | None = None, faults: str | None = None,
        profile: str | None = None) -> dict[str, Any]:
    cycles = min(cycles, MAX_CYCLES)
    deadline = time.monotonic() + max_seconds
    # An explicit empty spec: the soak's faults are only what it was asked for, whatever the environment says.
    server = localaws_process.start(log_file=paths.data_dir() / "soak-localaws.log", detach=True,
                                    profile=profile or "default", faults=faults or "")
    history: list[dict[str, Any]] = []
    injected: dict[str, Any] | None = None
    bodies = {k: v for k, v in integrity_bodies().items() if len(v) <= 1024 * 1024}
    try:
        target = Target("endpoint", server.endpoint)
        options = RunOptions("endpoint", server.endpoint)  # the soak's own local AWS, for every cycle
        store = LocalState(paths.stack_dir())
        start_rss = server.rss_mb()
        run_ids: list[str] = []
        for index in range(cycles):
            if time.monotonic() > deadline:
                break
            started, error = time.monotonic(), None
            run = Run(new_run_id(), options)  # each cycle is a whole run: apply, checks, teardown
            run_ids.append(run.id)
            verdict: dict[str, Any] = {"false_passes": [], "expected_failures": 0, "errors": []}
            try:
                stack = run.shared_stack()
                client = UploadClient(stack.outputs.invoke_url, stack.outputs.bucket_name)
                readback = S3ReadBack(target.client("s3"), stack.outputs.bucket_name)
                outcomes: list[tuple[str, int | None]] = []
                for name, body in bodies.items():
                    try:
                        outcomes.append((name, client.put(name, body, "application/octet-stream").status_code))
                    except requests.RequestException:  # a reset connection: no answer at all
                        outcomes.append((name, None))
                events = server.faults()["events"] if faults else []
                verdict = judge_uploads(outcomes, stack.outputs.bucket_name, events, readback, bodies)
                assert not verdict["errors"], "; ".join(verdict["errors"])
            except Exception as exc:  # a failed cycle is counted; teardown runs below
                error = f"{type(exc).__name__}: {exc}"[:300]
            finally:
                torn_down = run.teardown()
                run.remove_directory(torn_down.destroyed)
                error = error or (f"teardown failed: {torn_down.failures[0]}"[:300] if torn_down.failed else None)
            left = leftovers(target, store, run.id)
            history.append({"cycle": index, "seconds": round(time.monotonic() - started, 2), "error": error,
                            "leftovers": left, "rss_mb": round(server.rss_mb(), 1),
                            "false_passes": verdict["false_passes"],
                            "expected_failures": verdict["expected_failures"]})
        # Anything a failed cycle could not destroy is swept here, so the soak itself leaks nothing.
        for run_id in run_ids:
            sweep.sweep(0, dry_run=False, run_id=run_id, say=lambda message: None, options=options)
        injected = server.faults() if faults or profile else None
    finally:
        server.stop()
    rss = [c["rss_mb"] for c in history]
    report = {
        "cycles_requested": cycles,
        "cycles_run": len(history),
        "stopped_by_time_limit": len(history) < cycles,
        "failures": sum(1 for c in history if c["error"]),
        "leaks": sum(sum(c["leftovers"].values()) for c in history[-1:]),
        "faults": faults or None,
        "profile": profile or None,
        "faults_injected": injected["injected"] if injected else {},
        "false_passes": sum(len(c["false_passes"]) for c in history),
        "expected_failures": sum(c["expected_failures"] for c in history),
        "rss_start_mb": round(start_rss, 1),
        "rss_after_cycles_mb": rss,
        "rss_growth_second_half_mb": round(max(rss[len(rss) // 2:]) - max(rss[: max(1, len(rss) // 2)]), 1)
        if len(rss) >= 2 else 0.0,
        "cycles": history,
    }
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
    return report
