"""Imports (Audience → Imports): recent imports with their progress, and the
New import wizard of spec/001 — choose a CSV, map its columns (each with its
samples and the preview service's suggestion), pick the options, start it
(the upload shows a progress bar), then watch its counts, cancel it, or open
its error report.

The wizard reads only the file's first rows for the mapping step
(``static/imports.js`` sends them); the whole file goes once, with the
mapping and options, to ``letter.imports.service.create_import`` — the
service the API's ``POST …/contacts/imports`` calls, so a bad file or mapping
gets the API's message and stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.datastructures import UploadFile as StarletteUpload

from letter.api.imports import error_report_link
from letter.audience import service as audience
from letter.audience import topics
from letter.db.pagination import PageParams
from letter.errors import LetterError
from letter.imports import service
from letter.imports.models import IMPORT_FINISHED, ImportJob
from letter.projects.models import Project
from letter.web.context import (
    MAX_FIELDS,
    Dash,
    DashDep,
    PageRoute,
    PostDep,
    field_errors,
    redirect,
    uuid_or_404,
)
from letter.web.session import runtime_of

__all__ = ["TARGETS", "mapping_of", "router"]

router = APIRouter(prefix="/p/{slug}/imports", include_in_schema=False, route_class=PageRoute)

RECENT = 50
OPTIONS = PageParams(limit=100)
# The first rows are enough to map columns; the preview never reads further.
PREVIEW_BYTES = 256 * 1024
FIELDS = ("file", "mapping", "dedupe", "has_header", "lists", "topics")
# What a column can become (spec/001 "Map columns"; DESIGN §6 CSV import).
TARGETS = (("email", "Email"), ("external_id", "User id (external_id)"),
           ("status", "Status (subscribed / unsubscribed)"), ("timezone", "Time zone"),
           ("account.external_id", "Account id"), ("trait", "Trait…"),
           ("ignore", "Skip this column"))
FileField = Annotated[UploadFile | None, File()]


def _upload(file: StarletteUpload | None) -> service.Upload | None:
    if file is None or (not file.filename and file.size == 0):
        return None  # a form posted with no file chosen
    return service.Upload(file.file, file.filename or "upload.csv")


def _key(column: dict[str, Any], headers: list[str]) -> str:
    """How the mapping names a column: its header when that names it alone,
    else its zero-based index (as for header-less files)."""
    header = column.get("header")
    if header and not header.isdigit() and headers.count(header.strip().casefold()) == 1:
        return str(header)
    return str(column["index"])


def _columns(preview: dict[str, Any]) -> list[dict[str, Any]]:
    """The preview's columns, each with its mapping key and its suggestion
    split into a target and a trait name."""
    headers = [(c.get("header") or "").strip().casefold() for c in preview["columns"]]
    out = []
    for column in preview["columns"]:
        suggested = str(column["suggested"])
        trait = suggested.removeprefix("traits.") if suggested.startswith("traits.") else ""
        out.append({**column, "key": _key(column, headers),
                    "target": "trait" if trait else suggested, "trait": trait})
    return out


def mapping_of(form: dict[str, str]) -> str:
    """The wizard's ``column.N`` / ``map.N`` / ``trait.N`` fields as the
    API's mapping JSON (checked by the service, never here)."""
    mapping: dict[str, str] = {}
    for name, key in form.items():
        if not name.startswith("column."):
            continue
        index = name.removeprefix("column.")
        target = form.get(f"map.{index}", "ignore")
        if target == "trait":
            target = "traits." + form.get(f"trait.{index}", "").strip()
        mapping[key] = target
    return orjson.dumps(mapping).decode()


def _wizard(dash: Dash, project: Project, preview: dict[str, Any] | None,
            status: int = 200, form: dict[str, Any] | None = None,
            errors: dict[str, str] | None = None) -> Response:
    """The mapping and options step (a fragment the wizard swaps in)."""
    return dash.page("dash/_import_mapping.html", status, project=project, preview=preview,
                     columns=_columns(preview) if preview else [], targets=TARGETS,
                     lists=audience.list_lists(dash.session, project.id, OPTIONS).items,
                     topics=topics.list_topics(dash.session, project.id, OPTIONS).items,
                     form=form or {}, errors=errors or {})


def _preview(upload: service.Upload | None, header_row: str) -> dict[str, Any]:
    return service.preview(upload, has_header=header_row or None, max_bytes=PREVIEW_BYTES)


@router.get("")
def imports_page(slug: str, dash: DashDep) -> Response:
    project = dash.project(slug)
    found = service.list_imports(dash.session, project.id, PageParams(limit=RECENT)).items
    working = any(job.status not in IMPORT_FINISHED for job in found)
    return dash.page("dash/imports.html", project=project, imports=found, polling=working)


@router.get("/new")
def new_import(slug: str, dash: DashDep) -> Response:
    return dash.page("dash/import_new.html", project=dash.project(slug))


@router.post("/preview")
def preview(slug: str, dash: PostDep, file: FileField = None,
            header_row: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Step 2: the columns of the file's first rows, with suggestions."""
    project = dash.project(slug)
    try:
        found = _preview(_upload(file), header_row)
    except LetterError as exc:
        return _wizard(dash, project, None, exc.status, errors=field_errors(exc, FIELDS))
    return _wizard(dash, project, found)


@dataclass(frozen=True)
class Wizard:
    """The wizard's last step as posted: text fields, the checked lists and
    topics (repeated fields), and the file."""

    fields: dict[str, str]
    lists: list[str]
    topics: list[str]
    upload: service.Upload | None


async def _wizard_form(request: Request) -> Wizard:
    form = await request.form(max_fields=MAX_FIELDS, max_files=1)
    file = form.get("file")
    return Wizard(fields={k: v for k, v in form.items() if isinstance(v, str)},
                  lists=[v for v in form.getlist("lists") if isinstance(v, str)],
                  topics=[v for v in form.getlist("topics") if isinstance(v, str)],
                  upload=_upload(file) if isinstance(file, StarletteUpload) else None)


WizardDep = Annotated[Wizard, Depends(_wizard_form)]


@router.post("")
def start(request: Request, slug: str, dash: PostDep, wizard: WizardDep) -> Response:
    """The whole file with its mapping and options: queued, or refused whole."""
    project = dash.project(slug)
    form = wizard.fields
    try:
        job = service.create_import(
            dash.session, project.id, dash.user.id, wizard.upload, mapping=mapping_of(form),
            uploads_dir=runtime_of(request).settings.uploads_dir, dedupe=form.get("dedupe"),
            has_header=form.get("has_header"), lists=wizard.lists, topics=wizard.topics,
            trigger_sequences=bool(form.get("trigger_sequences")))
    except LetterError as exc:
        return _refused(dash, project, wizard, exc)
    return redirect(request, f"/p/{project.slug}/imports/{job.id}")


def _refused(dash: Dash, project: Project, wizard: Wizard, exc: LetterError) -> Response:
    """The mapping step again, as it was filled, with the API's message at
    the field it names."""
    errors = field_errors(exc, FIELDS)
    found = None
    if wizard.upload is not None and "file" not in errors:
        wizard.upload.fileobj.seek(0)
        try:
            found = _preview(wizard.upload, wizard.fields.get("has_header", ""))
        except LetterError:
            found = None
    form = {**wizard.fields, "lists": wizard.lists, "topics": wizard.topics}
    return _wizard(dash, project, found, exc.status, form=form, errors=errors)


def _job(dash: Dash, slug: str, import_id: str) -> tuple[Project, ImportJob]:
    project = dash.project(slug)
    return project, service.get_import(dash.session, project.id, uuid_or_404(import_id))


def _progress(dash: Dash, project: Project, job: ImportJob, template: str,
              status: int = 200, **context: Any) -> Response:
    finished = job.status in IMPORT_FINISHED
    report = error_report_link(runtime_of(dash.request), job.id) if job.failed else None
    percent = min(100, round(100 * job.processed / job.total)) if job.total else None
    return dash.page(template, status, project=project, job=job, finished=finished,
                     report=report, percent=percent, **context)


@router.get("/{import_id}")
def import_page(slug: str, import_id: str, dash: DashDep) -> Response:
    return _progress(dash, *_job(dash, slug, import_id), "dash/import.html")


@router.get("/{import_id}/progress")
def progress(slug: str, import_id: str, dash: DashDep) -> Response:
    """The counts alone, polled until the import ends."""
    return _progress(dash, *_job(dash, slug, import_id), "dash/_import_progress.html")


@router.post("/{import_id}/cancel")
def cancel(request: Request, slug: str, import_id: str, dash: PostDep) -> Response:
    project, job = _job(dash, slug, import_id)
    try:
        service.cancel_import(dash.session, project.id, job.id,
                              runtime_of(request).settings.uploads_dir)
    except LetterError as exc:
        return _progress(dash, project, job, "dash/import.html", exc.status, error=exc.message)
    return redirect(request, f"/p/{project.slug}/imports/{job.id}")
