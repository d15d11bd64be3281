"""Multi-row INSERTs at the driver level, for the hot paths (ingestion, imports,
the broadcast snapshot).

SQLAlchemy's per-row parameter processing costs more than the database work
for a batch of small rows, so ingestion builds one ``INSERT … VALUES (…), (…)``
per table and converts the values itself, exactly as the column types store
them (UUIDs as 32 hex characters and instants as ``YYYY-MM-DD HH:MM:SS.ffffff``
UTC text on SQLite; native types on PostgreSQL; JSON encoded with orjson).

>>> writer = BulkWriter(session)                                         # doctest: +SKIP
>>> writer.insert("events", ["id", "name"], [(uuid7(), "Signed Up")])     # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import orjson
from sqlalchemy.orm import Session

__all__ = ["BulkWriter", "driver_rows"]

# Rows per statement: keeps the parameter count under SQLite's and PostgreSQL's caps.
CHUNK = 500
ARRAY_CHUNK = 10_000
# PostgreSQL column types by table, read once a process: unnest's arrays are cast to them.
_PG_TYPES: dict[str, dict[str, str]] = {}


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def driver_rows(session: Session, sql: str, *params: Any) -> list[Any]:
    """Rows of a small hot-path read at the driver level, skipping
    SQLAlchemy's per-statement work: ``?`` marks (``%s`` on PostgreSQL), UUID
    parameters converted as the column type stores them. UUID columns come
    back as stored (32 hex characters on SQLite).

    >>> driver_rows(session, "SELECT id FROM topics WHERE project_id = ?", pid)  # doctest: +SKIP
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        params = tuple(p.hex if isinstance(p, uuid.UUID) else p for p in params)
    else:
        sql = sql.replace("?", "%s")
    return list(connection.exec_driver_sql(sql, params))


class BulkWriter:
    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.sqlite = self.connection.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        self._instants: dict[datetime, str] = {}
        if not self.sqlite:
            from psycopg.types.json import Jsonb

            self._jsonb = Jsonb

    def uuid(self, value: uuid.UUID | None) -> Any:
        if value is None or not self.sqlite:
            return value
        return value.hex

    def instant(self, value: datetime) -> Any:
        if not self.sqlite:
            return value
        # A batch stamps most rows with the same instant: format it once.
        text = self._instants.get(value)
        if text is None:
            text = self._instants[value] = f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"
        return text

    def json(self, value: Any) -> Any:
        if self.sqlite:
            return _json_text(value)
        return self._jsonb(value, dumps=_json_text)

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        suffix: str = "",
        suffix_params: Sequence[Any] = (),
    ) -> list[Any]:
        """Insert converted ``rows``; ``suffix`` (ON CONFLICT…, RETURNING…) is
        appended to every statement. Returns the rows RETURNING produced."""
        returned: list[Any] = []
        one = "(" + ", ".join([self.mark] * len(columns)) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            sql = head + ", ".join([one] * len(chunk)) + suffix
            params = tuple(v for row in chunk for v in row) + tuple(suffix_params)
            result = self.connection.exec_driver_sql(sql, params)
            if result.returns_rows:
                returned += result.fetchall()
        return returned

    def insert_with_constants(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        constants: dict[str, Any],
        chunk: int = CHUNK,
    ) -> None:
        """Insert converted ``rows`` of ``columns``, every row also taking the
        converted ``constants`` (column -> value), which are sent once per
        statement rather than once per row: ``INSERT … SELECT v.*, ?, ? FROM
        (VALUES (…), (…)) AS v`` on SQLite, arrays through ``unnest`` on
        PostgreSQL."""
        names = list(columns) + list(constants)
        if not self.sqlite:
            self._insert_arrays(table, names, len(columns), rows, tuple(constants.values()))
            return
        one = "(" + ", ".join([self.mark] * len(columns)) + ")"
        picked = ", ".join(f"column{i + 1}" for i in range(len(columns)))
        fixed = ", ".join([self.mark] * len(constants))
        head = f"INSERT INTO {table} ({', '.join(names)}) SELECT {picked}, {fixed} FROM (VALUES "
        tail = ") AS v"
        values = tuple(constants.values())
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            sql = head + ", ".join([one] * len(part)) + tail
            params = values + tuple(chain.from_iterable(part))
            self.connection.exec_driver_sql(sql, params)

    def _insert_arrays(self, table: str, names: list[str], width: int,
                       rows: Sequence[Sequence[Any]], constants: tuple[Any, ...]) -> None:
        """PostgreSQL: each per-row column as one array, ``unnest`` turning
        them back into rows. The statement's text stays short and the same
        for any number of rows, so psycopg parses it once (a VALUES list of
        25,000 placeholders was re-parsed, in Python, on every call)."""
        types = self._column_types(table)
        # Binary arrays (%b): psycopg escapes text arrays in Python.
        arrays = ", ".join(f"%b::{types[name]}[]" for name in names[:width])
        fixed = ", ".join(["%s"] * len(constants))
        sql = (f"INSERT INTO {table} ({', '.join(names)}) "
               f"SELECT v.*, {fixed} FROM unnest({arrays}) AS v")
        for start in range(0, len(rows), ARRAY_CHUNK):
            columns = [list(c) for c in zip(*rows[start:start + ARRAY_CHUNK], strict=True)]
            self.connection.exec_driver_sql(sql, (*constants, *columns))

    def _column_types(self, table: str) -> dict[str, str]:
        types = _PG_TYPES.get(table)
        if types is None:
            rows = self.connection.exec_driver_sql(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,))
            types = _PG_TYPES[table] = {name: kind for name, kind in rows}
        return types

    def update_by_id(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """``UPDATE table SET columns… WHERE id = …`` for each of ``rows``
        (converted values, the id last), as one executemany."""
        sets = ", ".join(f"{c} = {self.mark}" for c in columns)
        sql = f"UPDATE {table} SET {sets} WHERE id = {self.mark}"
        self.connection.exec_driver_sql(sql, list(rows))

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        """One statement with converted ``params`` (``mark`` placeholders)."""
        self.connection.exec_driver_sql(sql, tuple(params))
