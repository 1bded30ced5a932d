"""Template versions for the update tests: a throwaway git repository of this template, with an
earlier release tagged at the commit it was released from and the working tree (uncommitted
changes included) committed on top and tagged as the release being worked on.

Copier updates a project from the version its answers file records to the newest tag, so the
tests run `copier update` exactly as users do.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest

from hooks.merge_migration_heads import heads
from tests.plugins.rendering import TEMPLATE_ROOT

#: The earlier release the update tests start from, and the commit it was released from.
BASELINE = ("0.1.0", "e891f96b2cd3b202316dc1f2086f6241b0de8f36")

#: Commits in the throwaway repositories carry this identity, whatever git is configured with.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


#: Copier's record of a project's answers, and the lines of it that say where the template came
#: from and its version: the working tree for a fresh render, the throwaway repository's newest
#: tag for a project generated or updated from it.
ANSWERS = ".copier-answers.yml"
PROVENANCE = ("_commit", "_src_path")


def without_provenance(text: str) -> list[str]:
    """An answers file's lines, but for its provenance."""
    return [line for line in text.splitlines() if not line.startswith(PROVENANCE)]


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with the tests' identity; fail the test with git's output if it fails."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(cwd), **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"`git {' '.join(args)}` failed in {cwd}:\n{result.stdout}{result.stderr}")
    return result.stdout


def current_version() -> str:
    """The release being worked on: the newest heading of CHANGELOG.md."""
    changelog = (TEMPLATE_ROOT / "CHANGELOG.md").read_text()
    match = re.search(r"^## (\S+)", changelog, re.MULTILINE)
    assert match, "CHANGELOG.md has no release heading"
    return match.group(1)


@dataclass(frozen=True)
class TemplateRepository:
    path: Path
    baseline: str
    current: str


@pytest.fixture(scope="session")
def template_repository(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepository:
    baseline, commit = BASELINE
    if subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=TEMPLATE_ROOT, check=False
    ).returncode:
        pytest.fail(f"commit {commit} (release {baseline}) is missing: clone with full history")
    path = tmp_path_factory.mktemp("template-repository")
    git(path, "clone", "--quiet", "--no-checkout", str(TEMPLATE_ROOT), ".")
    # --force: a clone of a repository that has its releases tagged brings those tags along.
    git(path, "tag", "--force", baseline, commit)
    listed = git(TEMPLATE_ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = TEMPLATE_ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is gone from the release
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, path / name)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--allow-empty", "-m", "The working tree, as the next release")
    git(path, "tag", "--force", current_version())
    # Copier clones this repository for every copy and update (an update clones it several
    # times) and deletes each clone after. One pack instead of the hundreds of loose objects a
    # local clone inherits saves a few seconds per update.
    git(path, "repack", "-a", "-d", "-q")
    git(path, "prune-packed")
    return TemplateRepository(path, baseline, current_version())


def generate(
    repository: TemplateRepository, project: Path, answers: Mapping[str, Any], version: str
) -> None:
    """`copier copy` of a release into a new git repository, committed as a team would."""
    copier.run_copy(
        str(repository.path),
        project,
        data=dict(answers),
        defaults=True,
        unsafe=False,  # as for users: generating needs no --trust, updating does
        vcs_ref=version,
        quiet=True,
    )
    git(project, "init", "--quiet")
    commit(project, "Generated")


def commit(project: Path, message: str) -> None:
    """Commit everything git does not ignore (a `.env` file stays out, as in a real project)."""
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--allow-empty", "-m", message)


TEAM_MIGRATION = '''"""Add users.display_name.

Revision ID: 7e57ed17c0de
Revises: {head}
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e57ed17c0de"
down_revision: str | Sequence[str] | None = "{head}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("display_name", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "display_name")
'''


def add_team_migration(project: Path, parent: str | None = None) -> Path:
    """The team's own migration (users.display_name), revising `parent`: by default the
    project's single head."""
    versions = project / "migrations" / "versions"
    if parent is None:
        (parent,) = heads(versions)
    migration = versions / "20261124_7e57ed17c0de_display_name.py"
    migration.write_text(TEAM_MIGRATION.format(head=parent))
    return migration
