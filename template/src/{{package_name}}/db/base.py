"""The declarative base every app's models inherit from."""

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names: Alembic can only alter or drop a constraint it can name, and
# autogenerate compares names, so unnamed constraints produce spurious migrations.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class for models. Import each app's models before reading `Base.metadata`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every datetime column stores an instant (timestamptz), never a naive local time.
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}
