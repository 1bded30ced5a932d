"""Answers: defaults derive sensibly; bad answers are refused by name before any file is written."""

import ast
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.matrix import IMPOSSIBLE_DRIVERS
from tests.plugins.rendering import render

pytestmark = pytest.mark.render


def refused(tmp_path: Path, answers: dict[str, Any]) -> str:
    """Render with `answers`, expect Copier to refuse them, and return its message."""
    destination = tmp_path / "project"
    with pytest.raises(
        ValueError, match=r"^(Validation error for question|Invalid choice for)"
    ) as excinfo:
        render(destination, answers)
    assert not destination.exists(), "a refused answer must render nothing"
    return str(excinfo.value)


@pytest.mark.parametrize(
    ("package_name", "message"),
    [
        ("My-Service", "'My-Service' is not a valid package name"),
        ("2fast", "'2fast' is not a valid package name"),
        ("class", "'class' is a Python keyword"),
        ("match", "'match' is a Python keyword"),
        ("json", "'json' would shadow the standard-library module"),
        ("tomllib", "'tomllib' would shadow the standard-library module"),
        ("sqlalchemy", "'sqlalchemy' would shadow the 'sqlalchemy' dependency"),
        ("pydantic", "'pydantic' would shadow the 'pydantic' dependency"),
        ("tests", "'tests' is the name of the project's own test package"),
        ("migrations", "'migrations' is the name of the project's Alembic folder"),
        ("conftest", "'conftest' is the module name pytest reserves"),
        ("_", "'_' starts or ends with an underscore"),
        ("_svc", "'_svc' starts or ends with an underscore"),
        ("__main__", "'__main__' starts or ends with an underscore"),
        ("svc_", "the distribution name ('svc-') must start and end with a letter or digit"),
    ],
)
def test_a_bad_package_name_is_refused(tmp_path: Path, package_name: str, message: str) -> None:
    assert message in refused(tmp_path, {"package_name": package_name})


@pytest.mark.parametrize(("pair", "message"), IMPOSSIBLE_DRIVERS.items(), ids=lambda v: str(v))
def test_an_impossible_driver_is_refused(
    tmp_path: Path, pair: tuple[str, str], message: str
) -> None:
    concurrency, driver = pair
    assert message in refused(tmp_path, {"concurrency": concurrency, "driver": driver})


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": "  "}, "The project name cannot be empty."),
        ({"project_name": "x" * 51}, "is 51 characters long; keep it to 50"),
        ({"description": "x" * 73}, "keep it to 72 characters"),
        ({"description": "two\nlines"}, "The description must fit on one line."),
        ({"author_email": "nobody"}, "'nobody' is not an email address."),
    ],
)
def test_a_bad_project_detail_is_refused(
    tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    assert message in refused(tmp_path, answers)


def test_the_package_name_derives_from_the_project_name(tmp_path: Path) -> None:
    project = render(tmp_path / "project", {"project_name": "2nd Billing API (v2)!"})
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["package_name"] == "nd_billing_api_v2"
    assert (project / "src" / "nd_billing_api_v2" / "__init__.py").is_file()


def test_quotes_and_unicode_in_project_details_stay_valid_code(tmp_path: Path) -> None:
    details = {
        "project_name": 'Zoë\'s "Quoted" Service',
        "description": 'Says "hi" \\ back — politely',
        "author_name": 'O\'Brien "the" Dev',
        "package_name": "quoted_service",
    }
    project = render(tmp_path / "project", details)
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["description"] == details["description"]
    assert metadata["authors"][0]["name"] == details["author_name"]
    package = project / "src" / "quoted_service"
    assert (
        ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        == details["description"]
    )
    app = ast.parse((package / "app.py").read_text())
    titles = [k.value for k in ast.walk(app) if isinstance(k, ast.keyword) and k.arg == "title"]
    assert [ast.literal_eval(title) for title in titles] == [details["project_name"]]
