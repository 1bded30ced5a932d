"""`makemigrations` and `migrate`: Alembic, driven from the settings and the installed apps."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from ..db import describe_database_error, missing_privilege
from ..settings import get_settings
from ._command import Command, CommandError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.operations.ops import MigrationScript

# src/<package>/cli/migrations.py -> the project directory holding alembic.ini.
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def alembic_config() -> "Config":
    """The project's Alembic configuration."""
    from alembic.config import Config

    ini = PROJECT_ROOT / "alembic.ini"
    if not ini.is_file():
        raise CommandError(
            f"{ini} does not exist: migration commands need the project's source tree"
        )
    return Config(ini)


def _skip_empty(context: Any, revision: Any, directives: "list[MigrationScript]") -> None:
    # Like Django's makemigrations, write nothing when the models match the database.
    upgrade_ops = directives[0].upgrade_ops if directives else None
    if upgrade_ops is not None and upgrade_ops.is_empty():
        directives.clear()


def _failure(error: SQLAlchemyError) -> CommandError:
    """The one line a failed migration command ends with: why, and what privilege would help."""
    url = get_settings().migrations_database_url
    message = describe_database_error(error, url)
    if url.username and (grant := missing_privilege(error, url.username)):
        message += f" (to allow it: {grant})"
    return CommandError(message)


def _message(value: str) -> str:
    """A migration's message: it names the file and opens the migration's docstring."""
    if not value.strip():
        raise argparse.ArgumentTypeError("the message is empty")
    if '"""' in value:
        raise argparse.ArgumentTypeError('the message must not hold """ (it ends the docstring)')
    if "\\" in value:
        raise argparse.ArgumentTypeError("the message must not hold \\ (a docstring escape)")
    return value


def _add_makemigrations_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-m", "--message", required=True, type=_message, help="what the migration does"
    )
    parser.add_argument(
        "--empty", action="store_true", help="write an empty migration to fill in by hand"
    )


def _makemigrations(args: argparse.Namespace) -> int:
    from alembic import command

    try:
        script = command.revision(
            alembic_config(),
            message=args.message,
            autogenerate=not args.empty,
            process_revision_directives=None if args.empty else _skip_empty,
        )
    except SQLAlchemyError as error:
        raise _failure(error) from None
    if not script:
        print("No changes detected")
    return 0


def _add_migrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "revision", nargs="?", default="head", help="revision to upgrade to (default: %(default)s)"
    )


def _migrate(args: argparse.Namespace) -> int:
    from alembic import command
    from alembic.util import CommandError as RevisionError

    try:
        command.upgrade(alembic_config(), args.revision)
    except SQLAlchemyError as error:
        raise _failure(error) from None
    except RevisionError as error:  # a revision the history does not have, or cannot reach
        raise CommandError(f"cannot migrate to {args.revision!r}: {error}") from None
    except AssertionError:
        # Alembic asserts, where it would raise its CommandError, when a relative revision
        # (head+1, base+9) walks past an end of the history.
        reason = "it walks past an end of the migration history"
        raise CommandError(f"cannot migrate to {args.revision!r}: {reason}") from None
    return 0


MAKEMIGRATIONS = Command(
    "makemigrations",
    "Write a migration for the model changes of every installed app (compares with the database).",
    _makemigrations,
    _add_makemigrations_arguments,
)
MIGRATE = Command(
    "migrate",
    "Apply migrations (through DIRECT_DATABASE_URL, else DATABASE_URL).",
    _migrate,
    _add_migrate_arguments,
)
