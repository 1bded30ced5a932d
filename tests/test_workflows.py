"""The CI workflows, the template repository's own and each rendered one: valid, clean under
actionlint and zizmor, and the template's full-tier jobs share out every full-tier test exactly
once."""

import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from _pytest.mark.expression import Expression

from tests import linters
from tests.matrix import DATABASE_VARIANTS, FEATURE_VARIANTS, Variant, copier_config
from tests.plugins.rendering import TEMPLATE_ROOT, variant_params

pytestmark = pytest.mark.render

WORKFLOWS = sorted((TEMPLATE_ROOT / ".github" / "workflows").glob("*.yml"))
# Every variant that renders a workflow.
WITH_CI = variant_params(
    v for v in DATABASE_VARIANTS + FEATURE_VARIANTS if v.feature["ci"] == "github"
)


def rendered_workflows(project: Path) -> list[Path]:
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert workflows, f"{project} has no workflow"
    return workflows


def test_the_workflows_match_the_github_workflow_schema() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    command = [str(checker), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflows_pass_actionlint() -> None:
    assert linters.actionlint(WORKFLOWS, TEMPLATE_ROOT) == []


def test_the_workflows_pass_zizmor() -> None:
    assert linters.zizmor(WORKFLOWS, TEMPLATE_ROOT) == []


def test_the_workflows_install_the_uv_the_rendered_projects_pin() -> None:
    pinned = copier_config()["uv_version"]["default"]
    versions = [
        step["with"]["version"]
        for workflow in WORKFLOWS
        for job in yaml.safe_load(workflow.read_text())["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("astral-sh/setup-uv@")
    ]
    assert versions
    assert set(versions) == {pinned}


@pytest.mark.parametrize("variant", WITH_CI)
def test_a_rendered_workflow_passes_actionlint(project: Path) -> None:
    assert linters.actionlint(rendered_workflows(project), project) == []


@pytest.mark.parametrize("variant", WITH_CI)
def test_a_rendered_workflow_passes_zizmor(project: Path) -> None:
    assert linters.zizmor(rendered_workflows(project), project) == []


@pytest.mark.parametrize("variant", WITH_CI)
def test_a_rendered_workflow_tests_against_its_postgres_service(project: Path) -> None:
    jobs = [
        job
        for workflow in rendered_workflows(project)
        for job in yaml.safe_load(workflow.read_text())["jobs"].values()
        if "uv run pytest" in [step.get("run") for step in job["steps"]]
    ]
    assert jobs
    for job in jobs:
        service = job["services"]["postgres"]
        url = urlsplit(job["env"]["TEST_DATABASE_URL"])
        assert url.hostname == "localhost"
        assert f"{url.port}:5432" in service["ports"]
        assert url.username == service["env"]["POSTGRES_USER"]
        assert url.password == service["env"]["POSTGRES_PASSWORD"]
        assert url.path == "/" + service["env"]["POSTGRES_DB"]
        assert "--health-cmd" in service["options"]  # the job waits until it accepts connections


@pytest.mark.parametrize("variant", WITH_CI)
def test_a_rendered_workflow_installs_pgbouncer_for_a_pooler_variant(
    project: Path, variant: Variant
) -> None:
    for workflow in rendered_workflows(project):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            commands = [shlex.split(step.get("run", "")) for step in job["steps"]]
            installs = any("install" in words and "pgbouncer" in words for words in commands)
            assert installs == (variant.pooling == "pgbouncer")


def full_tier_tests() -> list[str]:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "full", "-n", "0"]
    command += ["-p", "no:cacheprovider"]
    output = subprocess.run(
        command, cwd=TEMPLATE_ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [line for line in output.splitlines() if "::" in line]


def test_the_full_tier_jobs_run_every_full_test_exactly_once() -> None:
    workflow = yaml.safe_load((TEMPLATE_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    shards = workflow["jobs"]["full"]["strategy"]["matrix"]["shard"]
    expressions = [Expression.compile(shard) for shard in shards]
    tests = full_tier_tests()
    assert tests
    for test in tests:
        # `pytest -k` matches a name when it is part of the test's id.
        matching = [
            shard
            for shard, expression in zip(shards, expressions, strict=True)
            if expression.evaluate(lambda name, test=test: name in test)
        ]
        assert len(matching) == 1, f"{test} runs in {matching or 'no job'}"
