"""Async is the model and sync its mirror: for every file that differs between a sync and an async
render, both define the same classes and functions, in the same order, with the same parameters."""

import ast
from pathlib import Path

import pytest

from tests.matrix import POOLINGS, Variant
from tests.plugins.rendering import Render, python_source

pytestmark = pytest.mark.render

Shape = list[tuple[str, str, tuple[str, ...]]]


def shape(source: str) -> Shape:
    """The module's classes and functions, async or not, with their parameter names, in order.

    Functions nested in functions are left out: they are how async code hands work to sync code
    (AsyncConnection.run_sync), which the sync mirror has no need for.
    """
    found: Shape = []
    nodes = list(ast.parse(source).body)
    while nodes:
        node = nodes.pop(0)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            found.append(("def", node.name, tuple(argument.arg for argument in arguments)))
        elif isinstance(node, ast.ClassDef):
            found.append(("class", node.name, ()))
            nodes[:0] = node.body
    return found


def python_files(project: Path) -> set[Path]:
    return {
        path.relative_to(project)
        for pattern in ("*.py", "*.py-tpl")
        for path in project.rglob(pattern)
        if ".venv" not in path.parts
    }


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("framework", ["fastapi", "none"])
def test_sync_and_async_renders_define_the_same_things(
    rendered: Render, framework: str, pooling: str
) -> None:
    sync = rendered(Variant(framework, "sync", "psycopg", pooling, "uuid", rls=False))
    async_ = rendered(Variant(framework, "async", "psycopg", pooling, "uuid", rls=False))
    assert python_files(sync) == python_files(async_)
    shapes = {
        str(path): (shape(python_source(sync / path)), shape(python_source(async_ / path)))
        for path in sorted(python_files(sync))
        if (sync / path).read_text() != (async_ / path).read_text()
    }
    assert shapes, "the sync and async renders should differ somewhere"
    assert {path: pair for path, pair in shapes.items() if pair[0] != pair[1]} == {}
