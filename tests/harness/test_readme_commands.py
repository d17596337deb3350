"""Every command the documentation shows in a ```sh block is run here, as written, or skipped
for a stated reason, so the documentation cannot drift from the CLI; and every link between
its pages leads somewhere.

The documentation is README.md and docs/*.md; the commands come from their ```sh blocks.
Those that can run offline run in the documentation's order (README first, then the pages
by name) on the embedded local AWS (`harness up` without a target starts the project's
long-lived one, `harness down` stops it), with a unique workspace name in place of `demo`
so parallel runs never collide. A documented command that is neither in `RUN` nor in
`SKIPPED` fails `test_every_documented_command_is_run_or_skipped_with_a_reason`.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import paths
from harness.lifecycle.workspace import new_run_id
from harness.terraform.backend import LocalState

ROOT = paths.project_root()
README = ROOT / "README.md"
VENV_BIN = ".venv/bin/"
DOC_WORKSPACE = "demo"
FENCED = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)


def documentation() -> list[Path]:
    """README.md, then every page under docs/, by name."""
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def documented_commands() -> list[tuple[Path, str]]:
    """(page, command) for each command line of the ```sh blocks, comments and `.venv/bin/` removed."""
    commands = []
    for page in documentation():
        for block in re.findall(r"^```sh\n(.*?)^```", page.read_text(), flags=re.MULTILINE | re.DOTALL):
            for line in block.splitlines():
                words = shlex.split(line, comments=True)
                if words:
                    words[0] = words[0].removeprefix(VENV_BIN)
                    commands.append((page, shlex.join(words)))
    return commands


def readme_commands() -> list[str]:
    """The documented commands in the documentation's order."""
    return [command for _, command in documented_commands()]


@dataclass
class Session:
    """What the commands run so far have told us about the workspace."""

    workspace: str
    outputs: dict = field(default_factory=dict)
    up: bool = False


Check = Callable[[subprocess.CompletedProcess, Session], None]


def _up(result: subprocess.CompletedProcess, session: Session) -> None:
    session.up = True  # even a failed apply may have left resources: the test's end removes them
    assert result.returncode == 0, result.stderr[-3000:]
    session.outputs = json.loads(result.stdout)
    assert session.outputs["bucket_name"] and session.outputs["invoke_url"]


def _checks_on_named_workspace(result: subprocess.CompletedProcess, session: Session) -> None:
    assert result.returncode == 0, result.stdout[-3000:]
    assert "test_integrity.py" in result.stdout and " passed" in result.stdout
    assert "test_oversize.py" not in result.stdout  # -k integrity selected only those
    assert "destroyed" not in result.stdout  # --workspace never destroys


def _outputs(result: subprocess.CompletedProcess, session: Session) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = json.loads(result.stdout)
    assert outputs["bucket_name"] == session.outputs["bucket_name"]  # still the same stack
    assert outputs["harness_stack_vars"] == {}  # applied with the stack's defaults


def _check_oversize(result: subprocess.CompletedProcess, session: Session) -> None:
    # Before the fix, the `--` reached pytest: "ERROR: file or directory not found: -k".
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "test_oversize.py" in result.stdout and " passed" in result.stdout
    assert "test_integrity.py" not in result.stdout  # the `-k oversize` after `--` reached pytest


def _logs_shown(result: subprocess.CompletedProcess, session: Session) -> None:
    """The checks run just before (integrity: 200s, oversize: 413s) are in the access log, one line each."""
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    shape = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  [A-Z]+  \S+  status \d{3}  integration \S+  ")
    assert lines and all(shape.match(line) for line in lines), lines
    assert any(" status 200  integration 200 " in line for line in lines), lines
    assert any(" status 413  integration -  " in line for line in lines), lines  # refused by the gateway


def _same_stack_applied(result: subprocess.CompletedProcess, session: Session, change: str) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"stack variable {change}" in result.stderr, result.stderr[-3000:]
    assert json.loads(result.stdout)["bucket_name"] == session.outputs["bucket_name"]  # changed in place


def _stack_var_set(result: subprocess.CompletedProcess, session: Session) -> None:
    _same_stack_applied(result, session, "throttle_rate_limit: (stack default) -> 20")


def _workspaces_listed(result: subprocess.CompletedProcess, session: Session) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    # name, kind, target, age, and the variables the workspace remembers since the line before
    assert re.search(rf"^{session.workspace}\s+named\s+local .* ago\s+vars: throttle_rate_limit=20$",
                     result.stdout, re.MULTILINE), result.stdout[-3000:]


def _stack_var_unset(result: subprocess.CompletedProcess, session: Session) -> None:
    _same_stack_applied(result, session, "throttle_rate_limit: 20 -> (stack default)")


def _down(result: subprocess.CompletedProcess, session: Session) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    session.up = False
    assert f"destroyed and deleted workspace {session.workspace}" in result.stderr
    assert not LocalState(paths.stack_dir()).state_file(session.workspace).parent.exists()
    assert not (paths.workspaces_dir() / f"{session.workspace}.json").exists()


# Documented command (with `demo` as written there) -> what it must do when run.
RUN: dict[str, Check] = {
    "harness up --workspace demo": _up,
    "pytest tests/e2e -k integrity --workspace demo": _checks_on_named_workspace,
    "harness outputs --workspace demo": _outputs,
    "harness check --workspace demo -- -k oversize": _check_oversize,
    "harness logs --workspace demo --since 10m": _logs_shown,
    "harness up --workspace demo --stack-var throttle_rate_limit=20": _stack_var_set,
    "harness workspaces": _workspaces_listed,
    "harness up --workspace demo --unset-stack-var throttle_rate_limit": _stack_var_unset,
    "harness down --workspace demo": _down,
}

_STATE_BUCKET = "s3://my-state-bucket/upload-api/terraform.tfstate"
_CALLER_CHECK_RUNS = "run as child runs with these --stack-var arguments by tests/harness/test_caller_check_variants.py"
SKIPPED: dict[str, str] = {
    """pytest tests/e2e --stack-var 'authorization="AWS_IAM"'""": _CALLER_CHECK_RUNS,
    """pytest tests/e2e --stack-var 'authorization="API_KEY"'""": _CALLER_CHECK_RUNS,
    ("""pytest tests/e2e/test_authorization.py --stack-var 'authorization="API_KEY"' --stack-var """
     """throttle_rate_limit=2 --stack-var throttle_burst_limit=4 --stack-var """
     """'usage_plan_quota={"limit": 12, "period": "DAY"}'"""): _CALLER_CHECK_RUNS,
    "make e2e": "runs tests/e2e, which `make test` runs too; a make target inside the suite would nest a suite",
    "make test": "this file is part of `make test`: running it here would recurse",
    "pytest tests/e2e --target aws --region eu-west-1 --profile my-profile -n 4":
        "needs real AWS and a profile named my-profile; the same checks run on the local AWS in tests/e2e",
    f"harness up --workspace shared --target aws --backend {_STATE_BUCKET}":
        "needs real AWS and the state bucket my-state-bucket; the S3 backend is run on the local AWS "
        "in tests/harness/test_s3_backend.py",
    f"pytest tests/e2e --workspace shared --backend {_STATE_BUCKET}":
        "needs the workspace the line before creates on real AWS, in the state bucket my-state-bucket",
    "HARNESS_PROVIDER_SOURCE=registry TF_CLI_ARGS_init=-upgrade make e2e":
        "needs registry.terraform.io (no internet here); the registry path is planned offline in "
        "tests/toolchain/test_provider_compat.py",
    "git diff terraform/stacks/e2e/.terraform.lock.hcl": "a git command about the checkout, not the harness",
    "git checkout terraform/stacks/e2e/.terraform.lock.hcl": "a git command that would discard the lock file",
    "make test-localstack": "installs and runs LocalStack (about 800 MB of memory, minutes): its own target, "
                            "not part of `make test`",
    "pytest tests/e2e --target localstack --endpoint http://127.0.0.1:4566":
        "needs a running LocalStack; `make test-localstack` runs exactly this against a fresh one",
    "pytest tests/e2e --localaws-profile aws-like:role=15s,stage=5s":
        "the whole suite on the aws-like profile runs (with shorter delays) in "
        "tests/harness/test_faults_on_real_terraform.py",
    "pytest tests/e2e --localaws-profile aws-like --no-readiness-gate":
        "red on purpose; tests/harness/test_faults_on_real_terraform.py runs it on a subset with shorter delays",
    "pytest tests/e2e --localaws-faults 's3.put:slowdown@rate=0.2,data:reset@rate=0.05;seed=42'":
        "red on purpose (checks meet injected faults); the same faults are proven in tests/localaws/test_faults.py",
    "harness soak --cycles 50 --faults 's3.put:slowdown@rate=0.2,s3.put:internal@rate=0.1,apigw:throttle@rate=0.1;"
    "seed=42'": "50 full cycles take about 10 minutes; a 2-cycle fault soak runs in tests/harness/test_soak_short.py",
    "harness localaws --profile aws-like --faults 'apigw:conflict@count=2;seed=1'":
        "runs in the foreground until Ctrl-C; flags and environment are tested in"
        " tests/localaws/test_faults.py",
}


def test_every_documented_command_is_run_or_skipped_with_a_reason():
    documented = documented_commands()
    pages = {page for page, _ in documented}
    assert README in pages and len(pages) > 1, f"no ```sh blocks found in {README} and docs/*.md"
    commands = [command for _, command in documented]
    assert not set(RUN) & set(SKIPPED)
    unaccounted = [f"{page.relative_to(ROOT)}: {c}" for page, c in documented if c not in RUN and c not in SKIPPED]
    assert not unaccounted, f"documented commands neither run nor skipped with a reason here: {unaccounted}"
    stale = [c for c in [*RUN, *SKIPPED] if c not in commands]
    assert not stale, f"commands listed here that the documentation no longer shows: {stale}"
    twice = [c for c in RUN if commands.count(c) > 1]
    assert not twice, f"commands that would run twice (show each once): {twice}"
    assert all(reason.strip() for reason in SKIPPED.values())


def heading_anchor(heading: str) -> str:
    """The anchor GitHub gives a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_pages_leads_somewhere():
    """Relative links of README.md and docs/*.md name a file in the repository, and a heading there."""
    broken = []
    for page in documentation():
        prose = FENCED.sub("", page.read_text())
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if re.match(r"[a-z]+:", target):
                continue  # a URL: public sources, not part of the repository
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.is_relative_to(ROOT) or not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file in the repository)")
            elif anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", FENCED.sub("", linked.read_text()), flags=re.MULTILINE)
                if anchor not in {heading_anchor(h) for h in headings}:
                    broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, f"links that lead nowhere: {broken}"


@pytest.mark.slow
def test_named_workspace_commands_run_as_the_readme_shows(harness_cli):
    def run(command: str, workspace: str) -> subprocess.CompletedProcess:
        """The documented line for this interpreter, with our workspace name in place of `demo`."""
        program, *args = (workspace if word == DOC_WORKSPACE else word for word in shlex.split(command))
        return harness_cli.run({"harness": "harness.cli", "pytest": "pytest"}[program], *args)

    session = Session(workspace=f"readme-{new_run_id()}")
    try:
        for command in (c for c in readme_commands() if c in RUN):
            RUN[command](run(command, session.workspace), session)
    finally:
        if session.up:
            run("harness down --workspace demo", session.workspace)
    gone = run("harness outputs --workspace demo", session.workspace)
    assert gone.returncode == 2 and "error:" in gone.stderr and "Traceback" not in gone.stderr
