"""Switching a feature on an existing project with `copier update --data ...`: the project that
comes out passes its pre-commit hooks and tests, as a freshly generated one would."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from tests.matrix import Variant
from tests.plugins.environments import Install, passes_its_checks
from tests.plugins.timing import Timed
from tests.plugins.versions import TemplateRepository, commit, generate

pytestmark = pytest.mark.full

SYNC = {"framework": "fastapi", "concurrency": "sync", "driver": "psycopg", "primary_key": "uuid"}
ASYNC = {"framework": "fastapi", "concurrency": "async", "driver": "asyncpg", "primary_key": "uuid"}

# (answers the project starts with, the answers switched one update after another)
SWITCHES = {
    "rls-on": ({**SYNC, "pooling": "pgbouncer", "rls": False}, [{"rls": True}]),
    "app-pool-and-back": (
        {**ASYNC, "pooling": "pgbouncer", "rls": True},
        [{"pooling": "app"}, {"pooling": "pgbouncer"}],
    ),
    "sample-apps-off": ({**ASYNC, "pooling": "app", "rls": False}, [{"sample_apps": False}]),
    "fastapi-on": (
        {**SYNC, "framework": "none", "pooling": "app", "rls": True},
        [{"framework": "fastapi"}],
    ),
    # Read replicas, with a sync and an async driver, with and without RLS and a pooler.
    "replicas-on-sync": ({**SYNC, "pooling": "app", "rls": True}, [{"replicas": True}]),
    "replicas-on-async": ({**ASYNC, "pooling": "pgbouncer", "rls": False}, [{"replicas": True}]),
}


@pytest.mark.parametrize(
    ("start", "switches"),
    [
        pytest.param(*case, id=name, marks=pytest.mark.xdist_group(name))
        for name, case in SWITCHES.items()
    ],
)
def test_switching_a_feature_gives_a_working_project(
    start: dict[str, Any],
    switches: list[dict[str, Any]],
    template_repository: TemplateRepository,
    tmp_path: Path,
    install: Install,
    create_database: Callable[[str], str],
    timed: Timed,
    request: pytest.FixtureRequest,
) -> None:
    project = tmp_path / "service"
    answers = Variant(**start).answers()
    generate(template_repository, project, answers, template_repository.current)
    for switch in switches:
        with timed("update"):
            copier.run_update(
                project, data=switch, defaults=True, unsafe=True, overwrite=True, quiet=True
            )
        recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
        assert {name: recorded[name] for name in switch} == switch
        commit(project, f"Switch {switch}")

    url = create_database(f"switch_{request.node.callspec.id.replace('-', '_')}")
    passes_its_checks(install(project), url, timed)
