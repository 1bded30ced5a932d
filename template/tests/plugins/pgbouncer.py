"""PgBouncer in transaction mode in front of the test database, as in production.

TEST_PGBOUNCER_URL, when set, names a running PgBouncer (transaction mode) that pools the test
database. Otherwise the `pgbouncer_url` fixture starts one for the test session, in front of
`postgres_url`: the `pgbouncer` binary, run as the `postgres` OS user when the tests run as root, on
a free loopback port, with this project's pgbouncer/pooling.ini, which compose.yaml uses too.
Where PgBouncer is missing, the tests that need it fail when CI is set and skip otherwise, saying
how to install it.
"""

from __future__ import annotations

import contextlib
import csv
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.plugins.postgres import find_bindir

URL_VARIABLE = "TEST_PGBOUNCER_URL"
POOLING_INI = Path(__file__).resolve().parents[2] / "pgbouncer" / "pooling.ini"
INSTALL_HINT = (
    "PgBouncer is not installed: `apt-get install pgbouncer` (Debian, Ubuntu), "
    f"`brew install pgbouncer` (macOS), or set {URL_VARIABLE} to a running one"
)
_TIMEOUT = 30


class PgBouncerUnavailableError(RuntimeError):
    """PgBouncer did not start or stop; the message says what it waited for."""


def find_pgbouncer() -> Path | None:
    """The pgbouncer binary, on PATH or where packages install it."""
    candidates = [shutil.which("pgbouncer"), "/usr/sbin/pgbouncer", "/usr/local/bin/pgbouncer"]
    candidates.append("/opt/homebrew/bin/pgbouncer")
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def require_pgbouncer() -> Path:
    """The pgbouncer binary. Without one, fail the test under CI, and skip it elsewhere."""
    binary = find_pgbouncer()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return binary


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise PgBouncerUnavailableError(f"gave up after {_TIMEOUT}s waiting for {what}")
        time.sleep(0.05)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@dataclass
class PgBouncer:
    """A PgBouncer for the test session, in a temporary directory; restartable for outage tests."""

    binary: Path
    root: Path
    port: int
    os_user: str | None

    @property
    def config(self) -> Path:
        return self.root / "pgbouncer.ini"

    @property
    def pidfile(self) -> Path:
        return self.root / "pgbouncer.pid"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @classmethod
    def start(
        cls, binary: Path, server_url: str, logins: Mapping[str, str] | None = None
    ) -> PgBouncer:
        """Start a PgBouncer that pools the server of `server_url`; the caller must stop() it.

        Clients log in as the URL's user, or as a user of `logins` (name: password), and
        PgBouncer logs in to PostgreSQL as that same user, as production PgBouncers do.
        """
        server = urlsplit(server_url)
        os_user = pwd.getpwnam("postgres").pw_name if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="pytest-pgbouncer-"))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        bouncer = cls(binary, root, port, os_user)
        # Every client database maps to the server's database of the same name. PgBouncer
        # trusts its loopback clients, and logs in to PostgreSQL with the passwords listed here.
        users = {server.username or "postgres": unquote(server.password or ""), **(logins or {})}
        auth_file = root / "userlist.txt"
        auth_file.write_text("".join(f'"{user}" "{secret}"\n' for user, secret in users.items()))
        # A copy of the project's pooling settings: PgBouncer's OS user may not read the project.
        pooling = shutil.copy(POOLING_INI, root / "pooling.ini")
        bouncer.config.write_text(
            f"[databases]\n* = host={server.hostname} port={server.port or 5432}\n\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {auth_file}\nadmin_users = postgres\n"
            f"logfile = {root / 'pgbouncer.log'}\npidfile = {bouncer.pidfile}\n"
            f"%include {pooling}\n"
        )
        if os_user is not None:
            for path in (root, bouncer.config, auth_file, pooling):
                shutil.chown(path, user=os_user)
        try:
            bouncer.start_process()
        except BaseException:
            bouncer.stop()
            raise
        return bouncer

    def start_process(self) -> None:
        """(Re)start the daemon and wait until it accepts connections."""
        command = [str(self.binary), "-d", str(self.config)]
        result = subprocess.run(
            command, user=self.os_user, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise PgBouncerUnavailableError(f"pgbouncer did not start:\n{result.stderr}")
        _wait(lambda: _accepts(self.port), f"PgBouncer to accept connections on port {self.port}")

    def stop_process(self) -> None:
        """Shut the daemon down at once (SIGTERM): its clients' connections drop."""
        if not self.pidfile.exists():
            return
        pid = int(self.pidfile.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        _wait(lambda: not _accepts(self.port), f"PgBouncer (pid {pid}) to stop listening")
        _wait(lambda: not self.pidfile.exists(), f"PgBouncer (pid {pid}) to exit")

    def stop(self) -> None:
        """Stop the daemon and delete its directory."""
        try:
            self.stop_process()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def show(url: str, what: str) -> list[dict[str, str]]:
    """SHOW WHAT on the admin console of the PgBouncer that `url` points at; a dict per row."""
    target = urlsplit(url)
    command = [str(find_bindir() / "psql"), "-h", target.hostname or "127.0.0.1"]
    command += ["-p", str(target.port or 6432), "-U", target.username or "postgres"]
    command += ["-d", "pgbouncer", "--csv", "-c", f"SHOW {what}"]
    env = {**os.environ, "PGPASSWORD": unquote(target.password or "")}
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return list(csv.DictReader(output.splitlines()))


@pytest.fixture(scope="session")
def pgbouncer_logins() -> dict[str, str]:
    """Users besides the test database's own that PgBouncer lets through (name: password)."""
    return {}


@pytest.fixture(scope="session")
def pgbouncer_url(postgres_url: str, pgbouncer_logins: dict[str, str]) -> Iterator[str]:
    """A URL through PgBouncer to the test database: TEST_PGBOUNCER_URL, or one started here."""
    if url := os.environ.get(URL_VARIABLE):
        yield url
        return
    bouncer = PgBouncer.start(require_pgbouncer(), postgres_url, pgbouncer_logins)
    try:
        yield bouncer.url(urlsplit(postgres_url).path.lstrip("/"))
    finally:
        bouncer.stop()
