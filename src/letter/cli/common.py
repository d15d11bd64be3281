"""What every client command shares: options, JSON arguments, list and show.

A command group module only names paths, options and columns; these helpers
do the HTTP, the paging and the printing the same way everywhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from letter.cli.http import EXIT_USAGE, api, fail
from letter.cli.output import Column, err, print_json, print_object, print_table

__all__ = [
    "AllOpt",
    "JsonOpt",
    "LimitOpt",
    "ProjectOpt",
    "YesOpt",
    "confirm",
    "create",
    "delete",
    "group",
    "json_arg",
    "list_cmd",
    "project_path",
    "seg",
    "show",
    "update",
]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON exactly.")]
ProjectOpt = Annotated[
    str | None,
    typer.Option(
        "--project", "-p", envvar="LETTER_PROJECT", help="Project slug.", show_default=False
    ),
]
LimitOpt = Annotated[int, typer.Option(min=1, help="How many to show (pages are followed).")]
AllOpt = Annotated[bool, typer.Option("--all", help="Follow every page to the end.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

PAGE_MAX = 100


def group(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, no_args_is_help=True, add_completion=False)


def seg(value: str) -> str:
    """One URL path segment (ids, slugs and emails may hold any character)."""
    return quote(value, safe="@")


def project_path(project: str | None, rest: str = "") -> str:
    if not project:
        fail("pass --project SLUG or set LETTER_PROJECT.", EXIT_USAGE)
    return f"/v1/projects/{seg(project)}{rest}"


def json_arg(value: str | None, name: str) -> Any:
    """A JSON argument: inline JSON, ``@file.json``, or ``-`` for stdin."""
    if value is None:
        return None
    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        try:
            text = Path(value[1:]).expanduser().read_text()
        except OSError as exc:
            fail(f"{name}: cannot read {value[1:]}: {exc.strerror}", EXIT_USAGE)
    else:
        text = value
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno})", EXIT_USAGE)


def confirm(what: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"refusing to {what} without --yes when not interactive.", EXIT_USAGE)
    if not typer.confirm(f"Really {what}?"):
        raise typer.Exit(1)


def list_cmd(
    path: str,
    columns: Sequence[Column],
    as_json: bool,
    limit: int = 50,
    follow_all: bool = False,
    params: dict[str, Any] | None = None,
) -> None:
    """A list, following ``next_cursor`` up to ``limit`` items (or all of them)."""
    client = api()
    items: list[Any] = []
    cursor: str | None = None
    while True:
        want = PAGE_MAX if follow_all else min(PAGE_MAX, limit - len(items))
        query = {**(params or {}), "limit": want, "cursor": cursor}
        response = client.call("GET", path, params=query)
        body = response.json()
        first_and_enough = cursor is None and (follow_all is False and want == limit)
        if as_json and first_and_enough:
            print_json(response.text)  # one page: the API's own bytes
            return
        items.extend(body.get("data", []))
        cursor = body.get("next_cursor")
        if not cursor or (not follow_all and len(items) >= limit):
            break
    if as_json:
        print_json(json.dumps({"data": items, "next_cursor": cursor}))
        return
    print_table(items, columns)
    if cursor and not follow_all:
        err(f"(more: --limit {limit * 2} or --all)")


def show(response_text: str, as_json: bool) -> None:
    if as_json:
        print_json(response_text)
    else:
        print_object(json.loads(response_text))


def get(path: str, as_json: bool) -> None:
    show(api().call("GET", path).text, as_json)


def create(path: str, body: dict[str, Any], as_json: bool) -> None:
    response = api().call("POST", path, json_body=_clean(body), idempotent=True)
    show(response.text, as_json)


def update(path: str, body: dict[str, Any], as_json: bool, method: str = "PATCH") -> None:
    body = _clean(body)
    if not body and method == "PATCH":
        fail("nothing to change: pass at least one option.", EXIT_USAGE)
    show(api().call(method, path, json_body=body).text, as_json)


def delete(path: str, done: str, method: str = "DELETE") -> None:
    api().call(method, path)
    err(done)


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
