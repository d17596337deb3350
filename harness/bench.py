"""The benchmark: how fast a full end-to-end cycle is, where the time goes, how it scales.

Everything runs on the embedded local AWS over loopback, bounded in count and time, and
is reported as figures and ratios measured in the same run (so a noisy machine moves
both sides of a ratio). Not a test: `make test` only runs `--smoke` and checks the shape
of the output.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness import paths, timings, toolchain
from harness.checks import S3ReadBack, integrity_bodies, sha256
from harness.errors import HarnessError
from harness.localaws import process as localaws_process
from harness.options import RunOptions
from harness.run import Run
from harness.targets import LOCAL_CREDENTIALS, Target
from harness.upload_client import UploadClient
from harness.workspace import child_run_environment, new_run_id

BUDGET = {
    "cycle_median_seconds": 10.0,
    "apply_median_seconds": 3.0,
    "destroy_median_seconds": 3.0,
    "gateway_vs_direct_9.5MiB_ratio": 1.25,
    "workers4_vs_workers1_ratio": 0.6,
    "localaws_peak_rss_mb": 300.0,
}
SIZES = {"1KiB": 1024, "1MiB": 1024 * 1024, "9.5MiB": int(9.5 * 1024 * 1024)}
MAX_CYCLES = 20
MAX_SECONDS = 1800


def _stats(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def run_cycles(target: Target, cycles: int, deadline: float) -> dict[str, Any]:
    """Whole runs (init, apply, checks, teardown) repeated, as `make e2e` does them; per-phase min/median/max.

    Each cycle is a `harness.run.Run` on the bench's local AWS, so the bench times the
    same lifecycle the plugin runs; Terraform phases come from the run's own records.
    """
    options = RunOptions("endpoint", target.endpoint, target.region)
    phases: dict[str, list[float]] = {name: [] for name in (
        "toolchain", "init", "workspace", "apply", "output", "ready", "checks", "destroy", "teardown", "cycle",
        "floor", "ratio_to_floor")}
    bodies = {name: body for name, body in integrity_bodies().items() if len(body) <= 1024 * 1024}
    for _ in range(cycles):
        if time.monotonic() > deadline:
            break
        cycle_started = time.perf_counter()
        run = Run(new_run_id(), options)
        destroyed = False
        try:
            stack = run.shared_stack()
            client = UploadClient(stack.outputs.invoke_url, stack.outputs.bucket_name)
            readback = S3ReadBack(target.client("s3"), stack.outputs.bucket_name)

            durations: list[float] = []
            checks_started = time.perf_counter()
            for name, body in bodies.items():
                started = time.perf_counter()
                assert client.put(name, body, "application/octet-stream").status_code == 200
                assert readback.get(name).sha256 == sha256(body)
                durations.append(time.perf_counter() - started)
            seconds = time.perf_counter() - checks_started
            phases["checks"].append(seconds)
        finally:
            messages: list[str] = []
            teardown_started = time.perf_counter()
            destroyed = run.teardown(messages)
            teardown_seconds = time.perf_counter() - teardown_started
            recorded = run.phases()
            toolchain_seconds = sum(run.timings().get("toolchain", []))
            run.remove_directory(destroyed)
        if not destroyed:
            raise HarnessError(f"a bench cycle could not tear down: {'; '.join(messages)}",
                               f"run `harness sweep --run-id {run.id} --older-than 0s`")
        cycle_seconds = time.perf_counter() - cycle_started
        split = timings.breakdown(wall=cycle_seconds, phases=recorded, longest_check=max(durations, default=0.0),
                                  checks=seconds, teardown=teardown_seconds, toolchain=toolchain_seconds)
        for phase in ("init", "workspace", "apply", "output", "destroy"):
            phases[phase].append(sum(recorded.get(phase, [])))
        phases["toolchain"].append(toolchain_seconds)
        phases["ready"].append(split["ready"])
        phases["teardown"].append(teardown_seconds)
        phases["floor"].append(split["floor"]["seconds"])
        phases["ratio_to_floor"].append(split["ratio_to_floor"] or 0.0)
        phases["cycle"].append(cycle_seconds)
    return {name: _stats(values) for name, values in phases.items() if values}


def _direct_put(endpoint: str, bucket: str, key: str, body: bytes, session: requests.Session) -> int:
    """A plain SigV4 S3 PUT with the same HTTP client the gateway upload uses."""
    url = f"{endpoint}/{bucket}/{key}"
    request = AWSRequest("PUT", url, data=body, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
                                                         "Content-Type": "application/octet-stream"})
    S3SigV4Auth(Credentials(LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"], LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]),
                "s3", "us-east-1").add_auth(request)
    return session.put(url, data=body, headers=dict(request.headers.items()), timeout=60).status_code


def measure_throughput(target: Target, outputs: Any, repeats: int) -> dict[str, Any]:
    client = UploadClient(outputs.invoke_url, outputs.bucket_name)
    session = requests.Session()
    result: dict[str, Any] = {}
    for label, size in SIZES.items():
        body = os.urandom(size)
        gateway, direct = [], []
        for index in range(repeats):
            # Interleaved, so drift in machine load hits both sides alike, and alternating
            # which goes first, so periodic pauses do not always land on the same side.
            for side in (("gateway", "direct") if index % 2 == 0 else ("direct", "gateway")):
                started = time.perf_counter()
                if side == "gateway":
                    response = client.put(f"tp/gw-{label}-{index}", body, "application/octet-stream")
                    gateway.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.text
                else:
                    status = _direct_put(target.endpoint or "", outputs.bucket_name, f"tp/direct-{label}-{index}",
                                         body, session)
                    direct.append(time.perf_counter() - started)
                    assert status == 200
        gateway_median, direct_median = statistics.median(gateway), statistics.median(direct)
        result[label] = {
            "gateway": _stats(gateway), "direct_s3": _stats(direct),
            "ratio_of_medians": round(gateway_median / direct_median, 3),
            "gateway_MiB_per_s": round(size / 1048576 / gateway_median, 1),
        }
    return result


def measure_peak_memory(server: localaws_process.LocalAwsProcess, outputs: Any, clients: int) -> dict[str, Any]:
    body = os.urandom(SIZES["9.5MiB"])
    before = server.rss_mb()
    peak = before
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, server.rss_mb())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def upload(index: int) -> int:
        client = UploadClient(outputs.invoke_url, outputs.bucket_name)
        return client.put(f"mem/{index}", body, "application/octet-stream").status_code

    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(upload, range(clients), timeout=120))
    stop.set()
    sampler.join()
    assert set(statuses) == {200}, statuses
    # Sampled during this window only: VmHWM would include every earlier phase.
    return {"clients": clients, "body_MiB": 9.5, "rss_before_mb": round(before, 1),
            "peak_rss_mb": round(peak, 1), "lifetime_high_water_mb": round(server.rss_mb("VmHWM"), 1)}


def measure_scaling(worker_counts: list[int], deadline: float) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for workers in worker_counts:
        if time.monotonic() > deadline:
            break
        env = child_run_environment()
        command = [sys.executable, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider",
                   *(["-n", str(workers)] if workers > 1 else ["-p", "no:xdist"])]
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=paths.project_root(), env=env, capture_output=True, text=True,
                                   timeout=600)
        seconds = time.perf_counter() - started
        result[f"workers_{workers}"] = {"wall_seconds": round(seconds, 2), "exit_code": completed.returncode}
    base = result.get("workers_1", {}).get("wall_seconds")
    for entry in result.values():
        entry["ratio_to_1_worker"] = round(entry["wall_seconds"] / base, 3) if base else None
    return result


def run(cycles: int = 5, repeats: int = 9, workers: tuple[int, ...] = (1, 2, 4),
        smoke: bool = False, output: Path | None = None) -> dict[str, Any]:
    cycles = min(cycles, MAX_CYCLES)
    deadline = time.monotonic() + MAX_SECONDS
    tools = toolchain.prepare()
    server = localaws_process.start(log_file=paths.data_dir() / "bench-localaws.log", detach=True)
    report: dict[str, Any] = {
        "smoke": smoke,
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "terraform": {"path": tools.binary.path, "version": tools.binary.version, "origin": tools.binary.origin},
        "provider": tools.describe()["provider"],
        "budget": BUDGET,
    }
    try:
        target = Target("local", server.endpoint)
        report["startup_rss_mb"] = round(server.rss_mb(), 1)
        report["cycles"] = run_cycles(target, cycles, deadline)
        run = Run(new_run_id(), RunOptions("endpoint", target.endpoint, target.region))
        try:
            outputs = run.shared_stack().outputs
            report["throughput"] = measure_throughput(target, outputs, repeats)
            report["peak_memory"] = measure_peak_memory(server, outputs, clients=4)
        finally:
            run.remove_directory(run.teardown([]))
    finally:
        server.stop()
    report["scaling"] = measure_scaling(list(workers), deadline) if workers else {}
    report["verdict"] = verdict(report)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
    return report


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    """Each budget line: measured value and whether it is within budget."""
    cycles = report.get("cycles", {})
    figures = {
        "cycle_median_seconds": cycles.get("cycle", {}).get("median"),
        "apply_median_seconds": cycles.get("apply", {}).get("median"),
        "destroy_median_seconds": cycles.get("destroy", {}).get("median"),
        "gateway_vs_direct_9.5MiB_ratio": report.get("throughput", {}).get("9.5MiB", {}).get("ratio_of_medians"),
        "workers4_vs_workers1_ratio": report.get("scaling", {}).get("workers_4", {}).get("ratio_to_1_worker"),
        "localaws_peak_rss_mb": report.get("peak_memory", {}).get("peak_rss_mb"),
    }
    return {name: {"measured": value, "budget": BUDGET[name],
                   "within": None if value is None else value <= BUDGET[name]}
            for name, value in figures.items()}


def table(report: dict[str, Any]) -> str:
    lines = [f"machine: {report['machine']['cores']} cores; terraform {report['terraform']['version']} "
             f"({report['terraform']['origin']}); {report['provider']}", ""]
    count = report["cycles"].get("cycle", {}).get("n")
    lines.append(f"{'phase':10} {'min':>8} {'median':>8} {'max':>8}   (seconds, n={count})")
    for phase, stats in report["cycles"].items():
        lines.append(f"{phase:10} {stats['min']:8.2f} {stats['median']:8.2f} {stats['max']:8.2f}")
    lines += ["", f"{'upload':8} {'gateway':>10} {'direct S3':>10} {'ratio':>7} {'MiB/s':>7}   (median seconds)"]
    for label, item in report["throughput"].items():
        lines.append(f"{label:8} {item['gateway']['median']:10.4f} {item['direct_s3']['median']:10.4f} "
                     f"{item['ratio_of_medians']:7.2f} {item['gateway_MiB_per_s']:7.1f}")
    memory = report["peak_memory"]
    lines += ["", f"local AWS RSS: {report['startup_rss_mb']} MB at start, peak {memory['peak_rss_mb']} MB "
                  f"with {memory['clients']} x {memory['body_MiB']} MiB uploads at once"]
    if report["scaling"]:
        runs = [f"{k.replace('_', ' ')} {v['wall_seconds']}s (x{v['ratio_to_1_worker']})"
                for k, v in report["scaling"].items()]
        lines += ["", "e2e suite: " + ", ".join(runs)]
    lines += ["", f"{'budget line':34} {'measured':>10} {'budget':>8}  ok"]
    for name, item in report["verdict"].items():
        measured = "-" if item["measured"] is None else f"{item['measured']:.3f}"
        ok = "-" if item["within"] is None else ("yes" if item["within"] else "NO")
        lines.append(f"{name:34} {measured:>10} {item['budget']:8.2f}  {ok}")
    return "\n".join(lines)
