"""What a management command is, for the core and for apps that add their own."""

import argparse
from collections.abc import Callable
from dataclasses import dataclass


class CommandError(Exception):
    """A command failed in a way the user can fix; the CLI prints the message, not a traceback."""


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """The default for commands that take no arguments."""


@dataclass(frozen=True)
class Command:
    """A management command: `run` gets the parsed arguments and returns the exit status."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
