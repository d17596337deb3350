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

from harness import paths
from harness.backend import StateStore
from harness.checks import S3ReadBack, integrity_bodies, sha256
from harness.localaws import process as localaws_process
from harness.targets import Target
from harness.upload_client import UploadClient
from harness.workspace import Deployer, Workspace, new_run_id, throwaway_workspace

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
    run_id = new_run_id()
    server = localaws_process.start(log_file=paths.data_dir() / "soak-localaws.log", detach=True)
    history: list[dict[str, Any]] = []
    bodies = {k: v for k, v in integrity_bodies().items() if len(v) <= 1024 * 1024}
    try:
        target = Target("local", server.endpoint)
        deployer = Deployer(target)
        deployer.prepare()
        start_rss = server.rss_mb()
        for index in range(cycles):
            if time.monotonic() > deadline:
                break
            started, error = time.monotonic(), None
            try:
                with throwaway_workspace(deployer, run_id, f"c{index}", log=lambda message: None) as (_, outputs):
                    client = UploadClient(outputs.invoke_url, outputs.bucket_name)
                    readback = S3ReadBack(target.client("s3"), outputs.bucket_name)
                    for name, body in bodies.items():
                        assert client.put(name, body, "application/octet-stream").status_code == 200, name
                        assert readback.get(name).sha256 == sha256(body), name
            except Exception as exc:  # a failed cycle is counted, and teardown already ran
                error = f"{type(exc).__name__}: {exc}"[:300]
            left = leftovers(target, deployer.state_store, run_id)
            history.append({"cycle": index, "seconds": round(time.monotonic() - started, 2), "error": error,
                            "leftovers": left, "rss_mb": round(server.rss_mb(), 1)})
        # Anything a failed cycle could not destroy is swept here, so the soak itself leaks nothing.
        for name in deployer.runner.workspaces():
            if name.startswith(f"t-{run_id}-"):
                Workspace(name, deployer, run_id).down()
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
