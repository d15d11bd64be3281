"""``letter traits``: which trait keys exist, to write filters against."""

from __future__ import annotations

from letter.cli.common import JsonOpt, ProjectOpt, group, project_path, show
from letter.cli.http import api
from letter.cli.output import print_table

NAME = "traits"
app = group("Trait keys seen on contacts and accounts.")
COLUMNS = [("KEY", "key"), ("SCOPE", "scope"), ("TYPE", "type"), ("COUNT", "count"),
           ("SAMPLE", "sample")]


@app.command("list")
def list_(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """List trait keys with their type, count and a sample value."""
    response = api().call("GET", project_path(project, "/traits"))
    if as_json:
        show(response.text, True)
        return
    print_table(response.json()["data"], COLUMNS)
