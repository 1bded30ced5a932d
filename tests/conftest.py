"""The template's tests: fixtures live in small plugins, one concern each."""

import os

import pytest

pytest_plugins = [
    "tests.plugins.timing",
    "tests.plugins.compiled_templates",
    "tests.plugins.rendering",
    "tests.plugins.environments",
    "tests.plugins.postgres",
    "tests.plugins.versions",
    "tests.plugins.updates",
    # For the test of the time table itself.
    "pytester",
]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker more than there are cores. A variant's own test suite spends about a
    third of its time waiting (servers restarting, PgBouncer's queue, connect timeouts), and the
    extra worker fills that time with another variant's work."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook honours the override
    return len(os.sched_getaffinity(0)) + 1
