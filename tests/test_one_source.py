"""Async is the source, sync is generated: every committed sync template is what
tools/async_to_sync.py makes of its async source, and under every combination of the answers a
pair reads, both sides render to Python that ruff passes and that defines the same things."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import jinja2
import pathspec
import pytest
from jinja2 import meta

from tests.matrix import DRIVER_FACTS, DRIVERS, copier_config
from tests.plugins.rendering import PACKAGE_NAME, TEMPLATE_ROOT, run
from tools import async_to_sync

pytestmark = pytest.mark.render

TEMPLATE = TEMPLATE_ROOT / "template"
PAIRS = [(source, async_to_sync.twin_of(source)) for source in async_to_sync.async_sources()]

Shape = list[tuple[str, str, tuple[str, ...]]]


def test_every_sync_twin_is_what_the_generator_makes_of_its_async_source() -> None:
    result = subprocess.run(
        [sys.executable, "tools/async_to_sync.py", "--check"],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr


def test_every_sync_template_has_an_async_source() -> None:
    generated = {twin for _, twin in PAIRS}
    sync_only = {path for path in TEMPLATE.rglob("*.jinja") if "not is_async" in path.name}
    assert sync_only - generated == set()
    assert all(twin.is_file() for twin in generated)


def environment() -> jinja2.Environment:
    """Jinja as copier.yml configures it (its _envops), loading from the repository root."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_ROOT),
        # Copier's own filters (to_json, regex_replace, ...).
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        **copier_config()["_envops"],
    )


def answer_values() -> dict[str, tuple[Any, ...]]:
    """The values each yes/no or multiple-choice answer can take (the driver comes with its
    concurrency), derived yes/no answers included."""
    values: dict[str, tuple[Any, ...]] = {}
    for name, question in copier_config().items():
        if name.startswith("_") or not isinstance(question, dict) or name == "driver":
            continue
        choices = question.get("choices")
        if question.get("type") == "bool":
            values[name] = (False, True)
        elif isinstance(choices, dict):
            values[name] = tuple(c["value"] if isinstance(c, dict) else c for c in choices.values())
    return values


def excluded(relative: Path, context: dict[str, Any]) -> bool:
    """Whether copier.yml's _exclude leaves the rendered path out under these answers."""
    env = environment()
    patterns = [env.from_string(entry).render(**context) for entry in copier_config()["_exclude"]]
    spec = pathspec.PathSpec.from_lines("gitignore", "\n".join(patterns).splitlines())
    return spec.match_file(str(relative))


def exclusion_answers(source: Path) -> set[str]:
    """The answers whose _exclude group names the source's rendered path."""
    env = environment()
    relative = str(Path(*rendered_parts(source, async_to_sync.sample_context())))
    read: set[str] = set()
    for entry in copier_config()["_exclude"]:
        lines = [line for line in entry.splitlines() if not line.startswith("{%")]
        if pathspec.PathSpec.from_lines("gitignore", lines).match_file(relative):
            read |= meta.find_undeclared_variables(env.parse(entry))
    return read


def rendered_parts(path: Path, context: dict[str, Any]) -> list[str]:
    """The parts of the template path, rendered (an empty part leaves the file out)."""
    env = environment()
    parts = [env.from_string(part).render(**context) for part in path.relative_to(TEMPLATE).parts]
    return [*parts[:-1], parts[-1].removesuffix(".jinja")]


def contexts(*texts: str, read: set[str], concurrency: str = "async") -> Iterator[dict[str, Any]]:
    """Every combination of the answers the texts (and `read`) read, as render contexts."""
    env = environment()
    read = read.union(*(meta.find_undeclared_variables(env.parse(text)) for text in texts))
    varied = {name: values for name, values in answer_values().items() if name in read}
    drivers = DRIVERS[concurrency] if {"driver", "db_driver"} & read else DRIVERS[concurrency][:1]
    base = async_to_sync.sample_context()
    for driver, values in itertools.product(drivers, itertools.product(*varied.values())):
        yield {
            **base,
            **dict(zip(varied, values, strict=True)),
            "is_async": concurrency == "async",
            "concurrency": concurrency,
            "driver": driver,
            "db_driver": DRIVER_FACTS[driver],
        }


def render(path: Path, context: dict[str, Any]) -> tuple[Path, str] | None:
    """The rendered relative path and text, or None when the answers leave the file out."""
    parts = rendered_parts(path, context)
    if not all(parts) or excluded(Path(*parts), context):
        return None
    text = environment().get_template(str(path.relative_to(TEMPLATE_ROOT))).render(**context)
    relative = Path(*parts)
    if relative.name.endswith(".py-tpl"):
        # startapp's scaffold: the module it becomes for an app named notes.
        text = Template(text).substitute(async_to_sync.SCAFFOLD_NAMES)
        relative = relative.with_name(relative.name.removesuffix("-tpl"))
    return relative, text


def shape(source: str) -> Shape:
    """The module's classes and functions, async or not, with their parameter names, in order.
    Functions nested in functions are left out: async code nests them for run_sync."""
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


@dataclass(frozen=True)
class RenderedPairs:
    """Both sides of every pair under every combination of the answers they read, keyed by a
    label, each also written under `root` into a project of its own with its ruff settings."""

    root: Path
    texts: dict[str, tuple[str, str]]


@pytest.fixture(scope="module")
def rendered_pairs(tmp_path_factory: pytest.TempPathFactory) -> RenderedPairs:
    root = tmp_path_factory.mktemp("pairs")
    pyproject = (TEMPLATE / "pyproject.toml.jinja").read_text()
    rendered: dict[str, tuple[str, str]] = {}
    for source, twin in PAIRS:
        texts = (str(source.relative_to(TEMPLATE)), source.read_text(), twin.read_text())
        for concurrency_context in contexts(*texts, read=exclusion_answers(source)):
            sides = {}
            for concurrency, path in (("async", source), ("sync", twin)):
                context = {**concurrency_context, "is_async": concurrency == "async"}
                context["concurrency"] = concurrency
                if context["driver"] not in DRIVERS[concurrency]:
                    context["driver"] = DRIVERS[concurrency][0]
                    context["db_driver"] = DRIVER_FACTS[context["driver"]]
                sides[concurrency] = (render(path, context), context)
            if sides["async"][0] is None:
                assert sides["sync"][0] is None, f"{twin.name} renders where {source.name} does not"
                continue
            label = f"{source.relative_to(TEMPLATE)} {len(rendered)}"
            for concurrency, (found, context) in sides.items():
                assert found is not None, f"{twin.name} renders nothing where {source.name} does"
                project = root / f"{len(rendered)}-{concurrency}"
                write(project / found[0], found[1])
                settings = environment().from_string(pyproject).render(**context)
                write(project / "pyproject.toml", settings)
                write(project / "src" / PACKAGE_NAME / "__init__.py", "")
                write(project / "tests" / "__init__.py", "")
            rendered[label] = (sides["async"][0][1], sides["sync"][0][1])  # type: ignore[index]
    return RenderedPairs(root, rendered)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(text)


def test_every_pair_is_rendered(rendered_pairs: RenderedPairs) -> None:
    sources = {label.rsplit(" ", 1)[0] for label in rendered_pairs.texts}
    assert sources == {str(source.relative_to(TEMPLATE)) for source, _ in PAIRS}


def test_both_sides_define_the_same_things_in_the_same_order(
    rendered_pairs: RenderedPairs,
) -> None:
    shapes = {label: (shape(a), shape(s)) for label, (a, s) in rendered_pairs.texts.items()}
    assert {label: pair for label, pair in shapes.items() if pair[0] != pair[1]} == {}


def test_both_sides_pass_ruff(rendered_pairs: RenderedPairs) -> None:
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], rendered_pairs.root)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], rendered_pairs.root)
