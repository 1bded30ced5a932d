"""The generated service works as its README says: rendered with the default answers and set up
with the README's commands it passes its tests, and `runserver` serves its API over real HTTP."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.matrix import Variant
from tests.plugins.environments import Installed
from tests.plugins.rendering import PACKAGE_NAME, render, run, variant_params

pytestmark = pytest.mark.full

SERVED = [
    Variant("fastapi", "sync", "psycopg", "app", "uuid", rls=False),
    Variant("fastapi", "async", "asyncpg", "pgbouncer", "bigint", rls=False),
]


def test_the_readme_commands_give_a_service_whose_tests_pass(tmp_path: Path) -> None:
    # `copier copy --defaults --vcs-ref HEAD`, then `uv sync` and `uv run pytest` with no
    # TEST_DATABASE_URL: the tests start their own throwaway PostgreSQL cluster.
    project = render(tmp_path / "service", {})
    run(["uv", "sync", "--quiet"], project)
    env = {name: value for name, value in os.environ.items() if name != "TEST_DATABASE_URL"}
    result = subprocess.run(
        ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env={**env, "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def request(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One HTTP request; returns the status and the decoded JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data, headers), timeout=10
        ) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def server(
    installed: Installed, variant: Variant, create_database: Callable[[str], str]
) -> Iterator[str]:
    """`{package} migrate`, then `{package} runserver` on a free port; yields its base URL."""
    # No pooler runs here: migrations and the service both talk to PostgreSQL itself.
    url = create_database(f"{variant.database_name}_served")
    env = {**os.environ, **installed.env, "DATABASE_URL": url, "DIRECT_DATABASE_URL": url}
    command = [str(installed.python), "-m", PACKAGE_NAME]
    subprocess.run(
        [*command, "migrate"], cwd=installed.path, env=env, check=True, capture_output=True
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [*command, "runserver", "--port", str(port)],
        cwd=installed.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request(f"{base}/healthz")
                break
            except (urllib.error.URLError, ConnectionError) as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"runserver did not answer /healthz on {base}") from error
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    # uvicorn ran the lifespan's shutdown (which disposes the engine) and exited cleanly.
    assert "Application shutdown complete." in output, output
    assert process.returncode == 0, output


@pytest.mark.parametrize("variant", variant_params(SERVED))
def test_runserver_serves_the_api(server: str) -> None:
    assert request(f"{server}/healthz") == (200, {"status": "ok"})
    assert request(f"{server}/readyz") == (200, {"status": "ok"})
    status, user = request(f"{server}/users", {"email": "ada@example.com"})
    assert status == 201
    assert request(f"{server}/users/{user['id']}") == (200, user)
    assert request(f"{server}/users", {"email": "ADA@example.com"})[0] == 409
    status, post = request(
        f"{server}/posts",
        {"author_id": user["id"], "title": "Hi", "body": "...", "published": True},
    )
    assert status == 201
    assert request(f"{server}/posts?author_id={user['id']}") == (200, [post])
