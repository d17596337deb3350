"""`reports/index.html`: the nightly history at a glance, one self-contained file.

Plots are drawn with matplotlib (Agg backend, no display) and embedded as base64 PNGs:
pass/fail history per check, phase durations over time, upload throughput over time.
matplotlib is the optional `report` extra (about 160 MB with numpy, fonttools and pillow),
installed by `make report`, `make nightly`, `make check`, `make test` and `make setup-report`,
not by `make setup`.
The latest drift findings and what regressed in the last run are shown highlighted.
Renders for an empty, a one-run and a long history (the grid keeps the last 60 runs).
"""

from __future__ import annotations

import base64
import html
import importlib.util
import io
import math
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.reporting import runs
from harness.reporting.history import PHASES, load_history

GRID_RUNS = 60
OUTCOME_CODES = {"passed": 2, "skipped": 1, "xfailed": 1, "failed": 0}
PLOTS_INSTALL = "make setup-report"


def require_plotting() -> None:
    """Refuse (HarnessError) unless matplotlib, which draws the plots, is installed."""
    if importlib.util.find_spec("matplotlib") is None:
        raise HarnessError("the report's plots need matplotlib (the optional `report` extra), which is not installed",
                           f"run `{PLOTS_INSTALL}` (or `make report`, which installs it first)")


def _figure_png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _labels(history: list[dict[str, Any]]) -> list[str]:
    return [time.strftime("%m-%d %H:%M:%S", time.gmtime(r["time"])) for r in history]


def _or_gap(value: float | None) -> float:
    """A run without the figure leaves a gap in the line (NaN, as matplotlib draws a None)."""
    return math.nan if value is None else value


def _time_axis(axis: Any, history: list[dict[str, Any]]) -> list[int]:
    """Runs by index (two runs in one minute stay apart), labelled with their time."""
    positions = list(range(len(history)))
    step = max(1, len(history) // 30)
    axis.set_xticks(positions[::step], _labels(history)[::step], rotation=90, fontsize=6)
    return positions


def check_grid(history: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    runs = history[-GRID_RUNS:]
    checks = sorted({name for r in runs for name in r["checks"]})
    grid = [[OUTCOME_CODES.get(r["checks"].get(c, {}).get("outcome", ""), -1) for r in runs] for c in checks]
    height = max(2.0, 0.18 * len(checks) + 1)
    figure, axis = plt.subplots(figsize=(max(6.0, 0.25 * len(runs) + 4), height))
    colours = ListedColormap(["#dddddd", "#d62728", "#ffbf00", "#2ca02c"])  # absent, failed, skipped, passed
    axis.imshow([[v + 1 for v in row] for row in grid], aspect="auto", cmap=colours, vmin=0, vmax=3,
                interpolation="nearest")
    axis.set_yticks(range(len(checks)), [c.split("::", 1)[-1][:70] for c in checks], fontsize=6)
    _time_axis(axis, runs)
    axis.set_title("Checks per run (green passed, red failed, amber skipped, grey absent)")
    return _figure_png(figure)


def phase_plot(history: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 3.5))
    positions = _time_axis(axis, history)
    for phase in PHASES:
        axis.plot(positions, [r.get("phases", {}).get(phase) for r in history], marker="o", label=phase)
    axis.set_ylabel("seconds")
    axis.set_title("Phase durations")
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _figure_png(figure)


def throughput_plot(history: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 3))
    positions = _time_axis(axis, history)
    axis.plot(positions, [_or_gap(r.get("upload_MiB_per_s")) for r in history], marker="o", color="#1f77b4")
    axis.set_ylabel("MiB/s")
    axis.set_title("Upload throughput through the API (bodies >= 64 KiB)")
    return _figure_png(figure)


def _table(rows: list[list[str]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def assumption_rows(history: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Each unconfirmed AWS assumption with its latest outcome on every target it ran on, naming that run."""
    latest: dict[str, dict[str, dict[str, Any]]] = {}  # id -> target -> entry (with the run that observed it)
    statements: dict[str, str] = {}
    for record in history:
        run = runs.RunIdentity.from_nightly_record(record)
        for entry in record.get("assumptions", []):
            statements[entry["id"]] = entry["statement"]
            if entry["outcome"] != "not-run":
                latest.setdefault(entry["id"], {})[entry["target"]] = {**entry, "run": run}
    targets = sorted({t for per_target in latest.values() for t in per_target})
    rows = []
    for assumption_id, statement in statements.items():
        cells = []
        for target in targets:
            entry = latest.get(assumption_id, {}).get(target)
            cells.append(f"{entry['outcome']}: {'; '.join(entry['observed'])} (run {entry['run'].id}, "
                         f"{runs.utc(entry['run'].started)})" if entry else "not run")
        rows.append([assumption_id, statement, *cells])
    return targets, rows


def _run_name(run: runs.RunIdentity) -> str:
    """A run as a heading names it, HTML-escaped: `run ID (kind, time)`."""
    return f"run <code>{html.escape(run.id)}</code> ({html.escape(run.kind)}, {html.escape(runs.utc(run.started))})"


def render(history: list[dict[str, Any]]) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Upload API nightly</title><style>",
             "body{font-family:sans-serif;margin:2em;max-width:1100px}",
             ".regressed{background:#fde0dc;border-left:6px solid #d62728;padding:.5em 1em}",
             ".clean{background:#e3f5e1;border-left:6px solid #2ca02c;padding:.5em 1em}",
             "table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:3px 6px}",
             "img{max-width:100%}</style></head><body><h1>Upload API: nightly runs</h1>"]
    if not history:
        parts.append("<p class='clean'>No runs yet. Run <code>make nightly</code>.</p></body></html>")
        return "".join(parts)
    require_plotting()
    import matplotlib

    matplotlib.use("Agg")
    latest = history[-1]
    run = runs.RunIdentity.from_nightly_record(latest)
    named = _run_name(run)
    counts = {o: sum(1 for c in latest["checks"].values() if c["outcome"] == o) for o in OUTCOME_CODES}
    parts.append(f"<p>{len(history)} run(s). Latest: {named}, commit "
                 f"<code>{html.escape(str(latest.get('commit'))[:12])}</code>, Terraform "
                 f"{html.escape(latest['versions']['terraform'])}, status {html.escape(run.status)}: "
                 f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped.</p>")
    note = runs.incomplete_note(run)
    if note:
        parts.append(f"<div class='regressed incomplete'><h2>Latest run {html.escape(run.status)}</h2>"
                     f"<p>{html.escape(note)}.</p></div>")
    if latest.get("regressions"):
        rows = [[r["kind"], r["name"], r["detail"]] for r in latest["regressions"]]
        parts.append(f"<div class='regressed'><h2>Regressed in the last run ({named})</h2>"
                     + _table(rows, ["kind", "what", "detail"]) + "</div>")
    else:
        parts.append(f"<div class='clean'><h2>No regression in the last run ({named})</h2></div>")
    logged = {name: c["access_log"] for name, c in sorted(latest["checks"].items())
              if c.get("outcome") == "failed" and c.get("access_log")}
    if logged:
        parts.append(f"<div class='regressed'><h2>API Gateway access log of the failed checks ({named})</h2>")
        for name, entries in logged.items():
            parts.append(f"<h3><code>{html.escape(name)}</code></h3><pre>"
                         + html.escape("\n".join(str(e.get("text", "")) for e in entries)) + "</pre>")
        parts.append("</div>")
    parts.append(f"<h2>Latest drift ({named})</h2>")
    if latest.get("drift"):
        rows = [[f["kind"], f["address"], f["attribute"], f["before"], f["after"]] for f in latest["drift"]]
        parts.append("<div class='regressed'>" + _table(rows, ["kind", "resource", "attribute", "before", "after"])
                     + "</div>")
    else:
        workspace = latest.get("drift_workspace")
        parts.append(f"<p>{'Clean on ' + html.escape(workspace) if workspace else 'No named workspace checked.'}</p>")
    targets, rows = assumption_rows(history)
    parts.append("<h2>Unconfirmed AWS assumptions</h2><p>What the checks assume where AWS's answer is not "
                 "recorded, and the latest outcome on each target, with the run that observed it. Only an outcome on "
                 "<code>aws</code> confirms or "
                 "refutes one; elsewhere it says whether that endpoint agrees.</p>")
    parts.append(_table(rows, ["assumption", "statement", *targets]) if rows else "<p>None recorded yet.</p>")
    for title, png in (("Checks", check_grid(history)), ("Phases", phase_plot(history)),
                       ("Throughput", throughput_plot(history))):
        parts.append(f"<h2>{title}</h2><img alt='{title}' src='data:image/png;base64,{png}'>")
    parts.append("</body></html>")
    return "".join(parts)


def write(output: Path, history_file: Path | None = None) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(load_history(history_file)))
    return output
