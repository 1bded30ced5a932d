"""A Dockerfile read the way Docker reads it, for checks that need no Docker engine.

`parse` splits a Dockerfile into stages and instructions (line continuations, comments, exec-form
JSON arguments). `build_context` applies `.dockerignore` with Docker's rules (the last matching
pattern wins, `!` re-includes, a pattern that matches a directory matches everything under it,
`*` stays within one path segment, `**` spans any number). `stage_files` follows a stage's COPY
instructions to say where each file of its image comes from, and `image_files` does it for the
image a build tags.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY...
    arguments: str  # as written, continuations joined

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction (`CMD ["uvicorn", ...]`), else None."""
        text = self.arguments.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        assert isinstance(value, list)
        return [str(item) for item in value]

    def split(self) -> tuple[dict[str, str], list[str]]:
        """`--flag=value` options and the remaining shell-style words."""
        options: dict[str, str] = {}
        words = shlex.split(self.arguments)
        while words and words[0].startswith("--"):
            name, _, value = words.pop(0)[2:].partition("=")
            options[name] = value
        return options, words


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def parse(path: Path) -> list[Stage]:
    """The Dockerfile's stages, in order."""
    stages: list[Stage] = []
    logical = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, arguments = logical.partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip())
        logical = ""
        if instruction.keyword == "FROM":
            _, words = instruction.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        stages[-1].instructions.append(instruction)
    return stages


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match plus `**`) as a regular expression."""
    parts = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif pattern[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(parts) + r"\Z")


def build_context(project: Path) -> set[str]:
    """The files `docker build project` sends to the builder: all but what .dockerignore drops."""
    rules = []
    ignore = project / ".dockerignore"
    for line in ignore.read_text().splitlines() if ignore.is_file() else []:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = str(PurePosixPath(line.removeprefix("!").strip()))
        rules.append((keep, _pattern_regex(pattern.lstrip("/"))))
    files = set()
    for path in project.rglob("*"):
        if not path.is_file():
            continue
        relative = PurePosixPath(path.relative_to(project).as_posix())
        # A pattern matches a file when it matches the file or one of its parent directories.
        candidates = [str(relative), *(str(parent) for parent in relative.parents if parent.name)]
        excluded = False
        for keep, regex in rules:
            if any(regex.match(candidate) for candidate in candidates):
                excluded = not keep
        if not excluded:
            files.add(str(relative))
    return files


@dataclass(frozen=True)
class Origin:
    """Where a file of an image comes from: the build context, or another stage or image."""

    source: str  # a path in the build context, or in `stage`
    stage: str | None = None  # COPY --from's stage name or image; None for the build context


def stage_files(
    stage: Stage, context: set[str], earlier: dict[str, dict[str, Origin]] | None = None
) -> dict[str, Origin]:
    """Each path a stage's COPY instructions put in its image, and where it comes from.

    `earlier` holds the files of the stages before this one, by name: a COPY --from one of them
    brings the files that stage copied under the source path. What a RUN made there (or what an
    outside image holds) a Dockerfile alone cannot list: the source path itself is recorded, with
    the stage or image it comes from.
    """
    earlier = earlier or {}
    workdir = PurePosixPath("/")
    files: dict[str, Origin] = {}
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = workdir / instruction.arguments
        if instruction.keyword not in ("COPY", "ADD"):
            continue
        options, words = instruction.split()
        *sources, destination = instruction.exec_form or words
        target = workdir / destination
        into = destination.endswith("/") or len(sources) > 1
        for source in sources:
            if "from" in options:
                base = PurePosixPath(source)
                files[str(target / base.name if into else target)] = Origin(source, options["from"])
                for name, origin in earlier.get(options["from"], {}).items():
                    if base in PurePosixPath(name).parents:
                        files[str(target / PurePosixPath(name).relative_to(base))] = origin
                continue
            base = PurePosixPath(source.rstrip("/")) if source not in (".", "./") else None
            for name in sorted(context):
                path = PurePosixPath(name)
                if base is None:
                    files[str(target / path)] = Origin(name)
                elif path == base:
                    files[str(target / path.name if into else target)] = Origin(name)
                elif base in path.parents:
                    files[str(target / path.relative_to(base))] = Origin(name)
    return files


def image_files(path: Path, context: set[str]) -> dict[str, Origin]:
    """The files of the image `docker build` tags (the last stage), following COPY --from."""
    built: dict[str, dict[str, Origin]] = {}
    files: dict[str, Origin] = {}
    for stage in parse(path):
        files = stage_files(stage, context, built)
        if stage.name:
            built[stage.name] = files
    return files
