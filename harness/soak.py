"""Soak: N full up -> check -> down cycles on one local AWS, counting leaks and memory.

After each cycle it counts what is left (throwaway workspace state, buckets, IAM roles,
REST APIs on the local AWS) and samples the local AWS's RSS. Bounded by `MAX_CYCLES` and
a wall-clock limit; stops early on the limit and says so.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness import paths, sweep
from harness.backend import LocalState, StateStore
from harness.checks import S3ReadBack, integrity_bodies, sha256
from harness.localaws import process as localaws_process
from harness.options import RunOptions
from harness.run import Run
from harness.targets import Target
from harness.upload_client import UploadClient
from harness.workspace import new_run_id

MAX_CYCLES = 500


def leftovers(target: Target, store: StateStore, run_id: str) -> dict[str, int]:
    return {
        "workspaces": sum(1 for name in store.workspaces() if name.startswith(f"t-{run_id}-")),
        "buckets": len(target.client("s3").list_buckets().get("Buckets", [])),
        "roles": len(target.client("iam").list_roles().get("Roles", [])),
        "rest_apis": len(target.client("apigateway").get_rest_apis().get("items", [])),
    }


def run(cycles: int, max_seconds: float = 3600, output: Path | None = None) -> dict[str, Any]:
    cycles = min(cycles, MAX_CYCLES)
    deadline = time.monotonic() + max_seconds
    server = localaws_process.start(log_file=paths.data_dir() / "soak-localaws.log", detach=True)
    history: list[dict[str, Any]] = []
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
            destroyed = False
            try:
                stack = run.shared_stack()
                client = UploadClient(stack.outputs.invoke_url, stack.outputs.bucket_name)
                readback = S3ReadBack(target.client("s3"), stack.outputs.bucket_name)
                for name, body in bodies.items():
                    assert client.put(name, body, "application/octet-stream").status_code == 200, name
                    assert readback.get(name).sha256 == sha256(body), name
            except Exception as exc:  # a failed cycle is counted; teardown runs below
                error = f"{type(exc).__name__}: {exc}"[:300]
            finally:
                messages: list[str] = []
                destroyed = run.teardown(messages)
                run.remove_directory(destroyed)
                failed = [m for m in messages if m.startswith("teardown failed")]
                error = error or (failed[0][:300] if failed else None)
            left = leftovers(target, store, run.id)
            history.append({"cycle": index, "seconds": round(time.monotonic() - started, 2), "error": error,
                            "leftovers": left, "rss_mb": round(server.rss_mb(), 1)})
        # Anything a failed cycle could not destroy is swept here, so the soak itself leaks nothing.
        for run_id in run_ids:
            sweep.sweep(0, dry_run=False, run_id=run_id, say=lambda message: None, options=options)
    finally:
        server.stop()
    rss = [c["rss_mb"] for c in history]
    report = {
        "cycles_requested": cycles,
        "cycles_run": len(history),
        "stopped_by_time_limit": len(history) < cycles,
        "failures": sum(1 for c in history if c["error"]),
        "leaks": sum(sum(c["leftovers"].values()) for c in history[-1:]),
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
