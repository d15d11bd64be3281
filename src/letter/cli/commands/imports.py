"""``letter imports``: CSV imports of contacts.

    letter imports create people.csv --map Email=email --map Plan=traits.plan --wait

Without ``--map`` the preview's suggested mapping is used (and printed).
Progress bars show on a terminal: the upload, then the rows with ``--wait``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    ProjectOpt,
    group,
    json_arg,
    list_cmd,
    project_path,
    seg,
    show,
)
from letter.cli.http import EXIT_FAILURE, EXIT_USAGE, api, fail
from letter.cli.output import err, print_table

NAME = "imports"
app = group("CSV imports of contacts: upload, watch, cancel, error reports.")
COLUMNS = [("ID", "id"), ("STATUS", "status"), ("FILE", "filename"), ("TOTAL", "total"),
           ("CREATED", "created"), ("UPDATED", "updated"), ("SKIPPED", "skipped"),
           ("FAILED", "failed"), ("STARTED", "created_at")]
FINISHED = ("completed", "failed", "cancelled")
ImportId = Annotated[str, typer.Argument(help="Import id.")]
FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="The CSV file.")]
HasHeaderOpt = Annotated[str, typer.Option("--has-header", help="auto, true or false.")]


def _tty() -> bool:
    return sys.stderr.isatty()


def _progress() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                    TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
                    console=Console(stderr=True), transient=True)


class _Reading:
    """A file whose reads advance a progress bar (httpx rewinds it on retries)."""

    def __init__(self, fh: BinaryIO, advance: Any) -> None:
        self.fh, self.advance = fh, advance

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.advance(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fh.seek(offset, whence)

    def tell(self) -> int:
        return self.fh.tell()


def _post_file(path: str, file: Path, data: dict[str, Any]) -> Any:
    client = api()
    with file.open("rb") as fh:
        if not _tty():
            return client.call("POST", path, files={"file": (file.name, fh, "text/csv")},
                               data=data, idempotent=True)
        with _progress() as bar:
            task = bar.add_task("upload", total=file.stat().st_size)
            reading = _Reading(fh, lambda n: bar.update(task, advance=n))
            return client.call("POST", path, files={"file": (file.name, reading, "text/csv")},
                               data=data, idempotent=True)


def _mapping(maps: list[str], mapping: str | None) -> dict[str, str] | None:
    found: dict[str, str] = {}
    if mapping is not None:
        given = json_arg(mapping, "--mapping")
        if not isinstance(given, dict):
            fail("--mapping: a JSON object from column to field", EXIT_USAGE)
        found.update({str(k): str(v) for k, v in given.items()})
    for item in maps:
        column, sep, target = item.rpartition("=")
        if not sep or not column:
            fail(f"--map {item!r}: write COLUMN=FIELD, e.g. Email=email", EXIT_USAGE)
        found[column] = target
    return found or None


def _wait(path: str, show_progress: bool) -> dict[str, Any]:
    client = api()
    if not show_progress:
        while True:
            job: dict[str, Any] = client.call("GET", path).json()
            if job["status"] in FINISHED:
                return job
            time.sleep(0.5)
    with _progress() as bar:
        task = bar.add_task("import", total=None)
        while True:
            job = client.call("GET", path).json()
            bar.update(task, total=job.get("total"), completed=job.get("processed", 0),
                       description=job["status"])
            if job["status"] in FINISHED:
                return job
            time.sleep(0.5)


@app.command("create")
def create_(
    file: FileArg,
    maps: Annotated[list[str] | None, typer.Option(
        "--map", help="COLUMN=FIELD (header text or 0-based index); repeat it.")] = None,
    mapping: Annotated[str | None, typer.Option(
        help="The whole mapping as JSON, @file.json or - for stdin.")] = None,
    dedupe: Annotated[str, typer.Option(help="update or skip existing contacts.")] = "update",
    has_header: HasHeaderOpt = "auto",
    lists: Annotated[list[str] | None, typer.Option("--list", help="List id; repeat.")] = None,
    topics: Annotated[list[str] | None, typer.Option("--topic", help="Topic id; repeat.")
                      ] = None,
    row_count: Annotated[int | None, typer.Option(help="Rows you expect.")] = None,
    trigger_sequences: Annotated[bool, typer.Option(
        help="Enrol new contacts into contact_created sequences.")] = False,
    wait: Annotated[bool, typer.Option(help="Wait until it ends; exit 1 if it fails.")] = False,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Upload a CSV and start importing it."""
    base = project_path(project, "/contacts/imports")
    chosen = _mapping(maps or [], mapping)
    if chosen is None:
        found = _post_file(f"{base}/preview", file, {"has_header": has_header}).json()
        chosen = {(c["header"] if found["has_header"] and c["header"] else str(c["index"])):
                  c["suggested"] for c in found["columns"]}
        err("mapping (suggested): " + json.dumps(chosen, ensure_ascii=False))
    data: dict[str, Any] = {"mapping": json.dumps(chosen), "dedupe": dedupe,
                            "has_header": has_header,
                            "trigger_sequences": "true" if trigger_sequences else "false",
                            "lists": lists or [], "topics": topics or []}
    if row_count is not None:
        data["rowCount"] = str(row_count)
    created = _post_file(base, file, data)
    if not wait:
        show(created.text, as_json)
        return
    job = _wait(f"{base}/{seg(created.json()['id'])}", _tty() and not as_json)
    show(json.dumps(job), as_json)
    if job["status"] != "completed":
        raise typer.Exit(EXIT_FAILURE)


@app.command("list")
def list_(project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
          all_: AllOpt = False) -> None:
    """Recent imports, newest first."""
    list_cmd(project_path(project, "/contacts/imports"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(import_id: ImportId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """An import's status and counts."""
    path = project_path(project, f"/contacts/imports/{seg(import_id)}")
    show(api().call("GET", path).text, as_json)


@app.command("cancel")
def cancel_(import_id: ImportId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Stop an import (rows already applied stay)."""
    path = project_path(project, f"/contacts/imports/{seg(import_id)}/cancel")
    show(api().call("POST", path).text, as_json)


@app.command("preview")
def preview_(file: FileArg, has_header: HasHeaderOpt = "auto", project: ProjectOpt = None,
             as_json: JsonOpt = False) -> None:
    """How Letter reads a file, and the mapping it suggests."""
    found = _post_file(project_path(project, "/contacts/imports/preview"), file,
                       {"has_header": has_header})
    if as_json:
        show(found.text, True)
        return
    body = found.json()
    err(f"encoding {body['encoding']}, delimiter {body['delimiter']!r}, "
        f"header {'yes' if body['has_header'] else 'no'}")
    rows = [{**c, "samples": ", ".join(c["samples"][:3])} for c in body["columns"]]
    print_table(rows, [("#", "index"), ("HEADER", "header"), ("KIND", "kind"),
                       ("SUGGESTED", "suggested"), ("SAMPLES", "samples")])


@app.command("error-report")
def error_report_(
    import_id: ImportId,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Save the report here (- for stdout) instead of printing "
        "the link.")] = None,
    project: ProjectOpt = None, as_json: JsonOpt = False,
) -> None:
    """The signed link to the rows that failed (valid one hour), or the CSV itself."""
    path = project_path(project, f"/contacts/imports/{seg(import_id)}/error-report")
    link = api().call("GET", path)
    if output is None:
        if as_json:
            show(link.text, True)
        else:
            sys.stdout.write(link.json()["url"] + "\n")
        return
    download(link.json()["url"], output)


def download(url: str, output: Path) -> None:
    """Save a signed download (no token needed: the link is the credential)."""
    import httpx

    with httpx.stream("GET", url, timeout=60) as response:
        if response.status_code != 200:
            response.read()
            fail(f"download refused ({response.status_code}): {response.text[:200]}")
        if str(output) == "-":
            for chunk in response.iter_bytes():
                sys.stdout.buffer.write(chunk)
            return
        with output.open("wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
    err(f"saved {output}")
