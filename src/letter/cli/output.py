"""Printing: the API's JSON verbatim, or tables for people.

On a terminal, Rich tables sized to its width (colour unless ``NO_COLOR``);
otherwise plain tab-separated lines with no escape codes, for pipes and grep.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["Column", "cell", "err", "print_json", "print_object", "print_table", "styled"]

Column = tuple[str, str]  # (header, key in the object; dotted for nested)


def _interactive() -> bool:
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def styled() -> bool:
    """Whether help is worth Rich's panels: a person at a terminal that takes
    colour. Otherwise click's plain help, without importing Rich at all."""
    return _interactive() and not os.environ.get("NO_COLOR")


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    # NO_COLOR turns off every escape code, styles too, not only colours.
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, color_system=None if plain else "auto", highlight=False)


def err(message: str) -> None:
    """A message for the person, on stderr (never mixed into --json output)."""
    sys.stderr.write(message + "\n")


def print_json(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _pick(obj: dict[str, Any], key: str) -> Any:
    value: Any = obj
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def print_table(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> None:
    lines = [[cell(_pick(row, key)) for _, key in columns] for row in rows]
    headers = [header for header, _ in columns]
    if not _interactive():
        for line in [headers, *lines]:
            sys.stdout.write("\t".join(v.replace("\t", " ").replace("\n", " ") for v in line))
            sys.stdout.write("\n")
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, header_style="bold", expand=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for line in lines:
        table.add_row(*(Text(v) for v in line))  # Text: no markup in data
    _console().print(table)


def print_object(obj: dict[str, Any]) -> None:
    rows = [{"field": key, "value": value} for key, value in obj.items()]
    if not _interactive():
        for row in rows:
            sys.stdout.write(f"{row['field']}\t{cell(row['value'])}\n")
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE, show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for row in rows:
        table.add_row(Text(row["field"]), Text(cell(row["value"])))
    _console().print(table)
