"""The full tier: every database variant is installed, type-checked, and runs its own test suite
against a real PostgreSQL (one database per variant on the run's shared cluster)."""

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.matrix import DATABASE_VARIANTS, Variant
from tests.plugins.rendering import PACKAGE_NAME, run, variant_params
from tests.plugins.timing import Timed
from tests.reserved_names import reserved_names

pytestmark = [
    pytest.mark.full,
    pytest.mark.parametrize("variant", variant_params(DATABASE_VARIANTS)),
]


@pytest.fixture(scope="session")
def synced_projects() -> set[Path]:
    """Projects whose environment this process already created."""
    return set()


@pytest.fixture
def installed(project: Path, synced_projects: set[Path], timed: Timed) -> Path:
    """The variant with its environment created by `uv sync`, as a user would (once per process)."""
    if project not in synced_projects:
        with timed("uv sync"):
            run(["uv", "sync", "--quiet"], project)
        synced_projects.add(project)
    return project


def test_type_checks_with_mypy_strict(installed: Path, timed: Timed) -> None:
    with timed("mypy"):
        run(["uv", "run", "--no-sync", "mypy"], installed)


def test_passes_its_own_tests_against_postgresql(
    installed: Path, variant: Variant, create_database: Callable[[str], str], timed: Timed
) -> None:
    url = create_database(variant.database_name)
    command = ["uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider"]
    with timed("tests"):
        run(command, installed, env={"TEST_DATABASE_URL": url}, log=installed / "pytest.log")


def test_installs_no_module_the_package_name_validator_allows(installed: Path) -> None:
    # Every top-level module in the environment must be refused as a package_name by copier.yml.
    script = "import importlib.metadata as m; print('\\n'.join(m.packages_distributions()))"
    listed = run(["uv", "run", "--no-sync", "python", "-c", script], installed).stdout.split()
    modules = {name for name in listed if not name.startswith("_") and name != PACKAGE_NAME}
    assert modules - reserved_names()["dependencies"] == set()
