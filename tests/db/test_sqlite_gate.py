"""Writers of one process queue on the SQLite gate instead of polling the lock."""

from __future__ import annotations

import threading

from sqlalchemy import text

from letter.db.engine import make_engine
from letter.db.sqlite_gate import GatedConnection


def test_a_second_writer_begins_only_after_the_first_commits(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.execute(text("create table t (n integer)"))
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        first_in.wait()
        with engine.begin() as conn:
            order.append("second began")
            conn.execute(text("insert into t values (2)"))

    thread = threading.Thread(target=second)
    thread.start()
    with engine.begin() as conn:
        assert isinstance(conn.connection.dbapi_connection, GatedConnection)
        conn.execute(text("insert into t values (1)"))
        first_in.set()
        thread.join(timeout=0.3)
        assert thread.is_alive()  # queued on the gate, not failed
        order.append("first commits")
    thread.join()
    assert order == ["first commits", "second began"]
    with engine.connect() as conn:
        assert sorted(conn.execute(text("select n from t")).scalars()) == [1, 2]
    engine.dispose()


def test_rollback_and_close_release_the_gate(tmp_path):
    path = str(tmp_path / "gate2.db")
    a = GatedConnection(path)
    b = GatedConnection(path)
    a.enter_write(timeout=1)
    b.enter_write(timeout=0.05)
    assert not b._holding  # timed out: falls back to SQLite's busy timeout
    a.rollback()
    b.enter_write(timeout=0.05)
    assert b._holding
    b.close()
    a.enter_write(timeout=0.05)
    assert a._holding
    a.close()


def test_memory_databases_are_not_gated():
    engine = make_engine("sqlite:///:memory:")
    with engine.connect() as conn:
        assert not isinstance(conn.connection.dbapi_connection, GatedConnection)
