"""Registers the suite's fixtures. The environment (services mode) is set in tests/settings.py,
which pytest-django loads before this file."""

pytest_plugins = ["tests.fakes.pytest_plugin", "tests.fixtures"]
