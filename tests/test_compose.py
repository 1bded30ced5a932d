"""compose.yaml sets the database up the way the generated README does, which the generated
tests/test_setup_steps.py follows on a real cluster: the same SQL files, the same roles and
passwords in the same URLs. So the service never logs in as the superuser, under RLS it logs in
as the role the policies hold for (and is given no owner password), and PgBouncer knows that role.

Nothing here runs Docker: that the stack starts is for `docker compose up` to show (the README
says so)."""

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.matrix import DATABASE_VARIANTS, FEATURE_VARIANTS, Variant
from tests.plugins.rendering import variant_params

pytestmark = pytest.mark.render

WITH_COMPOSE = [v for v in DATABASE_VARIANTS + FEATURE_VARIANTS if v.feature["docker"]]
every_variant = pytest.mark.parametrize("variant", variant_params(WITH_COMPOSE))

SUPERUSER = "postgres"


def services(project: Path) -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((project / "compose.yaml").read_text())
    return compose["services"]  # type: ignore[no-any-return]


def readme_urls(project: Path) -> dict[str, str]:
    """The URLs README.md's set-up steps export, by variable."""
    readme = (project / "README.md").read_text()
    return dict(re.findall(r"^export (\w*DATABASE_URL)=(\S+)$", readme, re.MULTILINE))


def login(url: str) -> tuple[str | None, str | None, str]:
    """The role, password and database of a URL: what must match, whatever the host."""
    parts = urlsplit(url)
    return parts.username, parts.password, parts.path


@every_variant
def test_the_database_is_set_up_with_the_readmes_sql(project: Path) -> None:
    readme = (project / "README.md").read_text()
    mounted = {
        volume.split(":")[0].removeprefix("./")
        for service in services(project).values()
        for volume in service.get("volumes", [])
        if volume.startswith("./")
    }
    assert mounted == {"compose/admin.sql"}
    for path in mounted:
        assert f"```sql\n{(project / path).read_text()}```" in readme


@every_variant
def test_every_service_logs_in_as_the_readme_says_and_never_as_the_superuser(
    project: Path, variant: Variant
) -> None:
    urls = readme_urls(project)
    for name, service in services(project).items():
        environment = service.get("environment", {})
        for variable in ("DATABASE_URL", "DIRECT_DATABASE_URL"):
            if variable in environment:
                # Without a pooler or RLS, README has DATABASE_URL do both jobs.
                expected = urls.get(variable, urls["DATABASE_URL"])
                assert login(environment[variable]) == login(expected), (name, variable)
        roles = [login(url)[0] for key, url in environment.items() if key.endswith("URL")]
        assert SUPERUSER not in [*roles, environment.get("PGUSER")], name


@pytest.mark.parametrize(
    "variant", variant_params([v for v in WITH_COMPOSE if v.framework == "fastapi"])
)
def test_the_service_is_given_one_password_its_own(project: Path, variant: Variant) -> None:
    app = services(project)["app"]["environment"]
    assert [key for key in app if "URL" in key or key.startswith("PG")] == ["DATABASE_URL"]
    if variant.rls:
        owner = login(readme_urls(project)["DIRECT_DATABASE_URL"])
        assert login(app["DATABASE_URL"])[0] != owner[0]
        assert f":{owner[1]}@" not in yaml.safe_dump(app)


@pytest.mark.parametrize(
    "variant", variant_params([v for v in WITH_COMPOSE if v.pooling == "pgbouncer"])
)
def test_pgbouncer_knows_the_role_that_serves_requests_and_no_other(
    project: Path, variant: Variant
) -> None:
    role, password, _ = login(readme_urls(project)["DATABASE_URL"])
    userlist = (project / "pgbouncer" / "userlist.txt").read_text()
    assert userlist == f'"{role}" "{password}"\n'
    for service in services(project).values():
        for key, url in service.get("environment", {}).items():
            if key == "DATABASE_URL":
                assert urlsplit(url).netloc.endswith("@pgbouncer:6432")


@every_variant
def test_every_port_listens_on_this_machine_alone(project: Path, variant: Variant) -> None:
    ports = [port for service in services(project).values() for port in service.get("ports", [])]
    assert ports
    assert [port for port in ports if not port.startswith("127.0.0.1:")] == []
