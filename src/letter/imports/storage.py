"""Where uploads and exports live: the data dir (``uploads/imports/<id>.csv``
and ``exports/<id>.csv``), shared by the API and the workers."""

from __future__ import annotations

import uuid
from pathlib import Path

__all__ = ["export_path", "remove", "upload_path"]


def upload_path(uploads_dir: Path, import_id: uuid.UUID) -> Path:
    return uploads_dir / "imports" / f"{import_id}.csv"


def export_path(data_dir: Path, export_id: uuid.UUID) -> Path:
    return data_dir / "exports" / f"{export_id}.csv"


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
