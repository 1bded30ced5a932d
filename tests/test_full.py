"""The full tier: every database variant is installed, type-checked, and runs its own test suite
against a real PostgreSQL (one database per variant on the run's shared cluster).

Variants with the same dependencies share one environment per test process. The first of them
resolves and locks with a plain `uv sync`, as a user would; the others sync from that lock
(`uv sync --locked`, which also proves the lock satisfies their pyproject.toml) instead of asking
the index again. `uv sync` still runs for every variant and leaves the environment exactly as the
lock describes, with that variant installed. mypy's incremental cache lives beside the
environment, so each variant re-checks its own code, not SQLAlchemy and FastAPI all over again.
"""

import hashlib
import json
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Installed:
    """A rendered project, and the environment variables that select its (shared) environment."""

    path: Path
    env: dict[str, str]

    def run(self, *command: str, **variables: str) -> str:
        """Run a command from the project's environment; return its output."""
        env = {**self.env, **variables}
        return run(["uv", "run", "--no-sync", *command], self.path, env=env).stdout


def dependency_key(project: Path) -> str:
    """Equal for projects that install the same dependencies."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    requirements = [pyproject["project"]["dependencies"], pyproject["dependency-groups"]]
    return hashlib.sha256(json.dumps(requirements).encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def environment_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("environments")


@pytest.fixture(scope="session")
def installed_projects() -> dict[str, Path]:
    """Which project each shared environment holds right now, by dependency key."""
    return {}


@pytest.fixture
def installed(
    project: Path, environment_root: Path, installed_projects: dict[str, Path], timed: Timed
) -> Installed:
    """The variant, installed with `uv sync` into the environment for its dependencies."""
    key = dependency_key(project)
    env = {
        "UV_PROJECT_ENVIRONMENT": str(environment_root / key),
        "MYPY_CACHE_DIR": str(environment_root / f"{key}.mypy_cache"),
    }
    lock = environment_root / f"{key}.lock"
    if installed_projects.get(key) != project:
        with timed("uv sync"):
            if lock.exists():
                shutil.copy(lock, project / "uv.lock")
                run(["uv", "sync", "--locked", "--quiet"], project, env=env)
            else:
                run(["uv", "sync", "--quiet"], project, env=env)
                shutil.copy(project / "uv.lock", lock)
        installed_projects[key] = project
    return Installed(project, env)


def test_type_checks_with_mypy_strict(installed: Installed, timed: Timed) -> None:
    with timed("mypy"):
        installed.run("mypy")


def test_passes_its_own_tests_against_postgresql(
    installed: Installed, variant: Variant, create_database: Callable[[str], str], timed: Timed
) -> None:
    url = create_database(variant.database_name)
    with timed("tests"):
        installed.run("pytest", "-q", "-p", "no:cacheprovider", TEST_DATABASE_URL=url)


def test_installs_no_module_the_package_name_validator_allows(installed: Installed) -> None:
    # Every top-level module in the environment must be refused as a package_name by copier.yml.
    script = "import importlib.metadata as m; print('\\n'.join(m.packages_distributions()))"
    listed = installed.run("python", "-c", script).split()
    # Names that are not identifiers (psycopg2-stubs) cannot be package names anyway.
    modules = {name for name in listed if name.isidentifier() and not name.startswith("_")}
    modules.discard(PACKAGE_NAME)
    assert modules - reserved_names()["dependencies"] == set()
