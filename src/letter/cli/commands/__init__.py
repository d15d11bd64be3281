"""One module per command group of the Management API.

Each module exposes ``app`` (a Typer group) and ``NAME`` (its command name).
``COMMANDS`` below is the root's index of every command and group, in the
order ``letter --help`` lists them: where each is defined and its one-line
help. ``letter --help`` prints the table without importing anything, and
``letter NAME …`` imports only NAME's module, so start-up does not grow with
the number of groups. Adding a resource is one small module and one line
here (``tests/cli/test_startup.py`` checks each line against its module).
"""

from __future__ import annotations

# name -> ("module:attribute" (a Typer group or a command function), help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": (
        "letter.cli.server:serve",
        "Run the API, the dashboard and the worker (applies migrations first).",
    ),
    "worker": (
        "letter.cli.server:worker",
        "Run the worker alone (claims and runs due work until stopped).",
    ),
    "login": (
        "letter.cli.commands.auth:login",
        "Log in with your browser (device flow) and store the token.",
    ),
    "logout": (
        "letter.cli.commands.auth:logout",
        "Revoke the stored token on the server and forget it.",
    ),
    "api": (
        "letter.cli.commands.api:raw",
        "Send an authenticated request and print the response body.",
    ),
    "db": ("letter.cli.server:db_app", "Database commands."),
    "admin": ("letter.cli.server:admin_app", "Instance administration."),
    "auth": ("letter.cli.commands.auth:app", "Who you are logged in as."),
    "projects": ("letter.cli.commands.projects:app", "Projects in your workspace."),
    "api-keys": (
        "letter.cli.commands.api_keys:app",
        "Your personal access tokens (lt_pat_…) in this workspace.",
    ),
    "project-tokens": (
        "letter.cli.commands.project_tokens:app",
        "A project's ingestion keys (lt_live_…) for the SDKs and Ingestion API.",
    ),
    "members": ("letter.cli.commands.members:app", "Workspace members (admin)."),
    "invitations": (
        "letter.cli.commands.invitations:app",
        "Pending invitations to the workspace (admin).",
    ),
    "contacts": ("letter.cli.commands.contacts:app", "Contacts of a project."),
    "accounts": ("letter.cli.commands.accounts:app", "Accounts (companies) of a project."),
    "events": ("letter.cli.commands.events:app", "Events reported by your backend."),
    "traits": ("letter.cli.commands.traits:app", "Trait keys seen on contacts and accounts."),
    "suppressions": (
        "letter.cli.commands.suppressions:app",
        "The suppression list of a project.",
    ),
    "segments": ("letter.cli.commands.segments:app", "Segments: saved FilterSpecs."),
    "lists": ("letter.cli.commands.lists:app", "Lists: static sets of contacts."),
    "topics": (
        "letter.cli.commands.topics:app",
        "Topics: what contacts subscribe to (the preference centre shows public ones).",
    ),
    "templates": ("letter.cli.commands.templates:app", "Email templates of a project."),
    "domains": ("letter.cli.commands.domains:app", "Custom sending domains (admin)."),
    "sender-identity": (
        "letter.cli.commands.sender_identity:app",
        "The From name, From address and Reply-To of a project (admin).",
    ),
    "sending-mode": (
        "letter.cli.commands.sending_mode:app",
        "Send from Letter's subdomain or your verified domain (admin).",
    ),
    "messages": ("letter.cli.commands.messages:app", "Send a message; the outbox log."),
    "sequences": ("letter.cli.commands.sequences:app", "Sequences: automated email flows."),
    "broadcasts": (
        "letter.cli.commands.broadcasts:app",
        "Broadcasts: one email to an audience.",
    ),
    "imports": (
        "letter.cli.commands.imports:app",
        "CSV imports of contacts: upload, watch, cancel, error reports.",
    ),
    "exports": (
        "letter.cli.commands.exports:app",
        "Contact exports to CSV (20 per user per hour; links expire after an hour).",
    ),
}
