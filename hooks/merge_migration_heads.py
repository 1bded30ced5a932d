"""Copier task: after an update, join the template's new migrations to the project's own.

A template version can ship migrations (say, Row-Level Security switched on later) that revise
the template's earlier head, while the project has added migrations of its own on top of that
same head. Alembic then has two heads and `migrate` refuses to choose. This task writes the
merge migration that `alembic merge heads` would write, so the project keeps a single head.
It runs after `copier copy` too, where there is one head and it does nothing.

Plain Python on purpose: Copier runs it with its own interpreter, where Alembic is not installed.
"""

from __future__ import annotations

import ast
import datetime
import sys
import uuid
from pathlib import Path

VERSIONS = Path("migrations") / "versions"


def _revisions(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """(revision, down revisions) of a migration file, or None for any other file."""
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
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


def heads(versions: Path) -> list[str]:
    """The revisions no other migration revises, in a stable order."""
    graph = dict(filter(None, (_revisions(path) for path in sorted(versions.glob("*.py")))))
    revised = {parent for parents in graph.values() for parent in parents}
    return sorted(set(graph) - revised)


MERGE = '''"""Merge the template's migrations with this project's own.

Written by the template's update task (hooks/merge_migration_heads.py), as
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


def main() -> int:
    if not VERSIONS.is_dir():
        return 0
    path = merge(VERSIONS)
    if path is not None:
        print(f"Several migration heads after the update: wrote {path} to merge them.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
