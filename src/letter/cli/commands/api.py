"""``letter api METHOD PATH``: any authenticated request, for what has no command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from letter.cli.common import json_arg
from letter.cli.http import EXIT_AUTH, EXIT_FAILURE, EXIT_USAGE, api, error_message, fail
from letter.cli.output import err, print_json

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def raw(
    method: Annotated[str, typer.Argument(help="GET, POST, PUT, PATCH or DELETE.")],
    path: Annotated[str, typer.Argument(help="Path from /v1, e.g. /v1/me.")],
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="JSON body, @file.json or - for stdin.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-F", help="Query parameter key=value.")
    ] = None,
) -> None:
    """Send an authenticated request and print the response body."""
    method = method.upper()
    if method not in METHODS:
        fail(f"method must be one of {', '.join(METHODS)}.", EXIT_USAGE)
    if not path.startswith("/"):
        path = "/" + path
    params: dict[str, str] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--param {item!r}: expected key=value.", EXIT_USAGE)
        params[key] = value
    response = api().send(
        method, path, json_body=json_arg(data, "--data"), params=params,
        idempotent=method == "POST",
    )
    if response.content:
        print_json(response.text)
    if response.status_code >= 400:
        code, message = error_message(response)
        err(f"error: {message} ({code})")
        sys.exit(EXIT_AUTH if response.status_code == 401 else EXIT_FAILURE)
