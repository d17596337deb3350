"""Two checkouts share an S3 backend: a sweep from one never touches the other's live stack.

Checkout B (its own data directory, as another CI runner has) applies throwaway stacks
with state in S3 on a local AWS: one live run that keeps its lease, one run that was
killed (its lease ran out), and one whose state was lost. Checkout A, which has none of
B's records or local state, then sweeps with `--older-than 0s` (any age): first without
`--backend`, then with it. The live stack survives both, whatever its age; the killed
run's stack and the stateless resources are removed.
"""

import shutil

import pytest

from harness import paths
from harness.lifecycle.run import Run
from harness.lifecycle.sweep import tagged_resources
from harness.lifecycle.workspace import new_run_id
from harness.options import RunOptions
from harness.targets.target import Target
from harness.terraform import provider_server
from harness.terraform.backend import S3Backend

pytestmark = pytest.mark.slow
STATE_BUCKET = "shared-state"


def sweep_from_checkout_a(harness_cli, checkout, target: Target, *extra: str):
    """`harness sweep` as another checkout runs it: its own terraform/ (local state) and data directory."""
    cli = harness_cli.private(checkout / ".harness", HARNESS_ROOT=str(checkout))
    return cli.harness("sweep", "--older-than", "0s", "--endpoint", target.endpoint, *extra, timeout=600)


def workspaces_of(target: Target, run: Run) -> set[str]:
    return {r.workspace for r in tagged_resources(target, run.id)}


def test_a_sweep_never_touches_another_checkouts_live_stack(tmp_path, monkeypatch, local_target, harness_cli):
    session_data_dir = str(paths.data_dir())
    target = Target("endpoint", local_target.endpoint)
    backend = S3Backend(STATE_BUCKET, "upload-api/e2e.tfstate", "us-east-1", local_target.endpoint)
    options = RunOptions("endpoint", local_target.endpoint, backend_url=backend.url)
    live = Run(f"live{new_run_id()[:4]}", options)
    try:
        target.client("s3").create_bucket(Bucket=STATE_BUCKET)
        monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "checkout-b"))
        live.shared_stack()
        killed = Run(f"kill{new_run_id()[:4]}", options)
        killed.shared_stack()
        killed_workspace = killed.workspace_record()["workspace"]
        backend.write_lease(killed_workspace, {"run_id": killed.id, "host": "gone"}, -1)  # it stopped renewing
        stateless = Run(f"lost{new_run_id()[:4]}", options)
        stateless.shared_stack()
        stateless_workspace = stateless.workspace_record()["workspace"]
        target.client("s3").delete_object(Bucket=STATE_BUCKET, Key=backend.state_key(stateless_workspace))
        live_workspace = live.workspace_record()["workspace"]
        monkeypatch.setenv("HARNESS_DATA_DIR", session_data_dir)
        assert workspaces_of(target, live) == {live_workspace}

        checkout_a = tmp_path / "checkout-a"
        shutil.copytree(paths.project_root() / "terraform", checkout_a / "terraform", symlinks=True,
                        ignore=shutil.ignore_patterns(".terraform", "terraform.tfstate.d", "harness_*.tf", ".e2e-s3-*"))
        without_backend = sweep_from_checkout_a(harness_cli, checkout_a, target)
        assert without_backend.returncode == 0, without_backend.stderr
        assert workspaces_of(target, live) == {live_workspace}, without_backend.stdout
        assert workspaces_of(target, stateless) == set(), without_backend.stdout  # asked S3: no state
        assert workspaces_of(target, killed) == {killed_workspace}  # it has state: Terraform must destroy it

        with_backend = sweep_from_checkout_a(harness_cli, checkout_a, target, "--backend", backend.url)
        assert with_backend.returncode == 0, with_backend.stderr
        assert f"left {live_workspace}: run {live.id}" in with_backend.stdout
        assert workspaces_of(target, live) == {live_workspace}
        assert backend.has_state(live_workspace)
        assert workspaces_of(target, killed) == set(), with_backend.stdout
        assert not backend.has_state(killed_workspace)

        monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "checkout-b"))
        report = live.teardown()
        assert report.destroyed, report.messages
        assert backend.lease(live_workspace) is None, "teardown must release the lease"
        assert workspaces_of(target, live) == set()
    finally:
        monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "checkout-b"))
        if live.workspace_record() and target.client("s3").list_objects_v2(
                Bucket=STATE_BUCKET, Prefix=f"env:/{live.workspace_record()['workspace']}/").get("KeyCount"):
            live.teardown()
        for served in provider_server.recorded():  # the providers of the runs this test "killed"
            served.stop()
        monkeypatch.setenv("HARNESS_DATA_DIR", session_data_dir)
        shutil.rmtree(backend.working_copy_path(paths.stack_dir()), ignore_errors=True)
