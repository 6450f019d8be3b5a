"""The declarative base every table shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Integer, MetaData, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import DeclarativeBase

#: The dialect whose column types ``has_serial_id`` looks at (its ids are INTEGER there).
_SQLITE = sqlite.dialect()

#: Constraint names are predictable so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if isinstance(table, Table) and has_serial_id(table):
            # Without AUTOINCREMENT SQLite gives a new row the highest id + 1, so a deleted
            # row's id goes to the next one, and whatever still names the old row (a cached
            # permission, a worker's job id, a link) then names a stranger's row. PostgreSQL's
            # sequences never hand out an id twice.
            table.dialect_kwargs["sqlite_autoincrement"] = True


def has_serial_id(table: Table) -> bool:
    """Whether the table's primary key is one integer ``id`` column the database numbers."""
    key = list(table.primary_key.columns)
    return (
        len(key) == 1
        and key[0].name == "id"
        and isinstance(key[0].type.dialect_impl(_SQLITE), Integer)
    )
