"""The generated README reads as written by hand, whatever the answers: its command blocks keep
their comments in one column for any package name, and its prose has no words run together."""

import re
from pathlib import Path

import pytest

from tests.matrix import DATABASE_VARIANTS, FEATURE_VARIANTS
from tests.plugins.rendering import render, variant_params

pytestmark = pytest.mark.render

# The shortest package name there is, and a long one (package names have no length limit).
PACKAGE_NAMES = ["a", "a_package_name_longer_than_any_command_in_the_readme"]
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```$", re.M | re.S)


def code_blocks(markdown: str) -> list[list[str]]:
    return [block.splitlines() for block in FENCE.findall(markdown)]


def comments(block: list[str]) -> list[tuple[str, int]]:
    """Each commented line's command, and the column its `#` is in."""
    found = []
    for line in block:
        command, separator, _ = line.partition(" # ")
        if separator:
            found.append((command.rstrip(), len(command) + 1))
    return found


@pytest.mark.parametrize("package_name", PACKAGE_NAMES, ids=["short", "long"])
@pytest.mark.parametrize(
    "answers", [{"pooling": "pgbouncer"}, {"framework": "none"}], ids=["fastapi-pgbouncer", "none"]
)
def test_each_command_block_lines_up_its_comments(
    tmp_path: Path, package_name: str, answers: dict[str, str]
) -> None:
    project = render(tmp_path / "project", {**answers, "package_name": package_name})
    blocks = code_blocks((project / "README.md").read_text())
    migrate = f"uv run {package_name} migrate "
    run_it = next(block for block in blocks if any(line.startswith(migrate) for line in block))
    assert len(comments(run_it)) == len(run_it)  # every command there says what it does
    for block in filter(comments, blocks):
        # One column, two spaces after the longest command, as a person lines them up.
        longest = max(len(command) for command, _ in comments(block))
        assert {column for _, column in comments(block)} == {longest + 2}, "\n".join(block)


# Markdown that is not prose: fenced blocks, code spans, link targets.
NOT_PROSE = re.compile(r"^```.*?^```$|`[^`]*`|\]\([^)]*\)", re.M | re.S)


@pytest.mark.parametrize("variant", variant_params(DATABASE_VARIANTS + FEATURE_VARIANTS))
def test_the_readme_prose_runs_no_word_into_a_parenthesis(project: Path) -> None:
    prose = NOT_PROSE.sub(" ", (project / "README.md").read_text())
    assert re.findall(r"\w+\(\w*", prose) == []
