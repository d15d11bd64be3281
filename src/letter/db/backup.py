"""Backups of the embedded SQLite database, taken while Letter serves.

A backup is one tar file holding a consistent copy of ``letter.db`` (SQLite's
online backup API, one step, so it is a single snapshot even while writers
run: in WAL mode they are not blocked), the instance's secret key (without it
signed links, sealed tokens and webhook secrets of the restored instance would
change) and a small manifest.

>>> from pathlib import Path
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> import sqlite3
>>> source = sqlite3.connect(folder / "letter.db")
>>> _ = source.executescript("create table t(x); insert into t values (1)")
>>> manifest = backup_sqlite(folder / "letter.db", folder / "secret_key", folder / "b.tar")
>>> manifest["format"]
1
>>> restored = folder / "restored"
>>> restore_sqlite(folder / "b.tar", restored / "letter.db", restored / "secret_key")["format"]
1
>>> sqlite3.connect(folder / "restored" / "letter.db").execute("select x from t").fetchall()
[(1,)]
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["BackupError", "backup_sqlite", "restore_sqlite", "sqlite_path"]

FORMAT = 1
DB_MEMBER = "letter.db"
KEY_MEMBER = "secret_key"
MANIFEST_MEMBER = "manifest.json"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def sqlite_path(database_url: str) -> Path:
    """The file of a ``sqlite:///…`` URL; any other database is refused."""
    if not database_url.startswith("sqlite:///") or database_url.endswith(":memory:"):
        raise BackupError(
            "letter db backup and restore handle the embedded SQLite database; "
            "for PostgreSQL use pg_dump and pg_restore (docs/deploy.md)."
        )
    return Path(database_url.removeprefix("sqlite:///"))


def backup_sqlite(db_file: Path, key_file: Path, target: Path) -> dict[str, Any]:
    """Write a backup of ``db_file`` (and ``key_file`` when present) to ``target``."""
    if not db_file.exists():
        raise BackupError(f"There is no database at {db_file}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        copy = Path(scratch) / DB_MEMBER
        _online_copy(db_file, copy)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "schema_revision": _schema_revision(copy),
            "has_secret_key": key_file.exists(),
            "database_bytes": copy.stat().st_size,
        }
        partial = Path(scratch) / "backup.tar"
        with tarfile.open(partial, "w") as tar:
            _add_bytes(tar, MANIFEST_MEMBER, json.dumps(manifest, indent=2).encode())
            tar.add(copy, arcname=DB_MEMBER)
            if key_file.exists():
                _add_bytes(tar, KEY_MEMBER, key_file.read_bytes(), mode=0o600)
        os.replace(partial, target)  # a reader never sees half a backup
    return manifest


def restore_sqlite(
    archive: Path, db_file: Path, key_file: Path, *, force: bool = False
) -> dict[str, Any]:
    """Put the backup ``archive`` in place as ``db_file`` and ``key_file``.

    Refuses to overwrite an existing database unless ``force``; the server
    must be stopped while it runs."""
    try:
        tar = tarfile.open(archive, "r")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{archive} is not a Letter backup: {exc}") from None
    with tar:
        manifest = _read_manifest(tar, archive)
        if db_file.exists() and not force:
            raise BackupError(
                f"{db_file} exists; stop Letter and pass --force to replace it."
            )
        db_file.parent.mkdir(parents=True, exist_ok=True)
        staged = db_file.with_name(f".{db_file.name}.restoring")
        _extract(tar, DB_MEMBER, staged, archive)
        if _integrity(staged) != "ok":
            staged.unlink()
            raise BackupError(f"The database in {archive} is damaged.")
        for leftover in (Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
            leftover.unlink(missing_ok=True)  # they belong to the database being replaced
        os.replace(staged, db_file)
        if manifest.get("has_secret_key"):
            key_file.parent.mkdir(parents=True, exist_ok=True)
            _extract(tar, KEY_MEMBER, key_file, archive)
            key_file.chmod(0o600)
    return manifest


def _online_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: the whole database in one step, one snapshot
    finally:
        dst.close()
        src.close()


def _schema_revision(db_file: Path) -> str | None:
    with sqlite3.connect(db_file) as conn:
        try:
            row = conn.execute("select version_num from alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
    return str(row[0]) if row else None


def _integrity(db_file: Path) -> str:
    conn = sqlite3.connect(db_file)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST_MEMBER)
        manifest: dict[str, Any] = json.loads(member.read()) if member else {}
    except (KeyError, ValueError, tarfile.TarError):
        raise BackupError(f"{archive} is not a Letter backup (no manifest).") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} has backup format {manifest.get('format')!r}; "
                          f"this Letter reads format {FORMAT}.")
    return manifest


def _extract(tar: tarfile.TarFile, name: str, target: Path, archive: Path) -> None:
    # Members are read by name into a path we choose: no path in the archive is trusted.
    try:
        member = tar.extractfile(name)
    except (KeyError, tarfile.TarError):
        member = None
    if member is None:
        raise BackupError(f"{archive} has no {name}.")
    with member, open(target, "wb") as out:
        while chunk := member.read(1 << 20):
            out.write(chunk)
