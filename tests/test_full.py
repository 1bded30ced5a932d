"""The full tier: every database variant is installed, type-checked, and runs its own test suite
against a real PostgreSQL (one database per variant on the run's shared cluster)."""

from collections.abc import Callable

import pytest

from tests.matrix import DATABASE_VARIANTS, Variant
from tests.plugins.environments import Installed, passes_its_tests
from tests.plugins.rendering import PACKAGE_NAME, variant_params
from tests.plugins.timing import Timed
from tests.reserved_names import reserved_names

pytestmark = [
    pytest.mark.full,
    pytest.mark.parametrize("variant", variant_params(DATABASE_VARIANTS)),
]


def test_type_checks_with_mypy_strict(installed: Installed, timed: Timed) -> None:
    with timed("mypy"):
        installed.run("mypy")


def test_passes_its_own_tests_against_postgresql(
    installed: Installed, variant: Variant, create_database: Callable[[str], str], timed: Timed
) -> None:
    url = create_database(variant.database_name)
    passes_its_tests(installed, url, timed)


def test_installs_no_module_the_package_name_validator_allows(installed: Installed) -> None:
    # Every top-level module in the environment must be refused as a package_name by copier.yml.
    script = "import importlib.metadata as m; print('\\n'.join(m.packages_distributions()))"
    listed = installed.run("python", "-c", script).split()
    # Names that are not identifiers (psycopg2-stubs) cannot be package names anyway.
    modules = {name for name in listed if name.isidentifier() and not name.startswith("_")}
    modules.discard(PACKAGE_NAME)
    reserved = reserved_names()
    assert modules - reserved["dependencies"] - reserved["project"] == set()
