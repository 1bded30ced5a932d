"""Negative controls: through a PgBouncer that does not track prepared statements
(max_prepared_statements = 0, as releases before 1.24 have it by default), each driver that has
a pooler flag fails the rendered project's concurrency workload with a prepared-statement error
when it prepares statements (DB_PREPARED_STATEMENTS=true, which drops the flag); so does the
asyncpg recipe from SQLAlchemy's documentation (unique statement names), which the template
therefore does not use. The rendered projects' own tests run the same workload with prepared
statements through a PgBouncer that tracks them, and must lose nothing.

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
    """A driver's pooler flag dropped, or changed in db/_connect.py, and the error it must cause."""

    name: str
    variant: Variant
    error: str  # a regular expression
    # The flag's line as rendered, and what takes its place; none: DB_PREPARED_STATEMENTS=true.
    flag: str = ""
    replacement: str = ""


# SQLAlchemy's asyncpg documentation suggests unique names for prepared statements behind PgBouncer.
ASYNCPG_FLAG = '        args["statement_cache_size"] = 0\n'
UUID_NAMES = ASYNCPG_FLAG + (
    '        args["prepared_statement_name_func"] = '
    "lambda: f\"__asyncpg_{__import__('uuid').uuid4()}__\"\n"
)
# Another client's statement of the same name is there already, or it is missing, or it is
# another statement altogether (with the wrong number of parameters, if the workload is lucky).
PSYCOPG_ERROR = r'prepared statement "_pg3_\d+" (already exists|does not exist|requires \d+)'
CONTROLS = [
    Control(
        "psycopg 3, sync",
        Variant("fastapi", "sync", "psycopg", "pgbouncer", "uuid", rls=False),
        PSYCOPG_ERROR,
    ),
    Control(
        "psycopg 3, async",
        Variant("none", "async", "psycopg", "pgbouncer", "bigint", rls=False),
        PSYCOPG_ERROR,
    ),
    Control(
        "asyncpg",
        Variant("fastapi", "async", "asyncpg", "pgbouncer", "uuid", rls=False),
        # asyncpg numbers its statements in hexadecimal.
        r'prepared statement "__asyncpg_stmt_[0-9a-f]+__" '
        r"(does not exist|already exists|requires \d+)",
    ),
    Control(
        "asyncpg with unique statement names",
        Variant("none", "async", "asyncpg", "pgbouncer", "uuid", rls=False),
        r'prepared statement "__asyncpg_[0-9a-f-]{36}__" does not exist',
        ASYNCPG_FLAG,
        UUID_NAMES,
    ),
]
# The tests' PgBouncer configuration line that lets it track prepared statements, as rendered.
TRACKING = "max_prepared_statements = 200\\n"


def change(path: Path, line: str, replacement: str) -> None:
    source = path.read_text()
    assert source.count(line) == 1, f"{path.name} no longer renders {line!r}"
    path.write_text(source.replace(line, replacement))


@pytest.mark.parametrize("variant", variant_params([control.variant for control in CONTROLS]))
def test_preparing_statements_fails_through_a_pgbouncer_that_does_not_track_them(
    installed: Installed,
    variant: Variant,
    create_database: Callable[[str], str],
    tmp_path: Path,
) -> None:
    control = next(control for control in CONTROLS if control.variant == variant)
    # A copy of the project, imported ahead of the installed one, whose tests' PgBouncer does not
    # track prepared statements.
    project = tmp_path / "changed-flag"
    shutil.copytree(installed.path, project, ignore=shutil.ignore_patterns("__pycache__"))
    change(project / "tests" / "plugins" / "pgbouncer.py", TRACKING, TRACKING.replace("200", "0"))
    env = {
        **tool_environment(),
        **installed.env,
        "TEST_DATABASE_URL": create_database(f"{variant.database_name}_control"),
        "PYTHONPATH": str(project / "src"),
    }
    if control.flag:
        change(
            project / "src" / PACKAGE_NAME / "db" / "_connect.py", control.flag, control.replacement
        )
    else:
        env["DB_PREPARED_STATEMENTS"] = "true"

    command = ["uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", "-x"]
    command += ["tests/test_pooler.py", "-k", "lose_nothing and client-pool"]
    result = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, (
        f"{control.name}: the workload passed; is the flag still needed?\n{output[-3000:]}"
    )
    assert re.search(control.error, output), output[-6000:]
