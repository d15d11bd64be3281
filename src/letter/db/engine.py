"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

>>> db = Database.from_url("sqlite:///:memory:")
>>> with db.session() as session:
...     session.execute(text("select 1")).scalar()
1
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

from letter.db import sqlite_functions
from letter.db.sqlite_gate import GatedConnection

__all__ = ["Database", "make_engine", "text"]

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


# Set by Database.reading on its connection; read by the SQLite begin hook.
_READ_ONLY = "letter_read_only"


def _configure_sqlite(dbapi_conn: Any, _record: Any) -> None:
    # isolation_level=None hands transaction control to SQLAlchemy's BEGIN below,
    # which lets us take the write lock up front instead of failing mid-transaction.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
    # FilterSpec's instant and number rules, identical to the in-memory evaluator's
    sqlite_functions.install(dbapi_conn)


def _begin_immediate(conn: Connection) -> None:
    if conn.get_execution_options().get(_READ_ONLY):
        # Database.reading: a deferred transaction, a WAL snapshot without the write lock.
        conn.exec_driver_sql("BEGIN")
        return
    raw = conn.connection.dbapi_connection
    if not isinstance(raw, GatedConnection):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    raw.enter_write(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        raw.leave_write()
        raise


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        if not memory:
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {
            "check_same_thread": False,
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
        }
        if not memory:
            # Threads of this process queue for the write lock instead of polling it.
            connect_args["factory"] = GatedConnection
        engine = create_engine(
            url,
            connect_args=connect_args,
            poolclass=StaticPool if memory else None,
            **kwargs,
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Database:
    """Owns the engine and hands out sessions. Callers own the transaction."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session] | None = None) -> None:
        self.engine = engine
        self._sessions = sessions or sessionmaker(bind=engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def new_session(self) -> Session:
        return self._sessions()

    def max_connections(self) -> int | None:
        """How many connections the pool hands out at once (None: no bound)."""
        pool = self.engine.pool
        if not isinstance(pool, QueuePool) or pool._max_overflow < 0:
            return None
        return pool.size() + pool._max_overflow

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block succeeds, rolls back otherwise."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads, rolled back at the end. On SQLite
        it takes no write lock: it neither waits for writers nor holds them
        up, and sees one snapshot (WAL) for as long as it lasts.

        >>> with db.reading() as session:                 # doctest: +SKIP
        ...     rows = session.execute(select(Contact.id)).all()
        """
        session = self._sessions()
        try:
            session.connection(execution_options={_READ_ONLY: True})
            yield session
        finally:
            session.rollback()
            session.close()
