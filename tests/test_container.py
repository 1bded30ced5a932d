"""The production container, proven without a Docker engine: each rendered Dockerfile passes
hadolint, and its image, as Docker would build it from the Dockerfile and .dockerignore, holds the
service and its runtime dependencies only, runs as a numeric non-root user, and stops on SIGTERM.

What this cannot prove, because nothing here runs Docker: that the images build, that the
service starts in one, and that its health check passes there (the generated README says so).
"""

import ast
import http.server
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from tests import dockerfile, linters
from tests.matrix import DATABASE_VARIANTS, FEATURE_VARIANTS, Variant
from tests.plugins.rendering import PACKAGE_NAME, variant_params

pytestmark = pytest.mark.render

WITH_DOCKER = [v for v in DATABASE_VARIANTS + FEATURE_VARIANTS if v.feature["docker"]]
# The image's files, and the paths the service's user must never find there.
APP = PurePosixPath("/app")
DEV_ONLY = ("tests", "conftest.py", ".env", ".git", ".github", ".pre-commit-config.yaml")


def dockerfiles(project: Path) -> list[Path]:
    found = sorted(project.rglob("Dockerfile"))
    assert found, f"{project} has no Dockerfile"
    return found


def runtime_stage(project: Path) -> dockerfile.Stage:
    """The service image's last stage: what `docker build .` tags."""
    return dockerfile.parse(project / "Dockerfile")[-1]


def runtime_files(project: Path) -> dict[str, dockerfile.Origin]:
    """The runtime image's files, as `docker build .` would make them."""
    return dockerfile.image_files(project / "Dockerfile", dockerfile.build_context(project))


@pytest.mark.parametrize("variant", variant_params(WITH_DOCKER))
def test_the_dockerfiles_pass_hadolint(project: Path) -> None:
    assert linters.hadolint(dockerfiles(project), project) == []


@pytest.mark.parametrize("variant", variant_params(WITH_DOCKER))
def test_every_image_is_pinned_to_a_release(project: Path) -> None:
    # hadolint checks FROM, but not an image that COPY --from names (uv's).
    for path in dockerfiles(project):
        stages = dockerfile.parse(path)
        names = {stage.name for stage in stages}
        images = [stage.image for stage in stages if stage.image not in names]
        for stage in stages:
            for copy in stage.all("COPY"):
                source = copy.split()[0].get("from")
                if source and source not in names:
                    images.append(source)
        for image in images:
            name = image.split("@")[0].rsplit("/", 1)[-1]
            tag = name.partition(":")[2]
            assert "@sha256:" in image or tag not in ("", "latest"), f"{path}: {image}"


@pytest.mark.parametrize("variant", variant_params(WITH_DOCKER))
def test_every_image_runs_as_a_numeric_non_root_user(project: Path) -> None:
    for path in dockerfiles(project):
        user = dockerfile.parse(path)[-1].last("USER")
        assert user is not None, f"{path} runs as root"
        uid, _, gid = user.arguments.partition(":")
        assert uid.isdigit(), f"{path}: USER {user.arguments}"
        assert int(uid) != 0
        assert not gid or (gid.isdigit() and int(gid) != 0)


@pytest.mark.parametrize("variant", variant_params(WITH_DOCKER))
def test_the_image_runs_in_production_unless_told_otherwise(project: Path) -> None:
    # Its settings then refuse what production must not run with, and serve no API docs;
    # compose.yaml, for development, says so itself.
    env = {}
    for instruction in runtime_stage(project).all("ENV"):
        env.update(word.split("=", 1) for word in shlex.split(instruction.arguments))
    assert env["ENVIRONMENT"] == "production"


@pytest.mark.parametrize("variant", variant_params(WITH_DOCKER))
def test_the_build_context_leaves_out_tests_secrets_and_the_environment(project: Path) -> None:
    leaked = [
        name
        for name in dockerfile.build_context(project)
        if set(PurePosixPath(name).parts) & {*DEV_ONLY, ".venv"}
    ]
    assert leaked == []


@pytest.mark.parametrize("variant", variant_params(WITH_DOCKER))
def test_the_runtime_image_has_no_tests_or_dev_tools(project: Path) -> None:
    files = runtime_files(project)
    assert [path for path in files if set(PurePosixPath(path).parts) & set(DEV_ONLY)] == []
    # Only the virtual environment comes from another stage (uv itself stays in `build`)...
    from_stages = {path: origin for path, origin in files.items() if origin.stage is not None}
    assert from_stages == {str(APP / ".venv"): dockerfile.Origin("/app/.venv", "build")}
    # ...and `build` makes it from the lock file without the dev group (pytest, ruff, mypy).
    build = next(s for s in dockerfile.parse(project / "Dockerfile") if s.name == "build")
    syncs = [run.arguments for run in build.all("RUN") if "uv sync" in run.arguments]
    assert syncs
    assert all("--no-dev" in sync.split() and "--locked" in sync.split() for sync in syncs)


@pytest.mark.parametrize("variant", variant_params(WITH_DOCKER))
def test_the_runtime_image_has_the_service_and_its_migrations(project: Path) -> None:
    files = runtime_files(project)
    package = project / "src" / PACKAGE_NAME
    modules = {
        str(APP / path.relative_to(project))
        for path in package.rglob("*.py")
        if "tests" not in path.relative_to(package).parts
    }
    migrations = {
        str(APP / path.relative_to(project)) for path in project.glob("migrations/**/*.py")
    }
    assert modules - files.keys() == set()
    assert migrations - files.keys() == set()
    # `migrate` reads alembic.ini beside src/ (the package is installed editable, from /app/src).
    assert str(APP / "alembic.ini") in files


@pytest.mark.parametrize("variant", variant_params(WITH_DOCKER))
def test_the_service_is_pid_1_and_gets_sigterm(project: Path, variant: Variant) -> None:
    stage = runtime_stage(project)
    # Exec form and no ENTRYPOINT: no shell between `docker stop` and the service.
    assert stage.last("ENTRYPOINT") is None
    command = stage.last("CMD")
    assert command is not None
    assert command.exec_form is not None, f"CMD {command.arguments} runs under /bin/sh -c"
    stop_signal = stage.last("STOPSIGNAL")
    assert stop_signal is None or stop_signal.arguments == "SIGTERM"
    # runserver serves with uvicorn in-process, which drains on SIGTERM: it stops accepting
    # connections and gives those in flight SHUTDOWN_TIMEOUT_SECONDS (tests/test_cli.py).
    if variant.framework == "fastapi":
        assert command.exec_form[:2] == [PACKAGE_NAME, "runserver"]


class HealthzStandIn(http.server.HTTPServer):
    """Answers GET /healthz with `status`, on a free loopback port."""

    status = 200


class _Handler(http.server.BaseHTTPRequestHandler):
    server: HealthzStandIn

    def do_GET(self) -> None:
        self.send_response(self.server.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def healthz() -> Iterator[HealthzStandIn]:
    """A stand-in for the service's /healthz, served from a thread for the test."""
    server = HealthzStandIn(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def healthcheck(project: Path) -> list[str]:
    """The runtime image's HEALTHCHECK command, after its options."""
    instruction = runtime_stage(project).last("HEALTHCHECK")
    assert instruction is not None
    _, _, command = instruction.arguments.partition("CMD ")
    parsed = dockerfile.Instruction("CMD", command).exec_form
    assert parsed is not None, "HEALTHCHECK CMD runs under /bin/sh -c"
    return parsed


def probe(command: list[str], port: int) -> int:
    """Run the health check as the image would, against `port` instead of the service's."""
    assert command[:2] == ["python", "-c"]  # the slim image has no curl
    code = command[2].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    ast.parse(code)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, check=False).returncode


API_IMAGES = [v for v in WITH_DOCKER if v.framework == "fastapi"]


@pytest.mark.parametrize("variant", variant_params(API_IMAGES))
def test_the_healthcheck_asks_healthz_on_the_port_uvicorn_serves(project: Path) -> None:
    served = runtime_stage(project).last("CMD")
    assert served is not None
    assert served.exec_form is not None
    port = served.exec_form[served.exec_form.index("--port") + 1]
    assert f"http://127.0.0.1:{port}/healthz" in healthcheck(project)[2]


@pytest.mark.parametrize("variant", variant_params(API_IMAGES))
def test_the_healthcheck_passes_only_while_healthz_answers_200(
    project: Path, healthz: HealthzStandIn
) -> None:
    command = healthcheck(project)
    port = healthz.server_address[1]
    assert probe(command, port) == 0
    healthz.status = 503
    assert probe(command, port) == 1
    with socket.socket() as unused:  # a port nothing listens on: the service is down
        unused.bind(("127.0.0.1", 0))
        assert probe(command, unused.getsockname()[1]) == 1
