"""The docs quote what the tests measure."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_pooler_controls import CONTROLS, Control

pytestmark = pytest.mark.render

DOCS = Path(__file__).resolve().parents[1] / "docs"


def table_rows(page: str) -> dict[str, str]:
    """The first cell of each table row on a docs page, mapped to the rest of the row."""
    rows = {}
    for line in (DOCS / page).read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) > 1:
            rows[cells[0]] = " | ".join(cells[1:])
    return rows


@pytest.mark.parametrize("control", CONTROLS, ids=lambda control: control.name)
def test_the_pooling_page_quotes_each_control_as_measured(control: Control) -> None:
    rows = table_rows("pooling.md")
    assert control.name in rows, f"docs/pooling.md has no row for {control.name}"
    quoted = re.findall(r"`([^`]*prepared statement[^`]*)`", rows[control.name])
    if not quoted:  # "the same as sync"
        quoted = re.findall(r"`([^`]*prepared statement[^`]*)`", rows["psycopg 3, sync"])
    assert quoted
    assert all(re.search(control.error, text) for text in quoted), quoted


TEMPLATE = Path(__file__).resolve().parents[1] / "template"


def template_test_names() -> set[str]:
    """Every test function the rendered projects can contain, in any variant."""
    names = set()
    for path in TEMPLATE.rglob("*"):
        if path.is_file() and "test" in path.name:
            names |= set(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), re.M))
    return names


def known_test_files() -> set[str]:
    """Test files of the template's own suite and of rendered projects (any variant)."""
    repository = DOCS.parent
    names = {str(path.relative_to(repository)) for path in (repository / "tests").rglob("*.py")}
    for path in (TEMPLATE / "tests").rglob("*"):
        rendered = re.sub(
            r"\{% if [^%]*%\}(.*?)\{% endif %\}", r"\1", str(path.relative_to(TEMPLATE))
        )
        names.add(rendered.removesuffix(".jinja"))
    return names


@pytest.mark.parametrize("page", sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")))
def test_every_test_a_page_cites_exists(page: str) -> None:
    # A page backs its statements by naming the tests that check them; a renamed or deleted
    # test must not leave a claim behind with nothing checking it.
    cited = set(re.findall(r"`(test_\w+)`", (DOCS / page).read_text()))
    assert cited - template_test_names() == set()
    # So must a test file it names, of the template's own tests or of a rendered project's.
    files = set(re.findall(r"`(tests/[\w/]+\.py)`", (DOCS / page).read_text()))
    assert files - known_test_files() == set()


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    # --strict turns every warning (a broken link, a page missing from nav) into a failure.
    mkdocs = Path(sys.executable).parent / "mkdocs"
    command = [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        command, cwd=DOCS.parent, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "rls" / "index.html").exists()
