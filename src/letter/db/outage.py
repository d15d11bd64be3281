"""Which database failures mean "not now" rather than "wrong": the one rule
the API (a 503 with Retry-After) and the worker (retry the job) share.

>>> is_unavailable(OperationalError("SELECT 1", {}, sqlite3.OperationalError(
...     "database is locked")))                                   # doctest: +SKIP
True
"""

from __future__ import annotations

from sqlalchemy import exc

__all__ = ["RETRY_AFTER_SECONDS", "is_unavailable"]

# What a client is told to wait: a PostgreSQL restart takes about a second.
RETRY_AFTER_SECONDS = 1

# SQLite's transient failures; its other OperationalErrors (no such table, a
# syntax error) are defects and stay 500s.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy")


def is_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database could not be reached or could not
    take the work just now (restart, failover, connection refused or lost,
    pool exhausted, a lock or serialization timeout): the request did nothing
    and may be sent again."""
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    module = type(original).__module__
    if module.startswith("sqlite3"):
        return isinstance(error, exc.OperationalError) and any(
            text in str(original) for text in _SQLITE_TRANSIENT)
    # psycopg: OperationalError is connection loss, admin shutdown, "cannot
    # connect now", too many connections, cancelled statements and
    # serialization failures; InterfaceError a connection already closed.
    return isinstance(error, exc.OperationalError | exc.InterfaceError)
