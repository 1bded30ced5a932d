"""Project trees as data: every file under a directory, with its bytes and whether it is
executable, taken at one moment; and how two such trees differ, in lines a person can read.

A snapshot is taken as soon as Copier has written a project, so that later checks compare what
Copier wrote, not what installing or testing the project added to it since (`uv.lock`,
`__pycache__`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class File:
    content: bytes
    executable: bool


#: Relative POSIX path -> file.
Tree = Mapping[str, File]


def snapshot(root: Path) -> dict[str, File]:
    """Every file under `root`, outside `.git` (a repository's metadata is not a project file)."""
    files = {}
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if name != ".git")
        for name in names:
            path = Path(directory, name)
            files[path.relative_to(root).as_posix()] = File(
                path.read_bytes(), os.access(path, os.X_OK)
            )
    return dict(sorted(files.items()))


def write(tree: Tree, root: Path) -> Path:
    """Write `tree` under `root` (which must not exist yet); return `root`."""
    root.mkdir(parents=True)
    for name, file in tree.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.content)
        path.chmod(0o755 if file.executable else 0o644)
    return root


def _text_diff(name: str, expected: bytes, actual: bytes) -> str:
    try:
        lines = difflib.unified_diff(
            expected.decode().splitlines(),
            actual.decode().splitlines(),
            f"expected/{name}",
            f"actual/{name}",
            lineterm="",
        )
    except UnicodeDecodeError:
        return f"{name}: binary contents differ"
    return "\n".join(list(lines)[:40])


def differences(expected: Tree, actual: Tree) -> list[str]:
    """What differs between two trees: files only in one, contents, the executable bit."""
    found = [f"only expected: {name}" for name in expected.keys() - actual.keys()]
    found += [f"not expected: {name}" for name in actual.keys() - expected.keys()]
    for name in sorted(expected.keys() & actual.keys()):
        want, got = expected[name], actual[name]
        if want.content != got.content:
            found.append(_text_diff(name, want.content, got.content))
        if want.executable != got.executable:
            found.append(f"{name}: executable {got.executable}, expected {want.executable}")
    return sorted(found)
