"""A team's project after `copier update`, once per variant per test process.

The project is generated from the previous release, edited the way a team would (a field on a
sample model with its migration, a changed settings default, a route, a test of its own, a `.env`
file), committed, and updated to the release being worked on. `tests/test_update.py` checks how
the update came out, including that the project is the fresh render of this release plus the
same edits, file for file; the full tier (`tests/test_full.py`) installs it and runs its hooks and
its own suite on it, once, for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import copier
import pytest

from hooks.merge_migration_heads import heads
from tests.matrix import Variant
from tests.plugins.environments import Install, Installed
from tests.plugins.rendering import PACKAGE_NAME
from tests.plugins.timing import Timed
from tests.plugins.versions import TemplateRepository, add_team_migration, commit, generate
from tests.trees import Tree, snapshot

PACKAGE = Path("src") / PACKAGE_NAME
VERSIONS = Path("migrations") / "versions"

# Not a URL: the service refuses it, so a test of the project's suite that read the project's
# `.env` would fail instead of passing on the team's value. The suite's one run on the updated
# project then also shows what its run on a fresh render (which has no `.env`) used to show.
DOTENV = "DATABASE_URL=the team's own database, which no test may read\n"

USER_ROUTE = '''

@router.get("/version")
async def version() -> dict[str, str]:
    """The team's own route."""
    return {"version": "1.0"}
'''

USER_TEST = f'''"""The team's own checks of its changes."""

from {PACKAGE_NAME}.apps.accounts.models import User
from {PACKAGE_NAME}.settings import Settings


def test_the_teams_changes_are_in_place() -> None:
    assert Settings.model_fields["db_connect_timeout"].default == 7
    assert "display_name" in User.__table__.columns
'''


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path} does not contain {old!r} exactly once"
    path.write_text(text.replace(old, new))


def edit_like_a_team(project: Path, variant: Variant, migration_parent: str | None = None) -> None:
    """A field on a sample model with its migration (revising `migration_parent`, by default the
    single head), a changed settings default, a route, a test of the team's own, a .env file."""
    replace(
        project / PACKAGE / "apps" / "accounts" / "models.py",
        "    created_at: Mapped[datetime] = mapped_column(server_default=func.now())\n",
        "    created_at: Mapped[datetime] = mapped_column(server_default=func.now())\n"
        "    display_name: Mapped[str | None] = mapped_column(String(100))\n",
    )
    add_team_migration(project, migration_parent)
    replace(
        project / PACKAGE / "settings.py",
        "db_connect_timeout: int = Field(5, ge=1)",
        "db_connect_timeout: int = Field(7, ge=1)",
    )
    if variant.framework == "fastapi":
        health = project / PACKAGE / "health.py"
        health.write_text(health.read_text() + USER_ROUTE)
    (project / "tests" / "test_team.py").write_text(USER_TEST)
    (project / ".env").write_text(DOTENV)


@dataclass(frozen=True)
class Updated:
    """A team's project, updated and committed."""

    path: Path
    #: Its files as the update left them, before anything was installed or run in it.
    files: Tree
    #: The migration the team's own revises: the previous release's head.
    migration_parent: str


class Updates:
    """Each variant's team project, generated, edited and updated once per test process."""

    def __init__(self, repository: TemplateRepository, root: Path) -> None:
        self._repository = repository
        self._root = root
        self._done: dict[Variant, Updated] = {}

    def __call__(self, variant: Variant) -> Updated:
        if variant not in self._done:
            project = self._root / variant.id
            generate(self._repository, project, variant.answers(), self._repository.baseline)
            (parent,) = heads(project / VERSIONS)
            edit_like_a_team(project, variant, parent)
            commit(project, "The team's changes")
            copier.run_update(project, defaults=True, unsafe=True, overwrite=True, quiet=True)
            files = snapshot(project)
            # Committed as the team would, before its hooks run (they check tracked files).
            commit(project, "Update the template")
            self._done[variant] = Updated(project, files, parent)
        return self._done[variant]


@pytest.fixture(scope="session")
def updates(
    template_repository: TemplateRepository, tmp_path_factory: pytest.TempPathFactory
) -> Updates:
    return Updates(template_repository, tmp_path_factory.mktemp("update"))


@pytest.fixture
def updated(variant: Variant, updates: Updates, timed: Timed) -> Updated:
    """The test's variant as a team's project, updated to this release (once per process)."""
    with timed("update"):
        return updates(variant)


@pytest.fixture
def installed_update(updated: Updated, install: Install) -> Installed:
    """The updated project, installed with `uv sync` into the environment for its dependencies."""
    return install(updated.path)
