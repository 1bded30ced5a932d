"""One-line descriptions of database failures, for people reading a terminal or a log."""

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError


def describe_database_error(error: BaseException, url: URL) -> str:
    """Say in one line why talking to the database at `url` failed; never include the password."""
    # DBAPIError wraps the driver's exception, whose first line is the useful part.
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(cause).strip().splitlines()
    if isinstance(cause, TimeoutError):
        detail = "timed out"
    else:
        detail = lines[0].strip() if lines else type(cause).__name__
    if url.password:
        detail = detail.replace(str(url.password), "***")
    return f"cannot use the database at {url.render_as_string(hide_password=True)}: {detail}"
