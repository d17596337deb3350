"""LocalStack in host mode, for real: start, files confined to the run directory, leftover
count, stop leaving nothing. Needs `harness localstack install`; skipped without it.
Not collected by the plain `pytest` run (pyproject `norecursedirs`): `make test-localstack`
runs it by path."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.targets.localstack import install
from harness.targets.localstack import process as localstack
from harness.targets.localstack.leftovers import count_leftovers
from harness.targets.target import Target

pytestmark = pytest.mark.skipif(not install.is_installed(),
                                reason="LocalStack not installed (harness localstack install)")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localstack.LocalStack]:
    handle = localstack.start(run_dir=tmp_path_factory.mktemp("ls") / "run", warm_up=False)
    yield handle
    handle.stop()


def test_it_answers_on_loopback_with_our_services(running: localstack.LocalStack) -> None:
    assert running.endpoint.startswith("http://127.0.0.1:")
    assert running.alive() and running.ready_seconds > 0
    assert running.rss_mb() > 50  # a real Python server, not an empty stand-in
    s3 = Target("endpoint", running.endpoint).client("s3")
    assert s3.list_buckets()["Buckets"] == []


def test_s3_bodies_stay_in_the_run_dir(running: localstack.LocalStack) -> None:
    s3 = Target("endpoint", running.endpoint).client("s3")
    s3.create_bucket(Bucket="ls-files-probe")
    s3.put_object(Bucket="ls-files-probe", Key="k", Body=b"x" * 100)
    assert (running.run_dir / "localstack-fs" / "s3-storage" / "ls-files-probe").is_dir()
    assert not (localstack.SYSTEM_S3_STORAGE / "ls-files-probe").exists()
    assert not running.s3_escaped
    s3.delete_object(Bucket="ls-files-probe", Key="k")
    s3.delete_bucket(Bucket="ls-files-probe")


def test_count_leftovers_tells_tagged_from_untagged(running: localstack.LocalStack) -> None:
    target = Target("endpoint", running.endpoint)
    s3 = target.client("s3")
    s3.create_bucket(Bucket="ls-tagged")
    s3.put_bucket_tagging(Bucket="ls-tagged", Tagging={"TagSet": [{"Key": "harness:workspace", "Value": "t-x-0"}]})
    s3.create_bucket(Bucket="ls-untagged")
    try:
        left = count_leftovers(running.endpoint)
        assert left.buckets == {"ls-tagged": True, "ls-untagged": False}
        assert left.total == 2
    finally:
        s3.delete_bucket(Bucket="ls-tagged")
        s3.delete_bucket(Bucket="ls-untagged")
    assert count_leftovers(running.endpoint).total == 0


def test_stop_leaves_no_process_and_no_files(tmp_path: Path) -> None:
    handle = localstack.start(run_dir=tmp_path / "run", warm_up=False)
    s3 = Target("endpoint", handle.endpoint).client("s3")
    s3.create_bucket(Bucket="ls-stop-probe")
    handle.stop()
    assert handle.group_pids() == [] and not handle.alive()
    assert not (tmp_path / "run").exists()
    assert not (localstack.SYSTEM_S3_STORAGE / "ls-stop-probe").exists()
    handle.stop()  # idempotent


def test_a_busy_port_gives_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(HarnessError) as caught:
            localstack.start(port=busy.getsockname()[1], run_dir=tmp_path / "run", warm_up=False, ready_timeout=60)
    assert "in use" in caught.value.message and "--port 0" in caught.value.hint
    assert not (tmp_path / "run").exists()
