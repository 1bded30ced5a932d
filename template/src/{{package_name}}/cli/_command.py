"""What a management command is, for the core and for apps that add their own."""

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError


class CommandError(Exception):
    """A command failed in a way the user can fix; the CLI prints the message, not a traceback."""


def parsed_as(kind: Any, what: str) -> Callable[[str], Any]:
    """An argparse `type` that validates a value as the API would (with pydantic), so the CLI
    refuses what the API refuses, in one line: `parsed_as(ModelId, "an id")`."""
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def parse(value: str) -> Any:
        try:
            return adapter.validate_strings(value)
        except ValidationError as error:
            reason = error.errors()[0]["msg"].removeprefix("Value error, ")
            raise argparse.ArgumentTypeError(f"not {what} ({reason})") from None

    return parse


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """The default for commands that take no arguments."""


@dataclass(frozen=True)
class Command:
    """A management command: `run` gets the parsed arguments and returns the exit status."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
