"""`copier update` never loses work: for every database variant, a project generated from the
previous release and edited by its team is updated to the release being worked on. No conflict
markers or .rej files appear, the team's edits are all still there, and the project passes its
pre-commit hooks (lint, format, type check) and tests against PostgreSQL."""

from collections.abc import Callable
from pathlib import Path

import copier
import pytest
import yaml

from hooks.merge_migration_heads import heads
from tests.matrix import DATABASE_VARIANTS, Variant
from tests.plugins.environments import Install, passes_its_checks
from tests.plugins.rendering import PACKAGE_NAME, variant_params
from tests.plugins.timing import Timed
from tests.plugins.versions import (
    TemplateRepository,
    add_team_migration,
    commit,
    generate,
)

pytestmark = [
    pytest.mark.full,
    pytest.mark.parametrize("variant", variant_params(DATABASE_VARIANTS)),
]

PACKAGE = Path("src") / PACKAGE_NAME
DOTENV = "DATABASE_URL=postgresql://team:secret@db.internal/app\n"

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


def edit_like_a_team(project: Path, variant: Variant) -> None:
    """A field on a sample model with its migration, a changed settings default, a route, a
    test of the team's own, and a .env file."""
    replace(
        project / PACKAGE / "apps" / "accounts" / "models.py",
        "    created_at: Mapped[datetime] = mapped_column(server_default=func.now())\n",
        "    created_at: Mapped[datetime] = mapped_column(server_default=func.now())\n"
        "    display_name: Mapped[str | None] = mapped_column(String(100))\n",
    )
    add_team_migration(project)
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


def conflicts(project: Path) -> list[str]:
    """Files with conflict markers, and .rej files, anywhere in the project."""
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        if path.suffix == ".rej":
            found.append(str(path))
            continue
        try:
            lines = path.read_text().splitlines()
        except UnicodeDecodeError:
            continue
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in lines):
            found.append(str(path))
    return found


def test_an_edited_project_updates_cleanly_and_passes_its_tests(
    variant: Variant,
    template_repository: TemplateRepository,
    tmp_path: Path,
    install: Install,
    create_database: Callable[[str], str],
    timed: Timed,
) -> None:
    project = tmp_path / "service"
    with timed("update"):
        generate(template_repository, project, variant.answers(), template_repository.baseline)
        edit_like_a_team(project, variant)
        commit(project, "The team's changes")

        copier.run_update(project, defaults=True, unsafe=True, overwrite=True, quiet=True)

    assert conflicts(project) == []
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == template_repository.current
    assert (project / ".env").read_text() == DOTENV
    assert "display_name" in (project / PACKAGE / "apps" / "accounts" / "models.py").read_text()
    assert "Field(7, ge=1)" in (project / PACKAGE / "settings.py").read_text()
    if variant.framework == "fastapi":
        assert '@router.get("/version")' in (project / PACKAGE / "health.py").read_text()
    # The team's migration and the template's new ones were joined into one head.
    assert len(heads(project / "migrations" / "versions")) == 1

    commit(project, "Update the template")
    url = create_database(f"{variant.database_name}_updated")
    passes_its_checks(install(project), url, timed)
