"""The docs quote what the tests measure."""

import re
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
