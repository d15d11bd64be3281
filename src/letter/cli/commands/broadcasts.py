"""``letter broadcasts``: one email to an audience, scheduled and watched live."""

from __future__ import annotations

import time
from typing import Annotated, Any

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
from letter.cli.http import api

NAME = "broadcasts"
app = group("Broadcasts: one email to an audience.")
COLUMNS = [("ID", "id"), ("NAME", "name"), ("STATUS", "status"), ("SUBJECT", "subject"),
           ("SCHEDULED", "scheduled_at")]
BroadcastId = Annotated[str, typer.Argument(help="Broadcast id.")]
SubjectOpt = Annotated[str | None, typer.Option(help="Subject (Liquid).")]
PreviewOpt = Annotated[str | None, typer.Option("--preview-text", help="Preview text.")]
BodyOpt = Annotated[str | None, typer.Option("--body", help="bodyDoc: JSON, @file.json or -.")]
AudienceOpt = Annotated[str | None, typer.Option(
    "--audience", help='Audience: JSON, @file.json or - ({"kind": "segment", "segmentId": …} '
    'or {"kind": "inline", "filter": …}).')]
TemplateOpt = Annotated[str | None, typer.Option("--template", help="Template id.")]
TopicOpt = Annotated[str | None, typer.Option("--topic", help="Topic id.")]


def _path(project: str | None, broadcast_id: str, rest: str = "") -> str:
    return project_path(project, f"/broadcasts/{seg(broadcast_id)}{rest}")


def _fields(subject: str | None, preview: str | None, body: str | None, audience: str | None,
            template: str | None, topic: str | None) -> dict[str, Any]:
    return {"subject": subject, "preview": preview, "body_doc": json_arg(body, "--body"),
            "audience": json_arg(audience, "--audience"), "template_id": template,
            "topic_id": topic}


def _post(path: str, body: dict[str, Any] | None, as_json: bool) -> None:
    show(api().call("POST", path, json_body=body or {}).text, as_json)


@app.command("list")
def list_(project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
          all_: AllOpt = False) -> None:
    """List broadcasts."""
    list_cmd(project_path(project, "/broadcasts"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(broadcast_id: BroadcastId, project: ProjectOpt = None, as_json: JsonOpt = False
         ) -> None:
    """Show a broadcast with its body."""
    get(_path(project, broadcast_id), as_json)


@app.command("create")
def create_(name: Annotated[str, typer.Option(help="Broadcast name.")],
            subject: SubjectOpt = None, preview_text: PreviewOpt = None, body: BodyOpt = None,
            audience: AudienceOpt = None, template: TemplateOpt = None, topic: TopicOpt = None,
            project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Create a draft broadcast."""
    fields = _fields(subject, preview_text, body, audience, template, topic)
    create(project_path(project, "/broadcasts"), {"name": name, **fields}, as_json)


@app.command("update")
def update_(broadcast_id: BroadcastId,
            name: Annotated[str | None, typer.Option(help="New name.")] = None,
            subject: SubjectOpt = None, preview_text: PreviewOpt = None, body: BodyOpt = None,
            audience: AudienceOpt = None, template: TemplateOpt = None, topic: TopicOpt = None,
            project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Edit a draft broadcast."""
    fields = _fields(subject, preview_text, body, audience, template, topic)
    update(_path(project, broadcast_id), {"name": name, **fields}, as_json)


@app.command("delete")
def delete_(broadcast_id: BroadcastId, project: ProjectOpt = None, yes: YesOpt = False) -> None:
    """Delete a broadcast (not while it sends)."""
    confirm(f"delete broadcast {broadcast_id}", yes)
    delete(_path(project, broadcast_id), f"Deleted broadcast {broadcast_id}.")


@app.command("preflight")
def preflight(broadcast_id: BroadcastId, project: ProjectOpt = None, as_json: JsonOpt = False
              ) -> None:
    """Who it would reach, who is excluded and why."""
    _post(_path(project, broadcast_id, "/preflight"), None, as_json)


@app.command("schedule")
def schedule(broadcast_id: BroadcastId,
             at: Annotated[str | None, typer.Option(
                 "--at", help="ISO-8601 instant; omit to send now.")] = None,
             local_time: Annotated[bool, typer.Option(
                 "--local-time", help="That wall-clock time in each contact's zone.")] = False,
             project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Schedule a broadcast, or send it now."""
    body = {"scheduled_at": at, "local_time": local_time}
    _post(_path(project, broadcast_id, "/schedule"), body, as_json)


@app.command("pause")
def pause(broadcast_id: BroadcastId, project: ProjectOpt = None, as_json: JsonOpt = False
          ) -> None:
    """Stop sending; nothing more leaves until resumed."""
    _post(_path(project, broadcast_id, "/pause"), None, as_json)


@app.command("resume")
def resume(broadcast_id: BroadcastId, project: ProjectOpt = None, as_json: JsonOpt = False
           ) -> None:
    """Carry on sending a paused broadcast."""
    _post(_path(project, broadcast_id, "/resume"), None, as_json)


@app.command("cancel")
def cancel(broadcast_id: BroadcastId, project: ProjectOpt = None, as_json: JsonOpt = False,
           yes: YesOpt = False) -> None:
    """Cancel: queued emails are dropped, sent ones stay sent."""
    confirm(f"cancel broadcast {broadcast_id}", yes)
    _post(_path(project, broadcast_id, "/cancel"), None, as_json)


@app.command("test")
def test(broadcast_id: BroadcastId, to: Annotated[str, typer.Option(help="Recipient.")],
         as_contact: Annotated[str | None, typer.Option(
             "--as", help="Render as the contact with this external id.")] = None,
         project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Send a [Test] copy to any address."""
    body = {"to": to, "as_external_id": as_contact}
    _post(_path(project, broadcast_id, "/test"), {k: v for k, v in body.items() if v}, as_json)


FINISHED = ("sent", "cancelled")


@app.command("live")
def live(broadcast_id: BroadcastId,
         watch: Annotated[bool, typer.Option(
             "--watch", help="Refresh every second until it finishes.")] = False,
         project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Status and counters; --watch follows them until the broadcast finishes."""
    path = _path(project, broadcast_id, "/live")
    while True:
        response = api().call("GET", path)
        if as_json or not watch:
            show(response.text, as_json)
        else:
            typer.echo(_progress_line(response.json()))
        if not watch or response.json().get("status") in FINISHED:
            return
        time.sleep(1)


def _progress_line(live: dict[str, Any]) -> str:
    stats = live.get("stats") or {}
    total = live.get("recipients")
    parts = [f"{name} {stats[name]}" for name in (
        "queued", "sent", "delivered", "opened", "clicked", "bounced", "suppressed", "failed")
        if name in stats]
    return f"{live.get('status')} ({total} recipients): " + ", ".join(parts)
