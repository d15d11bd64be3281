"""One module per command group of the Management API.

Each module exposes ``app`` (a Typer group) and ``NAME`` (its command name);
``GROUPS`` below is the one list ``letter.cli.main`` mounts, so adding a
resource is one small module and one line here.
"""

from __future__ import annotations

GROUPS = (
    "projects",
    "api_keys",
    "project_tokens",
    "members",
    "invitations",
    "contacts",
    "accounts",
    "events",
    "traits",
    "suppressions",
    "segments",
    "lists",
    "topics",
    "templates",
    "domains",
    "sender_identity",
    "sending_mode",
    "messages",
    "sequences",
    "broadcasts",
    "imports",
    "exports",
)
