"""Negative controls: without its pooler flag, each driver that has one fails the rendered
project's concurrency workload through PgBouncer with the prepared-statement error.

This proves that the workload can fail, and records why each flag exists. Should a release of a
driver or of PgBouncer make a flag unnecessary, its control fails and says so. docs/pooling.md
quotes these errors; tests/test_docs.py checks that it quotes them as measured here.
"""

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.matrix import Variant
from tests.plugins.environments import Installed
from tests.plugins.rendering import PACKAGE_NAME, tool_environment, variant_params

pytestmark = pytest.mark.full


@dataclass(frozen=True)
class Control:
    """A driver's pooler flag, as db/_connect.py renders it, and the error without it."""

    variant: Variant
    flag: str
    error: str  # a regular expression


PSYCOPG_ERROR = r'DuplicatePreparedStatement\) prepared statement "_pg3_\d+" already exists'
CONTROLS = [
    Control(
        Variant("fastapi", "sync", "psycopg", "pgbouncer", "uuid", rls=False),
        '"prepare_threshold": None,',
        PSYCOPG_ERROR,
    ),
    Control(
        Variant("none", "async", "psycopg", "pgbouncer", "bigint", rls=False),
        '"prepare_threshold": None,',
        PSYCOPG_ERROR,
    ),
    Control(
        Variant("fastapi", "async", "asyncpg", "pgbouncer", "uuid", rls=False),
        '"statement_cache_size": 0,',
        r'prepared statement "__asyncpg_stmt_\w+__" (does not exist|already exists)',
    ),
]


@pytest.mark.parametrize("variant", variant_params([control.variant for control in CONTROLS]))
def test_without_its_flag_the_driver_fails_behind_pgbouncer(
    installed: Installed,
    variant: Variant,
    create_database: Callable[[str], str],
    tmp_path: Path,
) -> None:
    control = next(control for control in CONTROLS if control.variant == variant)
    # A copy of the project whose engine lacks the flag, imported ahead of the installed one.
    project = tmp_path / "without-flag"
    shutil.copytree(installed.path, project, ignore=shutil.ignore_patterns("__pycache__"))
    connect = project / "src" / PACKAGE_NAME / "db" / "_connect.py"
    source = connect.read_text()
    assert control.flag in source, f"{connect.name} no longer renders {control.flag}"
    connect.write_text(
        "".join(line for line in source.splitlines(True) if control.flag not in line)
    )

    command = ["uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", "-x"]
    command += ["tests/test_pooler.py", "-k", "lose_nothing"]
    env = {
        **tool_environment(),
        **installed.env,
        "TEST_DATABASE_URL": create_database(f"{variant.database_name}_control"),
        "PYTHONPATH": str(project / "src"),
    }
    result = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, (
        f"the workload passed without {control.flag}: is the flag still needed?\n{output[-3000:]}"
    )
    assert re.search(control.error, output), output[-6000:]
