"""The template repository's own CI workflow: valid, and its full-tier jobs share out every
full-tier test exactly once."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _pytest.mark.expression import Expression

from tests.plugins.rendering import TEMPLATE_ROOT

pytestmark = pytest.mark.render

WORKFLOWS = sorted((TEMPLATE_ROOT / ".github" / "workflows").glob("*.yml"))


def test_the_workflows_match_the_github_workflow_schema() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    command = [str(checker), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


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
