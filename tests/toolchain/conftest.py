"""The offline planner the plan tests share (tests/toolchain/offline_plan.py)."""

from collections.abc import Callable, Iterator

import pytest
from offline_plan import BUNDLED, OfflinePlanner, Plan


@pytest.fixture(scope="session")
def offline_planner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflinePlanner]:
    """One private copy of the e2e stack per test process, initialised once, its provider served."""
    if BUNDLED is None:
        pytest.skip("harness-terraform not installed")
    planner = OfflinePlanner(tmp_path_factory.mktemp("offline-plan"))
    try:
        yield planner
    finally:
        planner.close()


@pytest.fixture(scope="session")
def plan(offline_planner: OfflinePlanner) -> Callable[..., Plan]:
    """`plan(**variables)`: the e2e stack's plan with those variables (see `OfflinePlanner.plan`)."""
    return offline_planner.plan


