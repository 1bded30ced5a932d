"""Copier migration, after every `copier update`: keep the project's Alembic history loadable.

A template version can ship migrations (say, Row-Level Security switched on later) that revise
the template's earlier head, while the project has added migrations of its own on top of that
same head. Alembic then has two heads and `migrate` refuses to choose. This writes the merge
migration that `alembic merge heads` would write, so the project keeps a single head.

An update can also delete migrations the project's own still revise (`--data
sample_apps=false` removes the sample apps' migrations). Alembic cannot load a history with
such a gap, and only the team can decide how to close it, so this names each gap and fails
the update; its changes stay in the working tree for review.

Plain Python on purpose: Copier runs it with its own interpreter, where Alembic is not installed.
"""

from __future__ import annotations

import ast
import datetime
import subprocess
import sys
import uuid
from pathlib import Path

VERSIONS = Path("migrations") / "versions"


def _revisions(source: str) -> tuple[str, tuple[str, ...]] | None:
    """(revision, down revisions) of a migration's source, or None for any other module."""
    values: dict[str, object] = {}
    try:
        body = ast.parse(source).body
    except SyntaxError:  # not Python: Alembic reports it better when it loads the file
        return None
    for node in body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    try:
                        values[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        continue
    revision, down = values.get("revision"), values.get("down_revision")
    if not isinstance(revision, str):
        return None
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list):
        return revision, tuple(down)
    return revision, ()


def migrations(versions: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Each revision with its file and the revisions it revises."""
    found = {}
    for path in sorted(versions.glob("*.py")):
        parsed = _revisions(path.read_text(encoding="utf-8"))
        if parsed is not None:
            revision, down = parsed
            found[revision] = (path, down)
    return found


def heads(versions: Path) -> list[str]:
    """The revisions no other migration revises, in a stable order."""
    graph = migrations(versions)
    revised = {parent for _, parents in graph.values() for parent in parents}
    return sorted(set(graph) - revised)


def gaps(versions: Path) -> list[tuple[Path, str]]:
    """(migration, the revision it revises) wherever no file defines that revision."""
    graph = migrations(versions)
    return [
        (path, parent)
        for path, parents in graph.values()
        for parent in parents
        if parent not in graph
    ]


MERGE = '''"""Merge the template's migrations with this project's own.

Written by the template's update migration (hooks/merge_migration_heads.py), as
`alembic merge heads` would.

Revision ID: {revision}
Revises: {revises}
Create Date: {date}
"""

from collections.abc import Sequence

revision: str = "{revision}"
down_revision: str | Sequence[str] | None = {down!r}
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


def merge(versions: Path) -> Path | None:
    """Write a merge migration when there are several heads; return its path."""
    found = heads(versions)
    if len(found) < 2:
        return None
    revision = uuid.uuid4().hex[:12]
    now = datetime.datetime.now(datetime.UTC)
    path = versions / f"{now:%Y%m%d}_{revision}_merge_template_migrations.py"
    text = MERGE.format(
        revision=revision,
        revises=", ".join(found),
        date=f"{now:%Y-%m-%d %H:%M:%S}",
        down=tuple(found),
    )
    path.write_text(text.replace("'", '"'), encoding="utf-8")
    return path


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout


def _deleted_by_update(versions: Path, revision: str) -> str | None:
    """The committed migration file that defined `revision` and is gone from the working tree:
    the update deleted it (Copier updates only a project whose changes are all committed)."""
    for name in _git("ls-tree", "--name-only", "HEAD", f"{versions}/").splitlines():
        if name.endswith(".py") and not Path(name).exists():
            parsed = _revisions(_git("show", f"HEAD:./{name}"))
            if parsed is not None and parsed[0] == revision:
                return name
    return None


def explain(gap: tuple[Path, str], versions: Path) -> str:
    path, parent = gap
    deleted = _deleted_by_update(versions, parent)
    where = f"this update deleted {deleted}" if deleted else f"no file in {versions} defines it"
    restore = f"`git checkout HEAD -- {deleted}` restores it; " if deleted else ""
    return (
        f"{path} revises {parent}, but {where}. Alembic cannot load a history with a gap: "
        f"{restore}then write a migration that drops what it created, or point "
        f"down_revision at a revision that stays."
    )


def main() -> int:
    if not VERSIONS.is_dir():
        return 0
    found = gaps(VERSIONS)
    if found:
        for gap in found:
            print(explain(gap, VERSIONS), file=sys.stderr)
        print(
            "The update's changes are in the working tree: review them with `git status`.",
            file=sys.stderr,
        )
        return 1
    path = merge(VERSIONS)
    if path is not None:
        print(f"Several migration heads after the update: wrote {path} to merge them.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
