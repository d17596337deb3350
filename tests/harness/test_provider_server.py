"""The served provider (harness/terraform/provider_server.py) on real Terraform, the real provider and the local AWS.

What must hold: every command but `init` reattaches to the one served provider (Terraform's
own debug log says "unmanaged provider" and never "starting plugin"); a provider that
died is replaced by Terraform's own per-command start, not by a failure; the per-command
option turns it off; the provider is stopped with its record and socket; and one whose
owner was killed is found and stopped by `harness sweep`.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness import paths
from harness.lifecycle.workspace import Deployer, Workspace, new_run_id
from harness.options import RunOptions
from harness.plumbing import children
from harness.plumbing.waiting import wait_until
from harness.terraform import provider_server

pytestmark = pytest.mark.slow
REATTACHED = 'is overridden as an "unmanaged provider"'
LAUNCHED = "provider: starting plugin"


def _logged(deployer: Deployer, log_file: Path) -> None:
    deployer.runner.extra_env.update({"TF_LOG": "DEBUG", "TF_LOG_PATH": str(log_file)})


def _socket(server: provider_server.ProviderServer) -> Path:
    return Path(str(server.reattach["Addr"]["String"]))  # type: ignore[index]


def test_every_command_but_init_reattaches_and_the_provider_is_stopped_after(local_target, tmp_path):
    deployer = Deployer(local_target, RunOptions())
    deployer.prepare(serve_provider=True)
    served = deployer.runner.provider
    assert served is not None and served.alive()
    assert served.record_path.exists() and _socket(served).exists()
    _logged(deployer, tmp_path / "terraform.log")
    workspace = Workspace(f"t-{new_run_id()}-served", deployer, "served")
    try:
        outputs = workspace.up()
        assert outputs.rest_api_id and outputs.bucket_name
    finally:
        workspace.down(refresh=False)
        deployer.release_provider()
    log = (tmp_path / "terraform.log").read_text(errors="replace")
    assert log.count(REATTACHED) >= 4  # workspace new, apply, output, destroy, workspace delete
    assert LAUNCHED not in log
    assert not served.alive()
    assert not served.record_path.exists() and not _socket(served).exists()


def test_a_served_provider_that_died_is_replaced_by_terraforms_own_start(local_target, tmp_path):
    deployer = Deployer(local_target, RunOptions())
    deployer.prepare(serve_provider=True)
    served = deployer.runner.provider
    assert served is not None
    workspace = Workspace(f"t-{new_run_id()}-died", deployer, "died")
    workspace.runner.new_workspace(workspace.name)
    os.kill(served.pid, signal.SIGKILL)
    wait_until(lambda: not served.alive(), 10, what="the killed provider gone")  # as after a crash
    _logged(deployer, tmp_path / "terraform.log")
    workspace.runner.extra_env.update(deployer.runner.extra_env)
    try:
        assert workspace.up().rest_api_id
    finally:
        workspace.down(refresh=False)
        served.stop()  # removes the record and socket the killed process left
    log = (tmp_path / "terraform.log").read_text(errors="replace")
    assert LAUNCHED in log and REATTACHED not in log
    assert workspace.runner.provider is None


def test_provider_per_command_serves_nothing(local_target, tmp_path):
    deployer = Deployer(local_target, RunOptions(served_provider=False))
    deployer.prepare(serve_provider=True)
    assert deployer.runner.provider is None
    _logged(deployer, tmp_path / "terraform.log")
    assert deployer.runner.validate()["valid"]  # needs the provider's schema
    log = (tmp_path / "terraform.log").read_text(errors="replace")
    assert LAUNCHED in log and REATTACHED not in log


OWNER = """
import json, sys, time
from harness import paths
from harness.targets.target import Target
from harness.options import RunOptions
from harness.lifecycle.workspace import Deployer
deployer = Deployer(Target("local", sys.argv[1]), RunOptions())
deployer.prepare(serve_provider=True, run_id=sys.argv[2])
print(json.dumps({"pid": deployer.runner.provider.pid}), flush=True)
time.sleep(120)
"""


def test_sweep_stops_a_served_provider_whose_owner_was_killed(local_target, harness_cli):
    run_id = new_run_id()
    owner = subprocess.Popen([sys.executable, "-c", OWNER, local_target.endpoint, run_id], cwd=paths.project_root(),
                             env=harness_cli.environment(), stdout=subprocess.PIPE, text=True)
    try:
        pid = json.loads(owner.stdout.readline())["pid"]  # type: ignore[union-attr]
    finally:
        owner.kill()  # SIGKILL: no teardown of its own runs
        owner.wait(timeout=30)
    record = children.registry_dir() / f"{provider_server.KIND}-{pid}.json"
    assert provider_server.pid_alive(pid) and record.exists()
    listed = harness_cli.harness("sweep", "--older-than", "0s", "--run-id", run_id, "--dry-run")
    assert f"would stop a served AWS provider of run {run_id} (pid {pid}): its owner is gone" in listed.stdout, \
        listed.stderr
    assert provider_server.pid_alive(pid)
    swept = harness_cli.harness("sweep", "--older-than", "0s", "--run-id", run_id)
    assert swept.returncode == 0, swept.stderr
    assert f"stopped a served AWS provider of run {run_id} (pid {pid}): its owner is gone" in swept.stdout
    wait_until(lambda: not provider_server.pid_alive(pid), 10, what="the swept provider gone")
    assert not record.exists()
