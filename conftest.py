"""Project-level pytest configuration.

The harness's fixtures and options come from its pytest plugin (entry point `pytest11`,
module `harness.pytest_plugin`); nothing is copied here.
"""
