"""Fixtures the lifecycle tests share."""

import pytest

from harness.localaws.process import start
from harness.targets.target import Target


@pytest.fixture(scope="module")
def local_target(tmp_path_factory):
    """A local AWS process for the module's tests, as the `local` target."""
    server = start(log_file=tmp_path_factory.mktemp("localaws") / "server.log")
    try:
        yield Target("local", server.endpoint)
    finally:
        server.stop()
