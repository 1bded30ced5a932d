"""The tests' Jinja compile cache (tests/plugins/compiled_templates.py) changes no rendered file."""

from pathlib import Path

import pytest
from jinja2 import Environment

from tests.matrix import Variant
from tests.plugins import compiled_templates
from tests.plugins.rendering import render
from tests.plugins.versions import ANSWERS, without_provenance
from tests.trees import snapshot

pytestmark = pytest.mark.render

# Async behind the pooler, with RLS and FastAPI: most of the template's conditional files.
VARIANT = Variant("fastapi", "async", "asyncpg", "pgbouncer", "uuid", True)


def rendered(destination: Path) -> dict[str, object]:
    """The variant rendered to `destination`, its answers file without the commit Copier made of
    the working tree for this render."""
    files = snapshot(render(destination, VARIANT.answers()))
    answers = files.pop(ANSWERS).content.decode()
    assert answers.startswith("# Changes here will be overwritten by Copier")
    return {**files, ANSWERS: without_provenance(answers)}


def test_a_render_from_reused_compiled_code_is_a_render_from_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Environment.compile is compiled_templates.compile_once
    rendered(tmp_path / "first")
    compiled = len(compiled_templates._compiled)
    assert compiled > 0
    reused = rendered(tmp_path / "reused")
    assert len(compiled_templates._compiled) == compiled, "the second render compiled anew"
    monkeypatch.setattr(Environment, "compile", compiled_templates._compile)
    assert reused == rendered(tmp_path / "from_source")
