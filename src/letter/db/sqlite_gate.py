"""An in-process writer gate for SQLite.

SQLite allows one writer at a time and Letter takes the write lock up front
(``BEGIN IMMEDIATE``). When several threads of one process want it at once,
SQLite's busy handler makes the losers poll with growing sleeps (1, 2, 5, 10…
up to 100 ms), so the lock sits idle while they sleep and tail latency grows
to a second under load. Connections made by ``GatedConnection`` queue on a
``threading.Lock`` per database file instead: the next writer starts the
moment the previous one commits. Other processes still meet SQLite's own
lock and busy timeout.

>>> conn = sqlite3.connect(path, factory=GatedConnection)   # doctest: +SKIP
>>> conn.enter_write(timeout=10.0)                          # then BEGIN IMMEDIATE
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

__all__ = ["GatedConnection"]

_gates: dict[str, threading.Lock] = {}
_gates_lock = threading.Lock()


def _gate_for(database: str) -> threading.Lock:
    key = os.path.realpath(database)
    with _gates_lock:
        return _gates.setdefault(key, threading.Lock())


class GatedConnection(sqlite3.Connection):
    """Holds its database's gate from ``enter_write`` until commit, rollback or close.

    The gate is a plain Lock, not an RLock: a transaction may begin on one
    thread and commit on another (the API settles on a worker thread).
    """

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._gate = _gate_for(str(database))
        self._holding = False

    def enter_write(self, timeout: float) -> None:
        """Wait for the gate; past ``timeout`` carry on and let SQLite's own
        busy timeout decide (as without the gate)."""
        if not self._holding:
            self._holding = self._gate.acquire(timeout=timeout)

    def leave_write(self) -> None:
        if self._holding:
            self._holding = False
            self._gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_write()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_write()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_write()
