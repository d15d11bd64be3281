"""``GET /v1/downloads/{token}``: the signed, expiring links of import error
reports and contact exports. The token is the credential (the links travel
by email), so a forged or expired one is refused, never served."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from letter.api.deps import RuntimeDep
from letter.api.imports import links_of
from letter.clock import utcnow
from letter.imports import exports, report

router = APIRouter(prefix="/v1/downloads", tags=["imports"])


@router.get("/{token}", response_class=FileResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "The CSV file."}})
def download(token: str, runtime: RuntimeDep) -> FileResponse:
    kind, ident = links_of(runtime).read(token, utcnow())
    if kind == "export":
        path = exports.file_for_download(runtime.db, runtime.settings.data_dir, ident)
        return FileResponse(path, media_type="text/csv; charset=utf-8",
                            filename=f"contacts-{ident}.csv")
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", encoding="utf-8",
                                     delete=False) as out:
        try:
            report.write_report(runtime.db, ident, out)
        except BaseException:
            Path(out.name).unlink(missing_ok=True)
            raise
    return FileResponse(out.name, media_type="text/csv; charset=utf-8",
                        filename=f"import-{ident}-errors.csv",
                        background=BackgroundTask(Path(out.name).unlink, missing_ok=True))
