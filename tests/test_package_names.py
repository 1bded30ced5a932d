"""Any package name the questions accept gives a project that passes its linters as generated:
the import order must not depend on where the name sorts (before or after `tests`)."""

import sys
from pathlib import Path

import pytest

from tests.matrix import Variant
from tests.plugins.rendering import render, run, variant_params
from tools import async_to_sync

pytestmark = pytest.mark.render

PACKAGE_NAMES = ["a", "billing", "tests_api", "user_service", "web_api", "zoo_service"]

#: The variants with the most imports to sort: sync without RLS, async with it.
VARIANTS = [
    Variant("fastapi", "sync", "psycopg", "app", "uuid", rls=False),
    Variant("fastapi", "async", "asyncpg", "pgbouncer", "bigint", rls=True),
]


@pytest.mark.parametrize("package_name", PACKAGE_NAMES)
@pytest.mark.parametrize("variant", variant_params(VARIANTS))
def test_any_package_name_renders_a_lint_clean_project(
    variant: Variant, package_name: str, tmp_path: Path
) -> None:
    project = render(tmp_path / "project", {**variant.answers(), "package_name": package_name})
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)


def test_the_sync_twins_wrap_for_the_longest_of_these_names() -> None:
    # tools/async_to_sync.py measures line lengths with this name.
    assert async_to_sync.sample_context()["package_name"] == max(PACKAGE_NAMES, key=len)
