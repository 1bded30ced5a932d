"""Switching a feature on an existing project with `copier update --data ...`: the project that
comes out is, file for file, the fresh render of its new answers, and it passes its pre-commit
hooks and tests.

Where the new answers are a database variant, the full tier already runs that variant's hooks and
suite (tests/test_full.py), on a project tests/test_update.py proves to be its fresh render plus a
team's edits: the equality proven here makes that run this project's evidence too, so the checks
are not run twice (docs/contributing/architecture.md, "One suite run per variant"). Switches that
end on answers no other test runs (sample apps off, read replicas on) run the checks here.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from tests import trees
from tests.matrix import DATABASE_VARIANTS, FEATURE_DEFAULTS, Variant
from tests.plugins.environments import Install, passes_its_checks
from tests.plugins.rendering import Renders
from tests.plugins.timing import Timed
from tests.plugins.versions import (
    ANSWERS,
    TemplateRepository,
    commit,
    generate,
    without_provenance,
)

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


def switched_variant(name: str) -> Variant:
    """The variant whose answers the project has after the switches."""
    start, switches = SWITCHES[name]
    answers = {**start}
    for switch in switches:
        answers.update(switch)
    features = {answer: answers.pop(answer, value) for answer, value in FEATURE_DEFAULTS.items()}
    return Variant(**answers, features=tuple(features.items()))


def cases(names: list[str]) -> list[Any]:
    # A switch's tests share an xdist worker, and so its project (Switched).
    return [pytest.param(name, id=name, marks=pytest.mark.xdist_group(name)) for name in names]


ALL = list(SWITCHES)
OUTSIDE_THE_MATRIX = [name for name in SWITCHES if switched_variant(name) not in DATABASE_VARIANTS]


class Switched:
    """Each switch's project, made once per test process, with a snapshot of the files Copier
    left in it."""

    def __init__(self, repository: TemplateRepository, root: Path) -> None:
        self._repository = repository
        self._root = root
        self._done: dict[str, tuple[Path, trees.Tree]] = {}

    def __call__(self, name: str, timed: Timed) -> tuple[Path, trees.Tree]:
        if name not in self._done:
            self._done[name] = self._switch(name, timed)
        return self._done[name]

    def _switch(self, name: str, timed: Timed) -> tuple[Path, trees.Tree]:
        start, switches = SWITCHES[name]
        project = self._root / name / "service"
        generate(self._repository, project, Variant(**start).answers(), self._repository.current)
        for switch in switches:
            with timed("update"):
                copier.run_update(
                    project, data=switch, defaults=True, unsafe=True, overwrite=True, quiet=True
                )
            recorded = yaml.safe_load((project / ANSWERS).read_text())
            assert {answer: recorded[answer] for answer in switch} == switch
            commit(project, f"Switch {switch}")
        return project, trees.snapshot(project)


@pytest.fixture(scope="session")
def switched(
    template_repository: TemplateRepository, tmp_path_factory: pytest.TempPathFactory
) -> Switched:
    return Switched(template_repository, tmp_path_factory.mktemp("switch"))


@pytest.mark.parametrize("name", cases(ALL))
def test_switching_a_feature_gives_the_fresh_render_of_the_new_answers(
    name: str, switched: Switched, rendered: Renders, timed: Timed
) -> None:
    got = dict(switched(name, timed)[1])
    want = dict(rendered.files(switched_variant(name)))
    # Only the answers file's provenance may differ: the throwaway repository's newest tag
    # against the working tree the fresh render comes from.
    assert without_provenance(got.pop(ANSWERS).content.decode()) == without_provenance(
        want.pop(ANSWERS).content.decode()
    )
    differences = trees.differences(want, got)
    assert differences == [], "\n\n".join(differences)


@pytest.mark.parametrize("name", cases(OUTSIDE_THE_MATRIX))
def test_switching_a_feature_outside_the_matrix_gives_a_working_project(
    name: str,
    switched: Switched,
    install: Install,
    create_database: Callable[[str], str],
    timed: Timed,
) -> None:
    project, _ = switched(name, timed)
    url = create_database(f"switch_{name.replace('-', '_')}")
    passes_its_checks(install(project), url, timed)
