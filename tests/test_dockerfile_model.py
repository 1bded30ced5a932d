"""tests/dockerfile.py reads a Dockerfile and .dockerignore as Docker does: checked against the
examples in Docker's documentation of .dockerignore files (Build context page)."""

from pathlib import Path

import pytest

from tests import dockerfile

pytestmark = pytest.mark.render


def context(tmp_path: Path, ignore: str, names: list[str]) -> set[str]:
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / ".dockerignore").write_text(ignore)
    return dockerfile.build_context(tmp_path) - {".dockerignore"}


@pytest.mark.parametrize(
    ("ignore", "kept", "dropped"),
    [
        # "*/temp*": temp-prefixed entries one level down, not at the root.
        ("*/temp*", ["tempa", "a/b/temp.txt"], ["a/temp.txt", "a/temporary/x"]),
        ("*/*/temp*", ["a/temp.txt"], ["a/b/temp.txt"]),
        ("temp?", ["temp", "tempab"], ["tempa"]),
        ("**/*.go", ["go.mod"], ["main.go", "a/b/c.go"]),
        # The last matching line wins: README*.md is kept, other markdown dropped.
        ("*.md\n!README*.md\nREADME-secret.md", ["README.md"], ["a.md", "README-secret.md"]),
        # An allow-list, as the rendered project's .dockerignore is.
        ("*\n!src/\nsrc/*/tests", ["src/p/a.py"], ["x.py", "src/p/tests/t.py", ".env"]),
        ("# a comment\n/leading\n", ["a/leading"], ["leading"]),
    ],
)
def test_dockerignore_patterns_match_as_docker_documents(
    tmp_path: Path, ignore: str, kept: list[str], dropped: list[str]
) -> None:
    assert context(tmp_path, ignore, kept + dropped) == set(kept)


def test_copy_from_a_stage_brings_what_that_stage_copied(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim AS build\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "RUN uv sync\n"
        "FROM python:3.12-slim\n"
        "COPY --from=build /app /srv\n"
        'COPY ["a.txt", "/etc/"]\n'
    )
    files = dockerfile.image_files(tmp_path / "Dockerfile", {"a.txt", "src/m.py"})
    assert files == {
        "/srv": dockerfile.Origin("/app", "build"),  # what RUN made there
        "/srv/a.txt": dockerfile.Origin("a.txt"),
        "/srv/src/m.py": dockerfile.Origin("src/m.py"),
        "/etc/a.txt": dockerfile.Origin("a.txt"),
    }


def test_instructions_join_continued_lines_and_skip_comments(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "# syntax=docker/dockerfile:1\n"
        "FROM debian:trixie-slim\n"
        "RUN apt-get update \\\n"
        "    # a comment inside the instruction\n"
        "    && apt-get install -y x\n"
        'CMD ["x", "--flag"]\n'
    )
    [stage] = dockerfile.parse(tmp_path / "Dockerfile")
    run = stage.last("RUN")
    command = stage.last("CMD")
    assert run is not None
    assert run.arguments.split() == ["apt-get", "update", "&&", "apt-get", "install", "-y", "x"]
    assert command is not None
    assert command.exec_form == ["x", "--flag"]
