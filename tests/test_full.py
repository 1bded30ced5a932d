"""The full tier: every database variant is installed, passes its pre-commit hooks (ruff check,
ruff format, mypy --strict) and its own test suite against a real PostgreSQL (one database per
variant on the run's shared cluster; the default variant's suite starts clusters of its own, on
a worker per core, as it does out of the box).

Each runs once per variant, on the project a team gets from `copier update`: generated from the
previous release, edited, and updated to this one (tests/plugins/updates.py). tests/test_update.py
proves that project is the fresh render of this release plus the team's edits, file for file, so
a pass here is a pass for what `copier copy` gives too: the edits only add code (a column and its
migration, a route, a test) or change a value nothing else relies on, and the team's `.env` is
one the service refuses, so no test can lean on it (docs/contributing/architecture.md, "One suite
run per variant").
"""

from collections.abc import Callable

import pytest

from tests.matrix import DATABASE_VARIANTS, DEFAULT_VARIANT, Variant
from tests.plugins.environments import Installed, passes_its_hooks, passes_its_tests
from tests.plugins.rendering import PACKAGE_NAME, variant_params
from tests.plugins.timing import Timed
from tests.reserved_names import reserved_names

pytestmark = [
    pytest.mark.full,
    pytest.mark.parametrize("variant", variant_params(DATABASE_VARIANTS)),
]


def test_passes_its_pre_commit_hooks_ruff_and_mypy_strict(
    installed_update: Installed, timed: Timed
) -> None:
    passes_its_hooks(installed_update, timed)


def test_passes_its_own_tests_against_postgresql(
    installed_update: Installed,
    variant: Variant,
    create_database: Callable[[str], str],
    timed: Timed,
) -> None:
    # The default variant's suite runs as a team's first `uv run pytest` does, on a worker per
    # core with clusters of their own; the others in a database of the run's shared cluster, in
    # one process each, since the run already keeps every core busy with variants.
    url = None if variant == DEFAULT_VARIANT else create_database(variant.database_name)
    passes_its_tests(installed_update, url, timed)


def test_installs_no_module_the_package_name_validator_allows(installed_update: Installed) -> None:
    # Every top-level module in the environment must be refused as a package_name by copier.yml.
    script = "import importlib.metadata as m; print('\\n'.join(m.packages_distributions()))"
    listed = installed_update.run("python", "-c", script).split()
    # Names that are not identifiers (psycopg2-stubs) cannot be package names anyway.
    modules = {name for name in listed if name.isidentifier() and not name.startswith("_")}
    modules.discard(PACKAGE_NAME)
    reserved = reserved_names()
    assert modules - reserved["dependencies"] - reserved["project"] == set()
