"""Installed apps: how the core finds each app's models, routes and commands, by convention.

An app is a package `apps.NAME` listed in INSTALLED_APPS. It may provide any of:

- `models`: SQLAlchemy models, imported so that `Base.metadata` (and Alembic) sees them;
- `routes`: a FastAPI `router`, mounted by the application factory;
- `commands`: a `COMMANDS` list of management commands, added to the CLI.

The core never names an app: deleting an app's folder and its INSTALLED_APPS entry removes it.
"""

import importlib
import importlib.util
from collections.abc import Iterable, Iterator
from types import ModuleType

from sqlalchemy import MetaData

from .db import Base

APPS_PACKAGE = f"{__package__}.apps"


class AppNotFoundError(LookupError):
    """INSTALLED_APPS names an app that does not exist."""


def import_app_modules(apps: Iterable[str], submodule: str) -> Iterator[ModuleType]:
    """Import `submodule` from each app that has one, in INSTALLED_APPS order."""
    for app in apps:
        package = f"{APPS_PACKAGE}.{app}"
        if importlib.util.find_spec(package) is None:
            raise AppNotFoundError(f"INSTALLED_APPS lists '{app}', but {package} does not exist")
        # find_spec only answers whether the module exists; errors inside it still propagate.
        if importlib.util.find_spec(f"{package}.{submodule}") is not None:
            yield importlib.import_module(f"{package}.{submodule}")


def load_models(apps: Iterable[str]) -> MetaData:
    """Import every installed app's models and return the metadata that now holds their tables."""
    for _ in import_app_modules(apps, "models"):
        pass
    return Base.metadata
