"""``letter templates``: email layouts (design JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    ProjectOpt,
    YesOpt,
    confirm,
    create,
    delete,
    get,
    group,
    json_arg,
    list_cmd,
    project_path,
    seg,
    show,
    update,
)
from letter.cli.http import EXIT_USAGE, api, fail

NAME = "templates"
app = group("Email templates of a project.")
COLUMNS = [("ID", "id"), ("NAME", "name"), ("DEFAULT", "is_default"), ("UPDATED", "updated_at")]
TemplateId = Annotated[str, typer.Argument(help="Template id.")]
DesignOpt = Annotated[
    str | None, typer.Option("--design", help="Design JSON, @file.json or - for stdin.")
]


def _path(project: str | None, template_id: str, rest: str = "") -> str:
    return project_path(project, f"/templates/{seg(template_id)}{rest}")


@app.command("list")
def list_(
    project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List templates."""
    list_cmd(project_path(project, "/templates"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(template_id: TemplateId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Show a template with its design."""
    get(_path(project, template_id), as_json)


@app.command("create")
def create_(
    name: Annotated[str | None, typer.Option(help="Template name.")] = None,
    design: DesignOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a template."""
    body = {"name": name, "design": json_arg(design, "--design")}
    create(project_path(project, "/templates"), body, as_json)


@app.command("update")
def update_(
    template_id: TemplateId,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    design: DesignOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rename a template or replace its design."""
    body = {"name": name, "design": json_arg(design, "--design")}
    update(_path(project, template_id), body, as_json)


@app.command("delete")
def delete_(template_id: TemplateId, project: ProjectOpt = None, yes: YesOpt = False) -> None:
    """Delete a template."""
    confirm(f"delete template {template_id}", yes)
    delete(_path(project, template_id), f"Deleted template {template_id}.")


@app.command("default")
def make_default(template_id: TemplateId, project: ProjectOpt = None) -> None:
    """Make this the project's default template."""
    delete(_path(project, template_id, "/default"), f"{template_id} is the default.", "POST")


@app.command("reset")
def reset(
    template_id: TemplateId,
    preset: Annotated[str, typer.Option(help="plain or branded.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reset the design to a preset."""
    body = {"preset": preset}
    show(api().call("POST", _path(project, template_id, "/reset"), json_body=body).text, as_json)


@app.command("set-logo")
def set_logo(
    template_id: TemplateId,
    file: Annotated[Path, typer.Argument(help="PNG, JPEG or GIF image.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Upload the template's logo."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", EXIT_USAGE)
    files = {"file": (file.name, data)}
    response = api().call("POST", _path(project, template_id, "/logo"), files=files)
    show(response.text, as_json)


@app.command("remove-logo")
def remove_logo(template_id: TemplateId, project: ProjectOpt = None) -> None:
    """Remove the template's logo."""
    delete(_path(project, template_id, "/logo"), "Logo removed.")
