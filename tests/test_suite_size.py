"""The generated suite keeps its tests: the default variant's pytest collects exactly the number
of tests recorded in tests/default_suite.toml, a floor that only moves up.

The count is pytest's own (`--collect-only` in the rendered project, from its environment), not a
reading of the source: it includes parametrized cases, the tests pytest-alembic contributes, and
the operations schemathesis finds in the OpenAPI schema, and it leaves out what the project's
pytest configuration deselects. Installing the one variant costs the render tier a `uv sync`.
"""

import tomllib
from pathlib import Path

import pytest

from tests.matrix import DEFAULT_VARIANT
from tests.plugins.environments import Installed
from tests.plugins.rendering import variant_params

pytestmark = pytest.mark.render

FLOOR = Path(__file__).with_name("default_suite.toml")


def collected(installed: Installed) -> list[str]:
    output = installed.run("pytest", "--collect-only", "-q", "-p", "no:cacheprovider")
    return [line for line in output.splitlines() if "::" in line]


@pytest.mark.parametrize("variant", variant_params([DEFAULT_VARIANT]))
def test_the_default_suite_keeps_every_test(installed: Installed) -> None:
    floor = tomllib.loads(FLOOR.read_text())["tests"]
    count = len(collected(installed))
    assert count >= floor, (
        f"the default variant's suite collects {count} tests, fewer than the {floor} recorded in "
        f"{FLOOR.name}: make tests faster, do not delete them"
    )
    assert count == floor, (
        f"the default variant's suite collects {count} tests: raise `tests` in {FLOOR.name} "
        f"from {floor} to {count}, so that none of them can go unnoticed"
    )
