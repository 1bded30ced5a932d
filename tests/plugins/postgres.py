"""One PostgreSQL cluster for the run, shared by the xdist workers, and a database per variant.

The cluster code is the rendered project's own (template/tests/plugins/postgres.py), loaded from
the template, so these tests exercise exactly what users run. The first worker that needs the
cluster starts it, under a file lock; the controller process stops it and deletes it when the
run ends, whether the tests passed or not.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from filelock import FileLock

from tests.plugins.rendering import TEMPLATE_ROOT

STATE_VARIABLE = "TEMPLATE_TESTS_STATE_DIR"


def _load_cluster_module() -> ModuleType:
    path = TEMPLATE_ROOT / "template" / "tests" / "plugins" / "postgres.py"
    spec = importlib.util.spec_from_file_location("rendered_postgres_plugin", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: dataclasses look their module up while being defined.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cluster_module = _load_cluster_module()
PostgresCluster = cluster_module.PostgresCluster


def _saved_cluster(info: Path) -> object:
    fields = json.loads(info.read_text())
    return PostgresCluster(
        **{**fields, "bindir": Path(fields["bindir"]), "root": Path(fields["root"])}
    )


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    # Workers start after this hook and inherit the variable: that is how they share the state.
    if _is_controller(config):
        os.environ[STATE_VARIABLE] = tempfile.mkdtemp(prefix="template-tests-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _is_controller(config):
        return
    state = Path(os.environ.pop(STATE_VARIABLE))
    info = state / "cluster.json"
    if info.exists():
        _saved_cluster(info).stop()  # type: ignore[attr-defined]
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster() -> object:
    """The run's cluster, started by whichever worker asks first."""
    state = Path(os.environ[STATE_VARIABLE])
    info = state / "cluster.json"
    with FileLock(state / "cluster.lock"):
        if info.exists():
            return _saved_cluster(info)
        cluster = PostgresCluster.start()
        # This module is no plugin here, so its session end would not delete the copy of
        # initdb's output it keeps for the next cluster; the run starts no other.
        cluster_module.remove_fresh_data_dirs()
        info.write_text(json.dumps(dataclasses.asdict(cluster), default=str))
        return cluster


@pytest.fixture(scope="session")
def create_database(cluster: object) -> Callable[[str], str]:
    """Create an empty database on the shared cluster and return its URL."""
    create: Callable[[str], str] = cluster.create_database  # type: ignore[attr-defined]
    return create
