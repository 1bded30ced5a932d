"""Rendering variants: each is rendered once per test process, with Copier, from the working tree.

`vcs_ref="HEAD"` makes Copier render the checkout as it is, uncommitted changes included, so the
tests always see the template being worked on.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from string import Template
from typing import Any

import copier
import pytest

from tests.matrix import Variant
from tests.plugins.timing import Timed
from tests.trees import Tree, snapshot
from tools.async_to_sync import SCAFFOLD_NAMES

TEMPLATE_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_NAME = "my_service"


def render(destination: Path, answers: Mapping[str, Any]) -> Path:
    """Render the template into `destination` with `answers` (defaults for the rest)."""
    copier.run_copy(
        str(TEMPLATE_ROOT),
        destination,
        data=dict(answers),
        defaults=True,
        unsafe=False,  # copy runs no template code: it needs no --trust
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


def tool_environment() -> dict[str, str]:
    """The environment for uv and the rendered projects' tools, free of this project's venv."""
    env = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
    # Bytecode caches, as a developer's machine keeps them: with PYTHONDONTWRITEBYTECODE (set
    # on this machine and in many CI images) every Python process a project's suite starts
    # compiles SQLAlchemy, FastAPI and pydantic from source again, a second of CPU each, and
    # its pytest recompiles every plugin. Environments are shared (environments.py), so each
    # module is compiled once per environment.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # This machine's Python only: never download an interpreter in the middle of a test run.
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def run(
    command: list[str], cwd: Path, *, env: Mapping[str, str] | None = None, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool in a rendered project; fail the test with the tool's output if it fails."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**tool_environment(), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    if log is not None:
        log.write_text(output)
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(command)}` failed in {cwd} ({result.returncode}):\n{output[-6000:]}"
        )
    return result


class Renders:
    """Each variant rendered once per test process, with a snapshot of the files Copier wrote."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._done: dict[Variant, tuple[Path, Tree]] = {}

    def _get(self, variant: Variant) -> tuple[Path, Tree]:
        if variant not in self._done:
            project = render(self._root / variant.id, variant.answers())
            self._done[variant] = (project, snapshot(project))
        return self._done[variant]

    def __call__(self, variant: Variant) -> Path:
        """The directory the variant is rendered to (tests may install and run it there)."""
        return self._get(variant)[0]

    def files(self, variant: Variant) -> Tree:
        """The variant's files as Copier wrote them, whatever has run in the project since."""
        return self._get(variant)[1]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Renders:
    """Render a variant, or return the directory it was already rendered to in this process."""
    return Renders(tmp_path_factory.mktemp("render"))


def python_source(path: Path) -> str:
    """A rendered file's Python source; startapp's scaffold files get sample names filled in."""
    text = path.read_text()
    if path.name.endswith(".py-tpl"):
        text = Template(text).substitute(SCAFFOLD_NAMES)
    return text


def variant_params(variants: Iterable[Variant]) -> list[Any]:
    """Parametrize a `variant` argument; a variant's tests share an xdist worker (one render)."""
    return [pytest.param(v, id=v.id, marks=pytest.mark.xdist_group(v.id)) for v in variants]


@pytest.fixture
def project(variant: Variant, rendered: Renders, timed: Timed) -> Path:
    """The test's variant, rendered (once per process)."""
    with timed("render"):
        return rendered(variant)
