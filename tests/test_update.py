"""`copier update` never loses work: for every database variant, a project generated from the
previous release and edited by its team is updated to the release being worked on
(tests/plugins/updates.py). No conflict markers or .rej files appear, the migration heads are
joined into one, and the project that comes out is, file for file, a fresh render of this release
plus the team's edits.

That last check is what lets the full tier (tests/test_full.py) run the hooks and the suite once
per variant, on the updated project: what passes there passes for the fresh render too, with the
team's edits added (see docs/contributing/architecture.md, "One suite run per variant").
"""

import re
from pathlib import Path

import pytest
import yaml

from hooks.merge_migration_heads import MERGE, heads
from tests import trees
from tests.matrix import DATABASE_VARIANTS, Variant
from tests.plugins.rendering import Renders, variant_params
from tests.plugins.updates import VERSIONS, Updated, edit_like_a_team
from tests.plugins.versions import ANSWERS, TemplateRepository, without_provenance

pytestmark = [
    pytest.mark.full,
    pytest.mark.parametrize("variant", variant_params(DATABASE_VARIANTS)),
]

MERGE_NAME = re.compile(r"(\d{8})_([0-9a-f]{12})_merge_template_migrations\.py")


def conflicts(tree: trees.Tree) -> list[str]:
    """Files with conflict markers, and .rej files."""
    found = []
    for name, file in tree.items():
        if name.endswith(".rej"):
            found.append(name)
            continue
        try:
            lines = file.content.decode().splitlines()
        except UnicodeDecodeError:
            continue
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in lines):
            found.append(name)
    return found


def test_an_edited_project_updates_without_conflicts(updated: Updated) -> None:
    assert conflicts(updated.files) == []


def test_the_update_joins_the_migration_heads_into_one(updated: Updated) -> None:
    assert len(heads(updated.path / VERSIONS)) == 1


def merge_migration(expected: Path, updated: Updated) -> tuple[str, trees.File] | None:
    """The merge migration hooks/merge_migration_heads.py wrote, checked against what it writes
    for the heads of the fresh render plus the team's edits; None when there was one head."""
    joined = heads(expected / VERSIONS)
    written = [
        name
        for name in updated.files
        if name.startswith(f"{VERSIONS.as_posix()}/") and MERGE_NAME.search(name)
    ]
    if len(joined) < 2:
        assert written == [], "a merge migration for a single head"
        return None
    (name,) = written
    match = MERGE_NAME.search(name)
    assert match
    day, revision = match.groups()
    file = updated.files[name]
    date = re.search(r"^Create Date: (\S+ \S+)$", file.content.decode(), re.M)
    assert date
    assert date.group(1).startswith(f"{day[:4]}-{day[4:6]}-{day[6:]} ")
    text = MERGE.format(
        revision=revision, revises=", ".join(joined), date=date.group(1), down=tuple(joined)
    ).replace("'", '"')
    assert file.content.decode() == text
    return name, file


@pytest.mark.usefixtures("project")  # the fresh render, timed
def test_the_updated_project_is_the_fresh_render_plus_the_teams_edits(
    updated: Updated,
    rendered: Renders,
    variant: Variant,
    template_repository: TemplateRepository,
    tmp_path: Path,
) -> None:
    # This release rendered fresh (as the render tier and a new user get it), with the same
    # edits, byte for byte: the team's migration revises the previous release's head here too.
    expected = trees.write(rendered.files(variant), tmp_path / "expected")
    edit_like_a_team(expected, variant, updated.migration_parent)
    want = dict(trees.snapshot(expected))
    got = dict(updated.files)

    # What must differ, and nothing else:
    # 1. The answers file's provenance: the working tree against the throwaway repository's
    #    newest tag. Every other line is compared, and the update's values are checked.
    answers = yaml.safe_load(got[ANSWERS].content)
    assert answers["_commit"] == template_repository.current
    assert answers["_src_path"] == str(template_repository.path)
    assert without_provenance(got.pop(ANSWERS).content.decode()) == without_provenance(
        want.pop(ANSWERS).content.decode()
    )
    # 2. The migration the update writes when the release's new migrations and the team's own
    #    revise the same one: its revision id is random and its date is the update's. The rest
    #    of it is checked against the hook's text.
    merge = merge_migration(expected, updated)
    if merge is not None:
        got.pop(merge[0])
    # No other exclusion: `.git` is not in a snapshot (the update's project is a repository, a
    # fresh render is not), and both snapshots were taken before anything installed or ran the
    # projects, so neither has a `uv.lock` or `__pycache__` yet.
    differences = trees.differences(want, got)
    assert differences == [], "\n\n".join(differences)
