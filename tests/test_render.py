"""The render tier: every variant renders to a clean, lint-free project that records its answers."""

import ast
import re
import shutil
import sys
import tomllib
from pathlib import Path
from string import Template
from typing import Any

import pytest
import yaml

from tests.matrix import DATABASE_VARIANTS, FEATURE_VARIANTS, Variant
from tests.plugins.rendering import PACKAGE_NAME, python_source, run, variant_params
from tools.async_to_sync import SCAFFOLD_NAMES

pytestmark = [
    pytest.mark.render,
    pytest.mark.parametrize("variant", variant_params(DATABASE_VARIANTS + FEATURE_VARIANTS)),
]

# Template syntax that must not survive rendering. GitHub Actions' ${{ }} is intended.
LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|%\}|\{#")


def files(project: Path, *patterns: str) -> list[Path]:
    found = {path for pattern in patterns for path in project.rglob(pattern) if path.is_file()}
    return sorted(path for path in found if ".git" not in path.relative_to(project).parts)


def test_leaves_no_template_syntax(project: Path) -> None:
    leftovers = [
        str(path.relative_to(project))
        for path in files(project, "*")
        if LEFTOVER.search(path.read_text())
    ]
    assert leftovers == []


def test_python_files_compile(project: Path) -> None:
    for path in files(project, "*.py", "*.py-tpl"):
        ast.parse(python_source(path), filename=str(path))


def test_passes_ruff_lint_and_format_checks(project: Path) -> None:
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)


def test_config_files_parse(project: Path) -> None:
    for path in files(project, "*.toml"):
        tomllib.loads(path.read_text())
    for path in files(project, "*.yml", "*.yaml"):
        yaml.safe_load(path.read_text())


def test_workflows_and_compose_files_match_their_schemas(project: Path) -> None:
    schemas = {
        "vendor.github-workflows": files(project / ".github", "*.yml"),
        "vendor.compose-spec": files(project, "compose.yaml"),
    }
    for schema, paths in schemas.items():
        if paths:
            command = ["check-jsonschema", "--builtin-schema", schema, *map(str, paths)]
            run([str(Path(sys.executable).parent / command[0]), *command[1:]], project)


def test_records_the_answers(project: Path, variant: Variant) -> None:
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {name: recorded[name] for name in variant.answers()} == variant.answers()
    assert recorded["package_name"] == PACKAGE_NAME
    assert recorded["_src_path"]
    assert recorded["_commit"]


def test_depends_on_exactly_its_driver(project: Path, variant: Variant) -> None:
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    names = {re.split(r"[\\[<>=]", requirement)[0] for requirement in dependencies}
    drivers = {"psycopg": "psycopg", "psycopg2": "psycopg2-binary", "asyncpg": "asyncpg"}
    assert names & set(drivers.values()) == {drivers[variant.driver]}
    assert ("fastapi" in names) == (variant.framework == "fastapi")


def test_renders_only_the_files_the_variant_uses(project: Path, variant: Variant) -> None:
    package = project / "src" / PACKAGE_NAME
    present = {str(path.relative_to(project)) for path in files(project, "*")}
    features = variant.feature
    expectations = {
        f"src/{PACKAGE_NAME}/main.py": variant.framework == "fastapi",
        f"src/{PACKAGE_NAME}/health.py": variant.framework == "fastapi",
        f"src/{PACKAGE_NAME}/cli/runserver.py": variant.framework == "fastapi",
        f"src/{PACKAGE_NAME}/apps/accounts/models.py": features["sample_apps"],
        f"src/{PACKAGE_NAME}/apps/posts/routes.py": features["sample_apps"]
        and variant.framework == "fastapi",
        "Dockerfile": features["docker"],
        "compose.yaml": features["docker"],
        ".github/workflows/ci.yml": features["ci"] == "github",
        ".pre-commit-config.yaml": features["pre_commit"],
    }
    assert {path: path in present for path in expectations} == expectations
    engine = (package / "db" / "engine.py").read_text()
    assert ("create_async_engine" in engine) == variant.is_async
    assert ("NullPool" in engine) == (variant.pooling == "pgbouncer")
    sources = "\n".join(path.read_text() for path in files(package, "*.py"))
    assert ("fastapi" in sources) == (variant.framework == "fastapi")


def module_imports(package: Path) -> dict[str, set[str]]:
    """Each module of the package, and the package's modules it imports at module level."""
    names = {
        ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(
            ".__init__"
        ): path
        for path in package.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        is_package = path.name == "__init__.py"
        imported: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                parts = name.split(".")
                base = (
                    parts[: len(parts) - node.level + (1 if is_package else 0)]
                    if node.level
                    else []
                )
                module = ".".join([*base, *([node.module] if node.module else [])])
                imported.add(module)
                imported.update(f"{module}.{alias.name}" for alias in node.names)
        graph[name] = {target for target in imported if target in names and target != name}
    return graph


def layers(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same imports between the package's top-level parts (cli, db, apps, settings...)."""

    def layer(module: str) -> str:
        return ".".join(module.split(".")[:2])

    collapsed: dict[str, set[str]] = {}
    for module, targets in graph.items():
        collapsed.setdefault(layer(module), set()).update(layer(target) for target in targets)
    return {module: targets - {module, PACKAGE_NAME} for module, targets in collapsed.items()}


@pytest.mark.parametrize("view", [dict, layers], ids=["modules", "layers"])
def test_the_package_has_no_import_cycles(project: Path, view: Any) -> None:
    graph = view(module_imports(project / "src" / PACKAGE_NAME))
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph[module]):
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            elif len(path) < len(graph):
                visit(target, [*path, target])

    for module in graph:
        visit(module, [module])
    assert cycles == []


def test_every_docs_page_the_code_cites_is_in_the_project(project: Path) -> None:
    cited = {
        (path.relative_to(project), page)
        for path in files(project, "*.py", "*.py-tpl", "*.toml", "*.ini")
        for page in re.findall(r"\bdocs/[\w./-]+\.md\b", path.read_text())
    }
    assert {(str(path), page) for path, page in cited if not (project / page).is_file()} == set()


# A 40-character app name (startapp's MAX_APP_NAME) and what startapp derives from it.
LONGEST_APP = {
    "app": "warehouse_purchase_order_line_adjustment",
    "model": "WarehousePurchaseOrderLineAdjustment",
    "model_snake": "warehouse_purchase_order_line_adjustment",
    "table": "warehouse_purchase_order_line_adjustment",
    "url": "warehouse-purchase-order-line-adjustment",
}


def scaffold(project: Path, names: dict[str, str], root: Path) -> Path:
    """startapp's files for `names`, filled in as startapp fills them, under `root` beside the
    project's ruff configuration."""
    shutil.copy(project / "pyproject.toml", root)
    templates = project / "src" / PACKAGE_NAME / "cli" / "app_template"
    app = root / "src" / PACKAGE_NAME / "apps" / names["app"]
    for source in templates.rglob("*-tpl"):
        relative = Template(str(source.relative_to(templates))).substitute(names)
        destination = app / relative.removesuffix("-tpl")
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(Template(source.read_text()).substitute(names))
    return app


def test_startapp_scaffolds_ruff_clean_apps_as_written(project: Path, tmp_path: Path) -> None:
    scaffold(project, SCAFFOLD_NAMES, tmp_path)
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], tmp_path)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], tmp_path)


def test_startapp_scaffolds_ruff_clean_apps_for_the_longest_name_it_accepts(
    project: Path, tmp_path: Path
) -> None:
    startapp = (project / "src" / PACKAGE_NAME / "cli" / "startapp.py").read_text()
    assert f"MAX_APP_NAME = {len(LONGEST_APP['app'])}\n" in startapp
    app = scaffold(project, LONGEST_APP, tmp_path)
    # What startapp's tidy() runs after writing the files, then the project's checks.
    run([sys.executable, "-m", "ruff", "check", "--fix", "--select", "I", "--quiet", str(app)], app)
    run([sys.executable, "-m", "ruff", "format", "--quiet", str(app)], app)
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], tmp_path)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], tmp_path)
