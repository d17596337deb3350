"""The benchmark: how fast a full end-to-end cycle is, where the time goes, how it compares.

Cycles, throughput and peak memory run on the embedded local AWS and, side by side in
the same run, on any other AWS-compatible endpoint (`--endpoint URL`, or `--localstack`,
which starts and stops LocalStack through harness/targets/localstack/process.py): the same cycle and the
same upload sizes everywhere. Everything is over loopback, bounded in count and time, and
reported as figures and ratios measured in the same run (so a noisy machine moves both
sides of a ratio). Then `make e2e`'s wall time, its ratio to the floor
(harness/reporting/timings.py) and its scaling with workers. Not a test: `make test` only runs
`--smoke` and checks the shape of the output.
"""

from __future__ import annotations

import base64
import contextlib
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

from harness import paths
from harness.client.readback import S3ReadBack, integrity_bodies, sha256
from harness.client.upload_client import UploadClient
from harness.errors import HarnessError
from harness.lifecycle.run import Run
from harness.lifecycle.workspace import child_run_environment, new_run_id
from harness.localaws import process as localaws_process
from harness.options import RunOptions
from harness.plumbing.waiting import WaitTimeout, wait_until
from harness.reporting import timings
from harness.targets.target import LOCAL_CREDENTIALS, Target
from harness.terraform import toolchain

# Issue 15's budget (medians on the 2-core development machine, warm checkout).
BUDGET = {
    "e2e_wall_seconds": 6.0,
    "e2e_ratio_to_floor": 1.3,
    "workers2_vs_serial_ratio": 1.0,
    "cycle_median_seconds": 6.0,
    "apply_median_seconds": 1.5,
    "destroy_median_seconds": 1.5,
    "gateway_vs_direct_9.5MiB_ratio": 1.1,
    "localaws_peak_rss_mb": 200.0,
    # ours over the other endpoint's, per endpoint compared: both lower means < 1
    "localaws_vs_other_cycle_ratio": 1.0,
    "localaws_vs_other_peak_rss_ratio": 1.0,
}
# `make e2e`'s worker count (the Makefile's E2E_WORKERS default, chosen by this bench's
# scaling figures): the e2e wall and ratio lines are read for it.
E2E_DEFAULT_WORKERS = 1
SIZES = {"1KiB": 1024, "1MiB": 1024 * 1024, "9.5MiB": int(9.5 * 1024 * 1024)}
MAX_CYCLES = 20
MAX_SECONDS = 1800


def _stats(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def _text_body(size: int) -> bytes:
    """`size` random ASCII bytes: stored unchanged on every endpoint, even one that mangles binary bodies."""
    return base64.b64encode(os.urandom(size))[:size]


def cycle_bodies() -> dict[str, bytes]:
    """The cycle's checks, identical on every endpoint: the UTF-8 integrity bodies plus random text.

    Binary bodies are left to the e2e suite: LocalStack mangles them (harness/targets/deviations.py),
    and a bench cycle must compare time, not fail on a known deviation.
    """
    text = {}
    for name, body in integrity_bodies().items():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            continue
        text[name] = body
    return {**text, "text-1KiB": _text_body(1024), "text-1MiB": _text_body(1024 * 1024)}


def run_cycles(target: Target, cycles: int, deadline: float) -> dict[str, Any]:
    """Whole runs (init, apply, checks, teardown) repeated, as `make e2e` does them; per-phase min/median/max.

    Each cycle is a `harness.lifecycle.run.Run` on the given endpoint, so the bench times the
    same lifecycle the plugin runs; Terraform phases come from the run's own records.
    """
    options = RunOptions("localstack" if target.kind == "localstack" else "endpoint", target.endpoint,
                         target.region)
    phases: dict[str, list[float]] = {name: [] for name in (
        "toolchain", "provider_start", "init", "workspace", "apply", "apply_before_changes", "apply_changes",
        "output", "ready", "checks", "destroy", "destroy_before_changes", "destroy_changes", "teardown", "cycle",
        "floor", "ratio_to_floor")}
    bodies = cycle_bodies()
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
            teardown_started = time.perf_counter()
            report = run.teardown()
            destroyed, messages = report.destroyed, report.messages
            teardown_seconds = time.perf_counter() - teardown_started
            recorded = run.phases()
            splits = run.phase_splits()
            toolchain_seconds = sum(run.timings().get("toolchain", []))
            provider_seconds = sum(run.timings().get("provider_start", []))
            run.remove_directory(destroyed)
        if not destroyed:
            raise HarnessError(f"a bench cycle could not tear down: {'; '.join(messages)}",
                               f"run `harness sweep --run-id {run.id} --older-than 0s`")
        cycle_seconds = time.perf_counter() - cycle_started
        split = timings.breakdown(wall=cycle_seconds, phases=recorded, longest_check=max(durations, default=0.0),
                                  checks=seconds, teardown=teardown_seconds, toolchain=toolchain_seconds,
                                  splits=splits)
        for phase in ("init", "workspace", "apply", "output", "destroy"):
            phases[phase].append(sum(recorded.get(phase, [])))
        for command in ("apply", "destroy"):
            for part in ("before_changes", "changes"):
                if command in split["terraform_split"]:
                    phases[f"{command}_{part}"].append(split["terraform_split"][command][part])
        phases["provider_start"].append(provider_seconds)
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
        body = _text_body(size)
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


def measure_peak_memory(server: Any, outputs: Any, clients: int) -> dict[str, Any]:
    """Peak RSS of the endpoint's process (anything with `rss_mb()`) while `clients` upload 9.5 MiB at once."""
    body = _text_body(SIZES["9.5MiB"])
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


def measure_scaling(worker_counts: list[int], rounds: int, deadline: float) -> dict[str, Any]:
    """`make e2e`'s suite with each worker count, `rounds` times interleaved; wall, and ratio to the floor."""
    walls: dict[int, list[float]] = {workers: [] for workers in worker_counts}
    ratios: dict[int, list[float]] = {workers: [] for workers in worker_counts}
    codes: dict[int, list[int]] = {workers: [] for workers in worker_counts}
    summary = paths.data_dir() / "bench-e2e-summary.json"
    for _ in range(rounds):
        for workers in worker_counts:
            if time.monotonic() > deadline:
                break
            env = child_run_environment()
            command = [sys.executable, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider",
                       f"--harness-summary={summary}", "--harness-run-kind", "bench",
                       *(["-n", str(workers)] if workers > 1 else ["-p", "no:xdist"])]
            started = time.perf_counter()
            completed = subprocess.run(command, cwd=paths.project_root(), env=env, capture_output=True, text=True,
                                       timeout=600)
            walls[workers].append(time.perf_counter() - started)
            codes[workers].append(completed.returncode)
            try:
                ratio = json.loads(summary.read_text())["timings"]["ratio_to_floor"]
            except (OSError, ValueError, KeyError):
                ratio = None
            if ratio:
                ratios[workers].append(ratio)
    result: dict[str, Any] = {}
    for workers in worker_counts:
        if walls[workers]:
            result[f"workers_{workers}"] = {
                "wall_seconds": _stats(walls[workers]), "exit_codes": codes[workers],
                "ratio_to_floor": _stats(ratios[workers]) if ratios[workers] else None}
    base = result.get("workers_1", {}).get("wall_seconds", {}).get("median")
    for entry in result.values():
        entry["ratio_to_1_worker"] = round(entry["wall_seconds"]["median"] / base, 3) if base else None
    return result


def measure_endpoint(name: str, target: Target, process: Any, cycles: int, repeats: int,
                     deadline: float) -> dict[str, Any]:
    """The same cycles, uploads and memory window on one endpoint; `process` has `rss_mb()`, or is None."""
    result: dict[str, Any] = {"name": name, "endpoint": target.endpoint, "kind": target.kind}
    if process is not None:
        result["startup_rss_mb"] = round(process.rss_mb(), 1)
    result["cycles"] = run_cycles(target, cycles, deadline)
    run = Run(new_run_id(), RunOptions("localstack" if target.kind == "localstack" else "endpoint",
                                       target.endpoint, target.region))
    try:
        outputs = run.shared_stack().outputs
        result["throughput"] = measure_throughput(target, outputs, repeats)
        result["peak_memory"] = measure_peak_memory(process, outputs, clients=4) if process is not None else None
    finally:
        run.remove_directory(run.teardown().destroyed)
    return result


def run(cycles: int = 5, repeats: int = 9, workers: tuple[int, ...] = (1, 2), e2e_rounds: int = 3,
        smoke: bool = False, output: Path | None = None, endpoints: tuple[str, ...] = (),
        endpoint_kind: str = "endpoint", localstack: bool = False) -> dict[str, Any]:
    """The whole benchmark; `endpoints` (and `localstack`) are measured side by side with the local AWS."""
    cycles = min(cycles, MAX_CYCLES)
    deadline = time.monotonic() + MAX_SECONDS
    tools = toolchain.prepare()
    report: dict[str, Any] = {
        "smoke": smoke,
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "terraform": {"path": tools.binary.path, "version": tools.binary.version, "origin": tools.binary.origin},
        "provider": tools.describe()["provider"],
        "budget": BUDGET,
        "endpoints": {},
    }
    log_file = paths.data_dir() / "bench-localaws.log"
    log_file.unlink(missing_ok=True)
    server = localaws_process.start(log_file=log_file, detach=True)
    # Its start-up RSS once the background warm-up (harness/localaws/warmup.py) is done (or after 10 s).
    with contextlib.suppress(WaitTimeout):
        wait_until(lambda: "warmed up" in log_file.read_text(errors="replace"), 10, what="the local AWS's warm-up",
                   interval=0.05)
    try:
        local = measure_endpoint("local AWS", Target("local", server.endpoint), server, cycles, repeats, deadline)
    finally:
        server.stop()
    report["endpoints"]["local"] = local
    # The local AWS's figures stay at the top level too (the budget lines and earlier reports read them there).
    report.update({key: local[key] for key in ("startup_rss_mb", "cycles", "throughput", "peak_memory")})
    for url in endpoints:
        target = Target(endpoint_kind, url)
        target.check_reachable()
        report["endpoints"][url] = measure_endpoint(url, target, None, cycles, repeats, deadline)
    if localstack:
        from harness.targets.localstack import install as localstack_install
        from harness.targets.localstack import process as localstack_process

        handle = localstack_process.start(warm_up=True)
        try:
            entry = measure_endpoint("LocalStack", Target("localstack", handle.endpoint), handle, cycles, repeats,
                                     deadline)
            entry["version"] = localstack_install.VERSION
            entry["ready_seconds"] = round(handle.ready_seconds, 2)
            report["endpoints"]["localstack"] = entry
        finally:
            handle.stop()
    report["scaling"] = measure_scaling(list(workers), e2e_rounds, deadline) if workers else {}
    report["verdict"] = verdict(report)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
    return report


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 3) if ours is not None and theirs else None


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    """Each budget line: measured value and whether it is within budget."""
    cycles = report.get("cycles", {})
    scaling = report.get("scaling", {})
    default = scaling.get(f"workers_{E2E_DEFAULT_WORKERS}", {})
    serial = scaling.get("workers_1", {}).get("wall_seconds", {}).get("median")
    parallel = scaling.get("workers_2", {}).get("wall_seconds", {}).get("median")
    figures: dict[str, tuple[str, float | None]] = {
        "e2e_wall_seconds": ("e2e_wall_seconds", default.get("wall_seconds", {}).get("median")),
        "e2e_ratio_to_floor": ("e2e_ratio_to_floor", (default.get("ratio_to_floor") or {}).get("median")),
        "workers2_vs_serial_ratio": ("workers2_vs_serial_ratio", _ratio(parallel, serial)),
        "cycle_median_seconds": ("cycle_median_seconds", cycles.get("cycle", {}).get("median")),
        "apply_median_seconds": ("apply_median_seconds", cycles.get("apply", {}).get("median")),
        "destroy_median_seconds": ("destroy_median_seconds", cycles.get("destroy", {}).get("median")),
        "gateway_vs_direct_9.5MiB_ratio": ("gateway_vs_direct_9.5MiB_ratio",
                                           report.get("throughput", {}).get("9.5MiB", {}).get("ratio_of_medians")),
        "localaws_peak_rss_mb": ("localaws_peak_rss_mb", (report.get("peak_memory") or {}).get("peak_rss_mb")),
    }
    for key, other in report.get("endpoints", {}).items():
        if key == "local":
            continue
        figures[f"localaws_vs_{key}_cycle_ratio"] = (
            "localaws_vs_other_cycle_ratio",
            _ratio(cycles.get("cycle", {}).get("median"), other["cycles"].get("cycle", {}).get("median")))
        figures[f"localaws_vs_{key}_peak_rss_ratio"] = (
            "localaws_vs_other_peak_rss_ratio",
            _ratio((report.get("peak_memory") or {}).get("peak_rss_mb"),
                   (other.get("peak_memory") or {}).get("peak_rss_mb")))
    return {name: {"measured": value, "budget": BUDGET[line],
                   "within": None if value is None else value <= BUDGET[line]}
            for name, (line, value) in figures.items()}


def side_by_side(report: dict[str, Any]) -> list[str]:
    """One column per endpoint: cycle, apply, destroy, upload throughput per size, peak RSS."""
    entries = list(report.get("endpoints", {}).values())
    if not entries:
        return []

    def cell(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    width = max(14, *(len(entry["name"]) + 2 for entry in entries))
    lines = [f"{'(medians)':26}" + "".join(f"{entry['name']:>{width}}" for entry in entries)]
    for label, phase in (("cycle s", "cycle"), ("apply s", "apply"), ("destroy s", "destroy"),
                         ("floor s", "floor"), ("cycle / floor", "ratio_to_floor")):
        lines.append(f"{label:26}" + "".join(
            f"{cell(entry['cycles'].get(phase, {}).get('median')):>{width}}" for entry in entries))
    for size in SIZES:
        lines.append(f"{'gateway MiB/s ' + size:26}" + "".join(
            f"{cell(entry['throughput'][size]['gateway_MiB_per_s'], 1):>{width}}" for entry in entries))
        lines.append(f"{'  gateway / direct S3':26}" + "".join(
            f"{cell(entry['throughput'][size]['ratio_of_medians']):>{width}}" for entry in entries))
    lines.append(f"{'peak RSS MB, 4 x 9.5 MiB':26}" + "".join(
        f"{cell((entry.get('peak_memory') or {}).get('peak_rss_mb'), 0):>{width}}" for entry in entries))
    return lines


def table(report: dict[str, Any]) -> str:
    lines = [f"machine: {report['machine']['cores']} cores; terraform {report['terraform']['version']} "
             f"({report['terraform']['origin']}); {report['provider']}", ""]
    count = report["cycles"].get("cycle", {}).get("n")
    lines.append(f"local AWS cycle: {'phase':14} {'min':>8} {'median':>8} {'max':>8}   (seconds, n={count})")
    for phase, stats in report["cycles"].items():
        lines.append(f"{'':17}{phase:14} {stats['min']:8.2f} {stats['median']:8.2f} {stats['max']:8.2f}")
    lines += ["", f"{'upload':8} {'gateway':>10} {'direct S3':>10} {'ratio':>7} {'MiB/s':>7}   (median seconds)"]
    for label, item in report["throughput"].items():
        lines.append(f"{label:8} {item['gateway']['median']:10.4f} {item['direct_s3']['median']:10.4f} "
                     f"{item['ratio_of_medians']:7.2f} {item['gateway_MiB_per_s']:7.1f}")
    memory = report["peak_memory"]
    lines += ["", f"local AWS RSS: {report['startup_rss_mb']} MB at start, peak {memory['peak_rss_mb']} MB "
                  f"with {memory['clients']} x {memory['body_MiB']} MiB uploads at once"]
    if len(report.get("endpoints", {})) > 1:
        lines += ["", "side by side:", *side_by_side(report)]
    if report["scaling"]:
        runs = [f"{k.replace('_', ' ')} {v['wall_seconds']['median']}s (x{v['ratio_to_1_worker']}, "
                f"{(v['ratio_to_floor'] or {}).get('median')} x floor)"
                for k, v in report["scaling"].items()]
        lines += ["", "e2e suite (median wall): " + ", ".join(runs)]
    lines += ["", *budget_lines(report["verdict"])]
    return "\n".join(lines)


def budget_lines(verdict: dict[str, Any], width: int = 40, measured_width: int = 10, digits: int = 3) -> list[str]:
    """The verdict as a table: each budget line's measured value, its budget, and yes/NO (- if not measured)."""
    lines = [f"{'budget line':{width}} {'measured':>{measured_width}} {'budget':>8}  ok"]
    for name, item in verdict.items():
        measured = "-" if item["measured"] is None else f"{item['measured']:.{digits}f}"
        ok = "-" if item["within"] is None else ("yes" if item["within"] else "NO")
        lines.append(f"{name:{width}} {measured:>{measured_width}} {item['budget']:8.2f}  {ok}")
    return lines
