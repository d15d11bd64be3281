"""``letter sequences``: automated email flows, their drafts and versions."""

from __future__ import annotations

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

NAME = "sequences"
app = group("Sequences: automated email flows.")
draft_app = group("The editable draft of a sequence.")
app.add_typer(draft_app, name="draft")
COLUMNS = [("ID", "id"), ("NAME", "name"), ("STATUS", "status"),
           ("REVISION", "draft_revision"), ("UPDATED", "updated_at")]
SequenceId = Annotated[str, typer.Argument(help="Sequence id.")]
NodeOpt = Annotated[str, typer.Option("--node", help="Id of the email node.")]
ConfigOpt = Annotated[str | None, typer.Option(
    "--config", help="Email node config (JSON, @file.json or -); default: the draft's.")]


def _path(project: str | None, sequence_id: str, rest: str = "") -> str:
    return project_path(project, f"/sequences/{seg(sequence_id)}{rest}")


def _post(path: str, body: dict[str, Any] | None, as_json: bool) -> None:
    show(api().call("POST", path, json_body=body or {}).text, as_json)


@app.command("list")
def list_(project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
          all_: AllOpt = False) -> None:
    """List sequences."""
    list_cmd(project_path(project, "/sequences"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(sequence_id: SequenceId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Show a sequence with its draft graph."""
    get(_path(project, sequence_id), as_json)


@app.command("create")
def create_(name: Annotated[str, typer.Option(help="Sequence name.")],
            project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Create a sequence (an empty draft)."""
    create(project_path(project, "/sequences"), {"name": name}, as_json)


@app.command("rename")
def rename(sequence_id: SequenceId, name: Annotated[str, typer.Option(help="New name.")],
           project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Rename a sequence."""
    update(_path(project, sequence_id), {"name": name}, as_json)


@app.command("archive")
def archive(sequence_id: SequenceId, project: ProjectOpt = None, as_json: JsonOpt = False,
            yes: YesOpt = False) -> None:
    """Archive a sequence: no new enrolments, running ones exit."""
    confirm(f"archive sequence {sequence_id} and exit its running enrolments", yes)
    update(_path(project, sequence_id), {"status": "archived"}, as_json)


@app.command("delete")
def delete_(sequence_id: SequenceId, project: ProjectOpt = None, yes: YesOpt = False) -> None:
    """Delete a sequence."""
    confirm(f"delete sequence {sequence_id}", yes)
    delete(_path(project, sequence_id), f"Deleted sequence {sequence_id}.")


@draft_app.command("push")
def draft_push(
    sequence_id: SequenceId,
    graph: Annotated[str, typer.Argument(help="The draft: JSON, @file.json or - for stdin; "
                                              "{graph, trigger} or a graph alone.")],
    expected_revision: Annotated[int, typer.Option(
        "--expected-revision", min=0, help="The revision you edited (a stale one is refused).")],
    trigger: Annotated[str | None, typer.Option(
        help="Trigger (JSON, @file.json or -) when GRAPH is the graph alone.")] = None,
    project: ProjectOpt = None, as_json: JsonOpt = False,
) -> None:
    """Save the draft graph and trigger."""
    draft = json_arg(graph, "GRAPH")
    if isinstance(draft, dict) and "graph" in draft:
        body = {"graph": draft["graph"], "trigger": draft.get("trigger")}
    else:
        body = {"graph": draft, "trigger": json_arg(trigger, "--trigger")}
    body["expected_revision"] = expected_revision  # a null trigger is sent as null
    show(api().call("PUT", _path(project, sequence_id, "/draft"), json_body=body).text, as_json)


@app.command("validate")
def validate(sequence_id: SequenceId, project: ProjectOpt = None, as_json: JsonOpt = False
             ) -> None:
    """Run the checks publish runs, without publishing."""
    get(_path(project, sequence_id, "/validate"), as_json)


@app.command("publish")
def publish(sequence_id: SequenceId, project: ProjectOpt = None, as_json: JsonOpt = False
            ) -> None:
    """Publish the draft as a new immutable version."""
    _post(_path(project, sequence_id, "/publish"), None, as_json)


@app.command("versions")
def versions(sequence_id: SequenceId, project: ProjectOpt = None, as_json: JsonOpt = False
             ) -> None:
    """List the published versions."""
    get(_path(project, sequence_id, "/versions"), as_json)


@app.command("activity")
def activity(sequence_id: SequenceId, project: ProjectOpt = None, as_json: JsonOpt = False
             ) -> None:
    """Enrolments by state, per-node counts and the latest enrolments."""
    get(_path(project, sequence_id, "/activity"), as_json)


def _email_node(node: str, config: str | None, recipient: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"node_id": node}
    if config is not None:
        body["config"] = json_arg(config, "--config")
    if recipient is not None:
        body["recipient_email"] = recipient
    return body


@app.command("preview")
def preview(sequence_id: SequenceId, node: NodeOpt, config: ConfigOpt = None,
            recipient: Annotated[str | None, typer.Option(
                help="Render as the contact with this email.")] = None,
            project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Render an email node to HTML and text."""
    _post(_path(project, sequence_id, "/preview"), _email_node(node, config, recipient), as_json)


@app.command("test-email")
def test_email(sequence_id: SequenceId, node: NodeOpt, config: ConfigOpt = None,
               to: Annotated[str | None, typer.Option(
                   help="Recipient (default: you).")] = None,
               project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Send a [Test] copy of an email node."""
    _post(_path(project, sequence_id, "/test-email"), _email_node(node, config, to), as_json)


@app.command("exit")
def exit_(sequence_id: SequenceId,
          external_id: Annotated[str, typer.Argument(help="The contact's external id.")],
          project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Remove one contact from the sequence."""
    _post(_path(project, sequence_id, f"/enrollments/{seg(external_id)}/exit"), None, as_json)
