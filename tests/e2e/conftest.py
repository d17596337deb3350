import pytest

from harness.pytest_plugin import deploy_at_session_start


def pytest_configure(config: pytest.Config) -> None:
    # Every check here needs the deployed stack: apply it while the session starts.
    deploy_at_session_start(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)
