"""PgBouncer in transaction mode in front of the test database, as in production.

TEST_PGBOUNCER_URL, when set, names a running PgBouncer (transaction mode) that pools the test
database. Otherwise the `pgbouncer_url` fixture starts one for the test session, in front of
`postgres_url`: the newest `pgbouncer` binary found, run as the `postgres` OS user when the tests
run as root, on a free loopback port, with this project's pgbouncer/pooling.ini, which
compose.yaml uses too. Clients log in with a password (SCRAM-SHA-256), as hosted poolers ask,
so every new connection costs what it costs in production.

Where PgBouncer is missing, or too old for a test (prepared statements need 1.21), the tests that
need it fail when CI is set and skip otherwise, saying how to install it.
"""

from __future__ import annotations

import contextlib
import csv
import os
import pwd
import re
import secrets
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
#: The first release that tracks protocol-level prepared statements in transaction mode.
PREPARED_STATEMENTS_SINCE = (1, 21)
_TIMEOUT = 30


class PgBouncerUnavailableError(RuntimeError):
    """PgBouncer did not start or stop; the message says what it waited for."""


def version(binary: Path) -> tuple[int, ...]:
    """PgBouncer's release, from `pgbouncer --version` ("PgBouncer 1.24.1"); () if unreadable."""
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    found = re.match(r"PgBouncer (\d+(?:\.\d+)*)", result.stdout)
    return tuple(int(part) for part in found.group(1).split(".")) if found else ()


def find_pgbouncer() -> Path | None:
    """The newest pgbouncer binary: on PATH, or where packages and source builds install it."""
    candidates = {shutil.which("pgbouncer"), "/usr/sbin/pgbouncer", "/usr/local/bin/pgbouncer"}
    candidates |= {"/usr/local/sbin/pgbouncer", "/opt/homebrew/bin/pgbouncer"}
    found = [Path(c) for c in candidates if c and Path(c).is_file()]
    return max(found, key=version, default=None)


def require_pgbouncer() -> Path:
    """The newest pgbouncer binary. Without one, fail the test under CI, and skip it elsewhere."""
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
    # What clients log in with, as `postgres`.
    password: str

    @property
    def config(self) -> Path:
        return self.root / "pgbouncer.ini"

    @property
    def pidfile(self) -> Path:
        return self.root / "pgbouncer.pid"

    def url(self, database: str) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def tracks_prepared_statements(self) -> bool:
        return version(self.binary) >= PREPARED_STATEMENTS_SINCE

    @classmethod
    def start(
        cls,
        binary: Path,
        server_url: str,
        logins: Mapping[str, str] | None = None,
        changes: Mapping[str, str] | None = None,
    ) -> PgBouncer:
        """Start a PgBouncer that pools the server of `server_url`; the caller must stop() it.

        Clients log in with SCRAM-SHA-256 as the URL's user, whose password is the URL's (or,
        for a server that trusts its clients, a new one), or as a user of `logins`
        (name: password). PgBouncer logs in to PostgreSQL as that same user, with that same
        password, as production PgBouncers do. It pools as pgbouncer/pooling.ini says, but for
        the settings in `changes` (name: value).
        """
        server = urlsplit(server_url)
        os_user = pwd.getpwnam("postgres").pw_name if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="pytest-pgbouncer-"))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        password = unquote(server.password or "") or secrets.token_urlsafe(16)
        bouncer = cls(binary, root, port, os_user, password)
        users = {server.username or "postgres": password, **(logins or {})}
        auth_file = root / "userlist.txt"
        auth_file.write_text("".join(f'"{user}" "{secret}"\n' for user, secret in users.items()))
        # A copy of the project's pooling settings: PgBouncer's OS user may not read the project.
        pooling = shutil.copy(POOLING_INI, root / "pooling.ini")
        # Releases that track prepared statements do so only with a limit above 0 (the default
        # since 1.24; 0 before it).
        prepared = "max_prepared_statements = 200\n" if bouncer.tracks_prepared_statements else ""
        bouncer.config.write_text(
            f"[databases]\n* = host={server.hostname} port={server.port or 5432}\n\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = scram-sha-256\nauth_file = {auth_file}\nadmin_users = postgres\n"
            f"logfile = {root / 'pgbouncer.log'}\npidfile = {bouncer.pidfile}\n{prepared}"
            f"%include {pooling}\n"
            # After the include: PgBouncer keeps the last value it reads for a setting.
            + "".join(f"{name} = {value}\n" for name, value in (changes or {}).items())
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
        try:
            result = subprocess.run(
                command, user=self.os_user, capture_output=True, text=True, check=False
            )
        except PermissionError:
            raise PgBouncerUnavailableError(
                f"the {self.os_user} OS user cannot run {self.binary}: install PgBouncer where "
                "every user can run it"
            ) from None
        if result.returncode != 0:
            raise PgBouncerUnavailableError(f"pgbouncer did not start:\n{result.stderr}")
        _wait(lambda: _accepts(self.port), f"PgBouncer to accept connections on port {self.port}")

    def stop_process(self) -> None:
        """Shut the daemon down at once: its clients' connections drop."""
        if not self.pidfile.exists():
            return
        pid = int(self.pidfile.read_text())
        # SIGQUIT since 1.23; before it, SIGTERM (which now waits for every client to leave).
        immediately = signal.SIGQUIT if version(self.binary) >= (1, 23) else signal.SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, immediately)
        _wait(lambda: not _accepts(self.port), f"PgBouncer (pid {pid}) to stop listening")
        _wait(lambda: not self.pidfile.exists(), f"PgBouncer (pid {pid}) to exit")

    def stop(self) -> None:
        """Stop the daemon and delete its directory."""
        try:
            self.stop_process()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def pooling_settings() -> dict[str, str]:
    """pgbouncer/pooling.ini's settings (name: value), as PgBouncer's SHOW CONFIG spells them."""
    lines = (line.strip() for line in POOLING_INI.read_text().splitlines())
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith(";"))
    return {name.strip(): value.strip() for name, value in pairs}


def show(url: str, what: str) -> list[dict[str, str]]:
    """SHOW WHAT on the admin console of the PgBouncer that `url` points at; a dict per row."""
    target = urlsplit(url)
    command = [str(find_bindir() / "psql"), "-h", target.hostname or "127.0.0.1"]
    command += ["-p", str(target.port or 6432), "-U", target.username or "postgres"]
    command += ["-d", "pgbouncer", "--csv", "-c", f"SHOW {what}"]
    env = {**os.environ, "PGPASSWORD": unquote(target.password or "")}
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return list(csv.DictReader(output.splitlines()))


def require_prepared_statements(url: str) -> None:
    """Fail the test under CI, and skip it elsewhere, unless the PgBouncer at `url` tracks
    prepared statements: a release that knows max_prepared_statements, with it above 0."""
    config = {row["key"]: row["value"] for row in show(url, "CONFIG")}
    if int(config.get("max_prepared_statements", "0")) > 0:
        return
    wanted = ".".join(map(str, PREPARED_STATEMENTS_SINCE))
    missing = (
        f"this test needs a PgBouncer that tracks prepared statements ({wanted} or newer, with "
        "max_prepared_statements above 0): install a newer one (Debian 13 and Ubuntu 24.04 ship "
        f"one) where PATH finds it, or point {URL_VARIABLE} at one"
    )
    if os.environ.get("CI"):
        pytest.fail(missing)
    pytest.skip(missing)


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
