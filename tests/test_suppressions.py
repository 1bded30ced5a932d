"""A linter finding is fixed, or suppressed where it is with its reason: every inline
suppression in the linted files (workflows, Dockerfiles) says why."""

import re
from pathlib import Path

import pytest

from tests.plugins.rendering import TEMPLATE_ROOT

pytestmark = pytest.mark.render

LINTED = [
    TEMPLATE_ROOT / ".github" / "workflows" / "ci.yml",
    TEMPLATE_ROOT / "template" / ".github" / "workflows" / "ci.yml.jinja",
    TEMPLATE_ROOT / "template" / "Dockerfile.jinja",
    TEMPLATE_ROOT / "template" / "pgbouncer" / "Dockerfile",
]
# zizmor's, hadolint's and shellcheck's inline suppressions, and what follows on the line.
SUPPRESSION = re.compile(
    r"#\s*(?:zizmor:\s*ignore\[[^\]]*\]|hadolint\s+ignore=\S+|shellcheck\s+disable=\S+)(.*)"
)


def unexplained(text: str) -> list[str]:
    """Suppressions with no reason after them on their line or in a comment just above."""
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        match = SUPPRESSION.search(line)
        if match is None:
            continue
        above = lines[number - 1].strip() if number else ""
        reason_above = above.startswith("#") and not SUPPRESSION.search(above)
        if not re.search(r"\w", match.group(1)) and not reason_above:
            found.append(f"{number + 1}: {line.strip()}")
    return found


def test_a_suppression_without_a_reason_is_found() -> None:
    assert unexplained("      - uses: x/y@v1 # zizmor: ignore[unpinned-uses]\n")
    assert unexplained("# hadolint ignore=DL3008\nRUN apt-get install -y x\n")
    assert not unexplained("# zizmor: ignore[unpinned-images] no digest: the tag is updated\n")
    assert not unexplained("# The base image's digest changes weekly.\n# hadolint ignore=DL3007\n")


@pytest.mark.parametrize("path", LINTED, ids=lambda path: str(path.relative_to(TEMPLATE_ROOT)))
def test_every_suppression_says_why(path: Path) -> None:
    assert unexplained(path.read_text()) == []
