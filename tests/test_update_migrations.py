"""The template's `_migrations`: what `copier update` runs besides re-rendering.

Copying runs no template code (so it needs no --trust); every update runs the migration that keeps
the project's Alembic history loadable (hooks/merge_migration_heads.py). These tests run it the
way users do, through Copier, across the release that ships new template migrations, and also
call its parts directly on hand-made histories.
"""

from pathlib import Path

import copier
import pytest
from copier.errors import TaskError, UnsafeTemplateError

from hooks.merge_migration_heads import gaps, heads, merge, migrations
from tests.plugins.versions import TemplateRepository, add_team_migration, commit, generate

pytestmark = pytest.mark.render

ANSWERS = {"framework": "fastapi", "concurrency": "sync", "driver": "psycopg", "pooling": "app"}
INDEX_MIGRATION = "migrations/versions/20261123_5d1e7a0c4b93_index_published_posts.py"


def write_migration(versions: Path, revision: str, down: str | tuple[str, ...] | None) -> None:
    (versions / f"{revision}.py").write_text(
        f"revision: str = {revision!r}\ndown_revision: str | None = {down!r}\n"
    )


def test_an_update_across_new_template_migrations_joins_them_to_the_teams_own(
    template_repository: TemplateRepository, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "service"
    generate(template_repository, project, ANSWERS, template_repository.baseline)
    versions = project / "migrations" / "versions"
    team = add_team_migration(project)
    commit(project, "The team's migration")

    copier.run_update(project, defaults=True, unsafe=True, overwrite=True, quiet=True)

    # The release's index migration and the team's migration both revise the initial one.
    (merged,) = set(migrations(versions)) - {"3f0c0e5b1d2a", "5d1e7a0c4b93", "7e57ed17c0de"}
    path, down = migrations(versions)[merged]
    assert sorted(down) == ["5d1e7a0c4b93", "7e57ed17c0de"]
    assert heads(versions) == [merged]
    assert f"wrote {path.relative_to(project)} to merge them" in capfd.readouterr().out
    assert team.exists()


def test_updating_runs_template_code_so_it_needs_trust(
    template_repository: TemplateRepository, tmp_path: Path
) -> None:
    project = tmp_path / "service"
    generate(template_repository, project, ANSWERS, template_repository.baseline)

    with pytest.raises(UnsafeTemplateError, match="migrations"):
        copier.run_update(project, defaults=True, overwrite=True, quiet=True)


def test_an_update_that_deletes_a_migration_the_team_builds_on_names_the_gap(
    template_repository: TemplateRepository, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "service"
    generate(template_repository, project, ANSWERS, template_repository.current)
    team = add_team_migration(project)
    written = team.read_text()
    commit(project, "The team's migration, on top of the sample apps' index migration")

    with pytest.raises(TaskError):
        copier.run_update(
            project,
            data={"sample_apps": False},
            defaults=True,
            unsafe=True,
            overwrite=True,
            quiet=True,
        )

    error = capfd.readouterr().err
    assert (
        f"migrations/versions/{team.name} revises 5d1e7a0c4b93, "
        f"but this update deleted {INDEX_MIGRATION}." in error
    )
    assert f"`git checkout HEAD -- {INDEX_MIGRATION}` restores it" in error
    # Nothing is lost: the team's migration is untouched, the deleted one is still committed.
    assert team.read_text() == written
    assert not (project / INDEX_MIGRATION).exists()


def test_merge_joins_every_head_and_leaves_a_single_head_alone(tmp_path: Path) -> None:
    write_migration(tmp_path, "base", None)
    write_migration(tmp_path, "template", "base")
    assert merge(tmp_path) is None

    write_migration(tmp_path, "team", "base")
    write_migration(tmp_path, "other_root", None)  # a second base: RLS switched on, no samples
    path = merge(tmp_path)

    assert path is not None
    revision, (_, down) = next((r, m) for r, m in migrations(tmp_path).items() if m[0] == path)
    assert sorted(down) == ["other_root", "team", "template"]
    assert heads(tmp_path) == [revision]
    assert merge(tmp_path) is None


def test_gaps_name_each_migration_whose_parent_is_missing(tmp_path: Path) -> None:
    write_migration(tmp_path, "base", None)
    write_migration(tmp_path, "team", ("base", "deleted"))
    (tmp_path / "notes.py").write_text("not a migration = (\n")  # neither parsed nor fatal

    assert gaps(tmp_path) == [(tmp_path / "team.py", "deleted")]
