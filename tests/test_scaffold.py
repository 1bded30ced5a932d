"""startapp's scaffold, judged the way a team's own code would be: an app made in a copy of each
scaffold shape's project passes ruff, mypy --strict, makemigrations, and its own tests against
PostgreSQL. The render tier only parses the scaffold's templates; this is where they run."""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.matrix import SCAFFOLD_VARIANTS, Variant
from tests.plugins.environments import Installed
from tests.plugins.rendering import PACKAGE_NAME, variant_params
from tests.plugins.timing import Timed

pytestmark = [
    pytest.mark.full,
    pytest.mark.parametrize("variant", variant_params(SCAFFOLD_VARIANTS)),
]

APP = "purchase_orders"


def test_an_app_startapp_makes_is_clean_and_passes_its_own_tests(
    installed: Installed,
    variant: Variant,
    create_database: Callable[[str], str],
    tmp_path: Path,
    timed: Timed,
) -> None:
    # A copy, so that the variant's other tests see the project as rendered. It shares the
    # installed environment, whose editable install of the package the copy's src/ shadows.
    copy = tmp_path / "project"
    shutil.copytree(installed.path, copy, ignore=shutil.ignore_patterns(".venv", "*cache*"))
    project = Installed(copy, {**installed.env, "PYTHONPATH": str(copy / "src")}, installed.caches)
    url = create_database(f"{variant.database_name}_{APP}")
    database = {"DATABASE_URL": url, "DIRECT_DATABASE_URL": url}
    with timed("scaffold"):
        project.run("python", "-m", PACKAGE_NAME, "startapp", APP)
        project.run("python", "-m", PACKAGE_NAME, "migrate", **database)
        project.run(
            "python", "-m", PACKAGE_NAME, "makemigrations", "-m", f"create {APP}", **database
        )
        (migration,) = (copy / "migrations" / "versions").glob(f"*_create_{APP}.py")
        project.run("ruff", "check", "--no-cache", ".")
        project.run("ruff", "format", "--check", "--no-cache", ".")
        project.run("mypy")
        app_tests = f"src/{PACKAGE_NAME}/apps/{APP}/tests"
        output = project.run("pytest", "-p", "no:cacheprovider", app_tests, TEST_DATABASE_URL=url)
    assert f'op.create_table(\n        "{APP}",' in migration.read_text()
    assert " passed" in output
    assert " skipped" not in output
