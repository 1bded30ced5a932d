"""Negative controls: without its pooler flag, each driver that has one fails the rendered
project's concurrency workload through PgBouncer with a prepared-statement error; so does the
asyncpg recipe from SQLAlchemy's documentation (unique statement names), which the template
therefore does not use.

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
    """A change to a driver's pooler flag in db/_connect.py, and the error it must cause."""

    name: str
    variant: Variant
    flag: str  # the line as rendered
    replacement: str  # what takes its place ("" removes it)
    error: str  # a regular expression


# SQLAlchemy's asyncpg documentation suggests unique names for prepared statements behind PgBouncer.
UUID_NAMES = (
    '"statement_cache_size": 0,\n'
    '        "prepared_statement_name_func": '
    "lambda: f\"__asyncpg_{__import__('uuid').uuid4()}__\",\n"
)
# Another client's statement of the same name is there already, or it is missing, or it is
# another statement altogether (with the wrong number of parameters, if the workload is lucky).
PSYCOPG_ERROR = r'prepared statement "_pg3_\d+" (already exists|does not exist|requires \d+)'
CONTROLS = [
    Control(
        "psycopg 3, sync",
        Variant("fastapi", "sync", "psycopg", "pgbouncer", "uuid", rls=False),
        '"prepare_threshold": None,\n',
        "",
        PSYCOPG_ERROR,
    ),
    Control(
        "psycopg 3, async",
        Variant("none", "async", "psycopg", "pgbouncer", "bigint", rls=False),
        '"prepare_threshold": None,\n',
        "",
        PSYCOPG_ERROR,
    ),
    Control(
        "asyncpg",
        Variant("fastapi", "async", "asyncpg", "pgbouncer", "uuid", rls=False),
        '"statement_cache_size": 0,\n',
        "",
        r'prepared statement "__asyncpg_stmt_\d+__" (does not exist|already exists|requires \d+)',
    ),
    Control(
        "asyncpg with unique statement names",
        Variant("none", "async", "asyncpg", "pgbouncer", "uuid", rls=False),
        '"statement_cache_size": 0,\n',
        UUID_NAMES,
        r'prepared statement "__asyncpg_[0-9a-f-]{36}__" does not exist',
    ),
]


@pytest.mark.parametrize("variant", variant_params([control.variant for control in CONTROLS]))
def test_without_the_right_flag_the_driver_fails_behind_pgbouncer(
    installed: Installed,
    variant: Variant,
    create_database: Callable[[str], str],
    tmp_path: Path,
) -> None:
    control = next(control for control in CONTROLS if control.variant == variant)
    # A copy of the project with the flag changed, imported ahead of the installed one.
    project = tmp_path / "changed-flag"
    shutil.copytree(installed.path, project, ignore=shutil.ignore_patterns("__pycache__"))
    connect = project / "src" / PACKAGE_NAME / "db" / "_connect.py"
    source = connect.read_text()
    assert source.count(control.flag) == 1, f"{connect.name} no longer renders {control.flag}"
    connect.write_text(source.replace(control.flag, control.replacement))

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
        f"{control.name}: the workload passed; is the flag still needed?\n{output[-3000:]}"
    )
    assert re.search(control.error, output), output[-6000:]
