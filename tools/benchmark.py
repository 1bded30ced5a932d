"""Requests per second and server CPU per request of rendered services, beside a hand-written
minimal app, through a PostgreSQL and a PgBouncer that ask for SCRAM-SHA-256 passwords as hosted
ones do.

    uv run python tools/benchmark.py                # 12 rounds of 3 s per configuration
    uv run python tools/benchmark.py --rounds 20 --seconds 5

It renders the default answers (sync, psycopg 3) and async with asyncpg, each with pooling=app
and pooling=pgbouncer, installs them, and serves `GET /users/{id}` of the sample accounts app
with uvicorn (one process, as `runserver` starts it) under wrk (Debian's package `wrk`), 8
connections, from a second process. Configurations, for each driver:

- minimal: a hand-written FastAPI + SQLAlchemy app doing the same work (a pre-pinged pool of 5
  straight to PostgreSQL; BEGIN, the SELECT, COMMIT; the same JSON), in the same environment;
- direct: the service rendered with pooling=app, straight to PostgreSQL;
- pooler, nullpool: pooling=pgbouncer with DB_NULLPOOL=true, a new pooler connection per request;
- pooler, client pool: pooling=pgbouncer as rendered, a few connections kept open to PgBouncer;
- pooler, client pool, pre-ping: the same with DB_POOL_PRE_PING=true (off by default there);
- pooler, prepared: the same with DB_PREPARED_STATEMENTS=true, through PgBouncer 1.21 or newer.

The server runs alone on the first CPU; PostgreSQL, PgBouncer and wrk share the others, so that
they neither slow the server down nor inflate its CPU time. Every configuration's server runs
from start to end, warmed up once; rounds load them in turn (A B C ..., A B C ...), so that a
configuration and its neighbours are measured seconds apart, and the table gives each one's
median over the rounds, and ratios of neighbours within a round. CPU per request is the server
process's user and system time over the requests it answered. It is a script, not a test: its
figures belong to the machine it ran on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "bench_service"
PASSWORD = "bench-Secret-0"
CONNECTIONS = 8
USER_ID = "6f1c1d9e-0e51-4d0b-9a3e-4f5f9d3c2b10"
DRIVERS = {"sync": "psycopg", "async": "asyncpg"}

#: PgBouncer for the benchmark: transaction mode, as many server connections as the direct
#: configurations' pools keep (the rendered pooling.ini keeps 2, so that tests share them).
POOLING = "pool_mode = transaction\ndefault_pool_size = 5\nmax_client_conn = 500\n"

MINIMAL = '''"""GET /users/{id} written by hand: the baseline for the rendered service."""

import os
import uuid
from datetime import datetime

from fastapi import FastAPI, HTTPException
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
%(imports)s

engine = %(create_engine)s(
    os.environ["DATABASE_URL"], pool_size=5, max_overflow=10, pool_pre_ping=True
)
sessions = %(sessionmaker)s(engine, expire_on_commit=False)
app = FastAPI()


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]


@app.get("/users/{user_id}")
%(define)s read_user(user_id: uuid.UUID) -> dict[str, object]:
    %(begin)s sessions.begin() as session:
        user = %(await)ssession.get(User, user_id)
    if user is None:
        raise HTTPException(404, "user not found")
    return {"id": user.id, "email": user.email, "created_at": user.created_at}
'''
MINIMAL_SYNC = {
    "imports": "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker",
    "create_engine": "create_engine",
    "sessionmaker": "sessionmaker",
    "define": "def",
    "begin": "with",
    "await": "",
}
MINIMAL_ASYNC = {
    "imports": "from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine",
    "create_engine": "create_async_engine",
    "sessionmaker": "async_sessionmaker",
    "define": "async def",
    "begin": "async with",
    "await": "await ",
}


#: The server's CPU, and everyone else's.
SERVER_CPUS = {min(os.sched_getaffinity(0))}
OTHER_CPUS = os.sched_getaffinity(0) - SERVER_CPUS or SERVER_CPUS


def pin(pid: int, cpus: set[int]) -> None:
    """Keep a process, its threads and the children it has so far on `cpus`; children it
    starts later inherit that."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cpus)
    for child in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if (child / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                pin(int(child.name), cpus)


@dataclass(frozen=True, eq=False)
class Configuration:
    concurrency: str
    name: str
    project: Path
    module: str  # the ASGI app, module:attribute
    url: str
    settings: dict[str, str]


@dataclass
class Measured:
    requests_per_second: list[float]
    cpu_ms_per_request: list[float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User plus system time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def render(destination: Path, concurrency: str, pooling: str) -> Path:
    answers = {
        "project_name": "Bench Service",
        "concurrency": concurrency,
        "driver": DRIVERS[concurrency],
        "pooling": pooling,
        "primary_key": "uuid",
    }
    # The working tree is what is measured, uncommitted changes included.
    warnings.filterwarnings("ignore", category=copier.errors.DirtyLocalWarning)
    copier.run_copy(str(ROOT), destination, data=answers, defaults=True, vcs_ref="HEAD", quiet=True)
    subprocess.run(["uv", "sync", "--quiet", "--no-dev"], cwd=destination, check=True)
    return destination


@contextlib.contextmanager
def serving(configuration: Configuration) -> Iterator[tuple[int, int]]:
    """The configuration's app under uvicorn on a free port; yields the port and the pid."""
    port = free_port()
    python = configuration.project / ".venv" / "bin" / "python"
    command = [str(python), "-m", "uvicorn", configuration.module, "--port", str(port)]
    env = {
        **os.environ,
        "DATABASE_URL": configuration.url,
        "PYTHONPATH": str(configuration.project),
        **configuration.settings,
    }
    server = subprocess.Popen(
        command,
        cwd=configuration.project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, SERVER_CPUS),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/users/{USER_ID}", timeout=5)
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"{configuration.name} did not serve GET /users/{USER_ID}")
            time.sleep(0.2)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def load(port: int, seconds: int) -> tuple[int, float]:
    """wrk against GET /users/{id}: how many requests were answered, and per second."""
    url = f"http://127.0.0.1:{port}/users/{USER_ID}"
    command = ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", url]
    output = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, OTHER_CPUS),
    ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")
    answered = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return answered, per_second


def measure(port: int, server: int, seconds: int) -> tuple[float, float]:
    """One round of one server: requests per second and its CPU milliseconds per request."""
    before = cpu_seconds(server)
    answered, per_second = load(port, seconds)
    used = cpu_seconds(server) - before
    return per_second, 1000 * used / answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("error: wrk is not installed (apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="benchmark-"))
    try:
        run(work, args.rounds, args.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, rounds: int, seconds: int) -> None:
    projects = {
        (concurrency, pooling): render(work / f"{concurrency}-{pooling}", concurrency, pooling)
        for concurrency in DRIVERS
        for pooling in ("app", "pgbouncer")
    }
    # The rendered tests' own PostgreSQL and PgBouncer fixtures, from one of the projects.
    sys.path.insert(0, str(projects["sync", "pgbouncer"]))
    from tests.plugins import pgbouncer, postgres

    pooling_ini = work / "pooling.ini"
    pooling_ini.write_text(POOLING)
    pgbouncer.POOLING_INI = pooling_ini
    with postgres.throwaway_cluster(password=PASSWORD) as cluster:
        pin(int((cluster.data_dir / "postmaster.pid").read_text().split()[0]), OTHER_CPUS)
        configurations = []
        bouncers = []
        try:
            for (concurrency, pooling), project in projects.items():
                database = f"{concurrency}_{pooling}"
                cluster.create_database(database)
                direct = cluster.url(database)
                environment = {**os.environ, "DATABASE_URL": direct, "DIRECT_DATABASE_URL": direct}
                subprocess.run(
                    [project / ".venv" / "bin" / "python", "-m", PACKAGE, "migrate"],
                    cwd=project,
                    env=environment,
                    check=True,
                    capture_output=True,
                )
                cluster.psql(
                    f"INSERT INTO users (id, email) VALUES ('{USER_ID}', 'bench@example.com')",
                    database,
                )
                scheme = f"postgresql+{DRIVERS[concurrency]}"
                if pooling == "app":
                    minimal = project / "minimal.py"
                    flags = MINIMAL_SYNC if concurrency == "sync" else MINIMAL_ASYNC
                    minimal.write_text(MINIMAL % flags)
                    with_scheme = direct.replace("postgresql://", f"{scheme}://")
                    configurations.append(
                        Configuration(
                            concurrency, "minimal", project, "minimal:app", with_scheme, {}
                        )
                    )
                    configurations.append(
                        Configuration(
                            concurrency, "direct", project, f"{PACKAGE}.main:app", direct, {}
                        )
                    )
                    continue
                bouncer = pgbouncer.PgBouncer.start(pgbouncer.require_pgbouncer(), direct)
                bouncers.append(bouncer)
                pin(int(bouncer.pidfile.read_text()), OTHER_CPUS)
                pooled = bouncer.url(database)
                migrations = {"DIRECT_DATABASE_URL": direct}
                for name, settings in (
                    ("pooler, nullpool", {"DB_NULLPOOL": "true"}),
                    ("pooler, client pool", {}),
                    ("pooler, client pool, pre-ping", {"DB_POOL_PRE_PING": "true"}),
                    ("pooler, prepared", {"DB_PREPARED_STATEMENTS": "true"}),
                ):
                    configurations.append(
                        Configuration(
                            concurrency,
                            name,
                            project,
                            f"{PACKAGE}.main:app",
                            pooled,
                            {**migrations, **settings},
                        )
                    )
            results = {c: Measured([], []) for c in configurations}
            with contextlib.ExitStack() as servers:
                running = {c: servers.enter_context(serving(c)) for c in configurations}
                for port, _ in running.values():
                    load(port, 2)  # warm-up: pools filled, statements prepared, code imported
                for number in range(rounds):
                    for configuration, (port, server) in running.items():
                        per_second, cpu = measure(port, server, seconds)
                        results[configuration].requests_per_second.append(per_second)
                        results[configuration].cpu_ms_per_request.append(cpu)
                        print(
                            f"round {number + 1}: {configuration.concurrency} "
                            f"{configuration.name}: {per_second:.0f}/s, "
                            f"{cpu:.3f} ms CPU per request",
                            file=sys.stderr,
                        )
            report(results, rounds, seconds)
        finally:
            for bouncer in bouncers:
                bouncer.stop()


def report(results: dict[Configuration, Measured], rounds: int, seconds: int) -> None:
    """A Markdown table. The ratios are medians of each round's ratio, so that a round the
    machine was slower in counts against both sides of it."""
    print(
        f"{date.today()}, {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; median of {rounds} alternating rounds of {seconds} s; "
        f"wrk, {CONNECTIONS} connections; GET /users/{{id}}"
    )
    print()
    columns = ["driver", "configuration", "requests/s", "server CPU ms/request"]
    columns += ["throughput vs direct", "CPU efficiency vs minimal"]
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")
    for concurrency in DRIVERS:
        rows = {c.name: m for c, m in results.items() if c.concurrency == concurrency}
        direct, minimal = rows["direct"], rows["minimal"]
        for name, measured in rows.items():
            throughput = statistics.median(
                mine / theirs
                for mine, theirs in zip(
                    measured.requests_per_second, direct.requests_per_second, strict=True
                )
            )
            efficiency = statistics.median(
                theirs / mine
                for mine, theirs in zip(
                    measured.cpu_ms_per_request, minimal.cpu_ms_per_request, strict=True
                )
            )
            print(
                f"| {concurrency} {DRIVERS[concurrency]} | {name} "
                f"| {statistics.median(measured.requests_per_second):.0f} "
                f"| {statistics.median(measured.cpu_ms_per_request):.3f} "
                f"| {throughput:.2f}x | {efficiency:.2f}x |"
            )


if __name__ == "__main__":
    main()
