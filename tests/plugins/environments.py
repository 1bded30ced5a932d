"""Installing rendered projects: variants with the same dependencies share one environment per
test process.

The first of them resolves and locks with a plain `uv sync`, as a user would; the others sync from
that lock (`uv sync --locked`, which also proves the lock satisfies their pyproject.toml) instead of
asking the index again. `uv sync` still runs for every variant and leaves the environment exactly
as the lock describes, with that variant installed.

One mypy cache serves every environment of the process (one mypy runs at a time in it). mypy
reuses a module's cached result only if the module's contents, the modules it depends on and the
options are unchanged; a module found in another environment with the same contents (SQLAlchemy,
pydantic) counts as unchanged, and the cache replays the errors it recorded. So each variant
re-checks its own code and what its environment has that the previous ones lacked, not
SQLAlchemy and FastAPI all over again, whichever dependencies it has.
"""

import contextlib
import functools
import hashlib
import json
import re
import shutil
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.plugins.rendering import run
from tests.plugins.timing import Timed


@dataclass(frozen=True)
class Installed:
    """A rendered project, the environment variables that select its (shared) environment, and
    the folder of the caches the process's projects share."""

    path: Path
    env: dict[str, str]
    caches: Path

    @property
    def python(self) -> Path:
        return Path(self.env["UV_PROJECT_ENVIRONMENT"]) / "bin" / "python"

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


Install = Callable[[Path], Installed]


@pytest.fixture
def installed(project: Path, install: Install) -> Installed:
    """The variant, installed with `uv sync` into the environment for its dependencies."""
    return install(project)


@pytest.fixture
def install(environment_root: Path, installed_projects: dict[str, Path], timed: Timed) -> Install:
    """Install a rendered project into the shared environment for its dependencies."""
    return functools.partial(_install, environment_root, installed_projects, timed)


def _install(
    environment_root: Path, installed_projects: dict[str, Path], timed: Timed, project: Path
) -> Installed:
    key = dependency_key(project)
    env = {
        "UV_PROJECT_ENVIRONMENT": str(environment_root / key),
        "MYPY_CACHE_DIR": str(environment_root / "mypy_cache"),
    }
    lock = environment_root / f"{key}.lock"
    if installed_projects.get(key) != project:
        with timed("sync"):
            if lock.exists():
                shutil.copy(lock, project / "uv.lock")
                run(["uv", "sync", "--locked", "--quiet"], project, env=env)
            else:
                run(["uv", "sync", "--quiet"], project, env=env)
                shutil.copy(project / "uv.lock", lock)
        installed_projects[key] = project
    return Installed(project, env, environment_root)


#: The hooks every project's pre-commit configuration must have, and run, by id.
HOOKS = ("ruff-check", "ruff-format", "mypy")


def passes_its_hooks(installed: Installed, timed: Timed) -> None:
    """The project's pre-commit hooks (ruff check, ruff format, mypy --strict), offline from its
    environment, as the team runs them before committing. They run on the files git tracks: the
    project must be a repository with its changes committed. This is the full tier's only mypy
    run, so each of the three must be configured, and must have passed rather than skipped."""
    config = yaml.safe_load((installed.path / ".pre-commit-config.yaml").read_text())
    names = {hook["id"]: hook["name"] for repo in config["repos"] for hook in repo["hooks"]}
    assert set(HOOKS) <= names.keys(), (
        f"the project's pre-commit hooks lack {set(HOOKS) - names.keys()}"
    )
    with timed("hooks"):
        output = installed.run("pre-commit", "run", "--all-files", "--show-diff-on-failure")
    passed = re.findall(r"^(.+?)\.+Passed$", output, re.MULTILINE)
    assert {names[hook] for hook in HOOKS} <= set(passed), output


def passes_its_tests(installed: Installed, database_url: str | None, timed: Timed) -> int:
    """The project's own test suite against PostgreSQL, `pytest` as its team runs it (the `suite`
    column of the time table); records and returns how many tests ran. In the database at
    `database_url`, in one process; without one, as out of the box: a worker per core, each
    with throwaway clusters of its own."""
    database = {"TEST_DATABASE_URL": database_url} if database_url else {}
    with hypothesis_tables_shared(installed), timed("suite"):
        output = installed.run("pytest", "-q", "-p", "no:cacheprovider", **database)
    ran = tests_run(output)
    timed.count("tests", ran)
    return ran


@contextlib.contextmanager
def hypothesis_tables_shared(installed: Installed) -> Iterator[None]:
    """Give the project the tables of Unicode characters that Hypothesis (the API fuzzer's
    engine) built for an earlier project of this process, and keep any it builds. It builds them
    on first use, a second and a half of CPU, and stores them in the project's `.hypothesis`
    folder under Python's Unicode version; they depend on nothing else, so one project's serve
    all. Only that folder's `unicode_data` and the `.gitignore` Hypothesis writes beside it are
    shared: its example database and the constants it collects belong to one project."""
    shared, own = installed.caches / "hypothesis", installed.path / ".hypothesis"
    shared_files = [Path(".gitignore"), Path("unicode_data")]
    for name in shared_files:
        _copy(shared / name, own / name)
    yield
    for name in shared_files:
        _copy(own / name, shared / name)


def _copy(source: Path, target: Path) -> None:
    """Copy a file or a folder's contents onto `target`, if `source` exists."""
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    elif source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)


def tests_run(output: str) -> int:
    """How many tests ran (passed, skipped, xfailed, xpassed), from pytest's summary line."""
    summary = output.strip().splitlines()[-1]
    counts = re.findall(r"(\d+) (passed|skipped|xfailed|xpassed)\b", summary)
    assert counts, f"no test counts in pytest's summary line: {summary!r}"
    return sum(int(number) for number, _ in counts)


def passes_its_checks(installed: Installed, database_url: str, timed: Timed) -> None:
    """Its hooks, then its tests against PostgreSQL."""
    passes_its_hooks(installed, timed)
    passes_its_tests(installed, database_url, timed)
