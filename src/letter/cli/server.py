"""Server commands of ``letter``: serve, worker, db, admin.

They import the server lazily, and the client commands never import this
module (``letter.cli.commands.COMMANDS`` mounts ``serve``, ``worker``,
``db_app`` and ``admin_app`` from here)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from letter.settings import Settings

db_app = typer.Typer(no_args_is_help=True, help="Database commands.")
admin_app = typer.Typer(no_args_is_help=True, help="Instance administration.")


def _prepare() -> Settings:
    from letter.db.migrate import upgrade
    from letter.settings import Settings

    settings = Settings.from_env().with_secret_key()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    return settings


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8300,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Run the API only.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes (uvicorn workers) to use several cores. The background "
            "worker still runs once, in this supervising process. Rate limits are per "
            "process unless LETTER_REDIS_URL is set.",
        ),
    ] = 1,
) -> None:
    """Run the API, the dashboard and the worker (applies migrations first)."""
    import uvicorn

    from letter.api.metrics import is_loopback
    from letter.app import create_app
    from letter.runtime import Runtime
    from letter.worker.loop import Worker

    _configure_logging()
    # Links in emails follow the address actually served unless configured.
    if not os.environ.get("LETTER_PUBLIC_URL"):
        os.environ["LETTER_PUBLIC_URL"] = _served_url(host, port)
    settings = _prepare()
    runtime = Runtime.build(settings)
    worker = None if no_worker else Worker(runtime)
    if worker is not None:
        worker.start_thread()
    typer.echo(f"Letter on http://{host}:{port} (data in {settings.data_dir})", err=True)
    if settings.metrics_token is None and not is_loopback(host):
        typer.echo(
            "/metrics answers on loopback only: set LETTER_METRICS_TOKEN to scrape it "
            f"from other hosts through {host}.",
            err=True,
        )
    try:
        if workers == 1:
            uvicorn.run(
                create_app(runtime=runtime), host=host, port=port, log_level="warning",
                access_log=False,
            )
        else:
            # Each API process builds its own app from the same LETTER_* environment.
            uvicorn.run(
                "letter.app:create_app", factory=True, workers=workers, host=host, port=port,
                log_level="warning", access_log=False,
            )
    finally:
        if worker is not None:
            worker.stop()


def _served_url(host: str, port: int) -> str:
    """The base URL people reach a server bound to ``host:port`` at."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Alembic announces each of its plugins at INFO on every start.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def worker(
    queues: Annotated[
        str | None,
        typer.Option(help="Comma-separated queues to run (default: all), e.g. "
                          "'outbox' on one process and 'default' on another."),
    ] = None,
) -> None:
    """Run the worker alone (claims and runs due work until stopped)."""
    from letter.runtime import Runtime
    from letter.worker.loop import Worker
    from letter.worker.registry import default_registry

    _configure_logging()
    chosen = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    known = default_registry().queues()
    if chosen and not set(chosen) <= set(known):
        unknown = ", ".join(sorted(set(chosen) - set(known)))
        typer.echo(f"error: unknown queue {unknown}; known: {', '.join(known)}", err=True)
        raise typer.Exit(2)
    the_worker = Worker(Runtime.build(_prepare()), queues=chosen)
    signal.signal(signal.SIGTERM, lambda *_: the_worker.stop())
    try:
        the_worker.run()
    except KeyboardInterrupt:
        the_worker.stop()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations up to the newest."""
    settings = _prepare()
    typer.echo(f"Database at {settings.database_url.split('@')[-1]} is up to date.", err=True)


@admin_app.command("bootstrap")
def bootstrap(
    email: Annotated[str, typer.Option(help="The user's email.")],
    workspace: Annotated[str, typer.Option(help="Workspace name.")],
    name: Annotated[str | None, typer.Option(help="The user's display name.")] = None,
    password: Annotated[str | None, typer.Option(help="Dashboard password.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create the user, the workspace (owner) and a personal access token."""
    from letter.auth import service
    from letter.db.engine import Database
    from letter.errors import LetterError

    settings = _prepare()
    db = Database.from_url(settings.database_url)
    try:
        with db.session() as session:
            user, ws, minted = service.bootstrap(
                session, email=email, workspace_name=workspace, name=name, password=password
            )
            out = {"token": minted.raw, "workspace_id": str(ws.id), "user_id": str(user.id)}
    except LetterError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        typer.echo(f"User      {email} ({out['user_id']})")
        typer.echo(f"Workspace {workspace} ({out['workspace_id']})")
        typer.echo(f"Token     {out['token']}")
        typer.echo("Keep the token: it is shown once.", err=True)


@admin_app.command("webhook-secret")
def webhook_secret() -> None:
    """Print the secret delivery webhooks authenticate with (HMAC key of the
    generic format; Basic-auth password for SES via SNS and Postmark)."""
    from letter.settings import Settings

    settings = Settings.from_env().with_secret_key()
    typer.echo(settings.delivery_webhook_secret)


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write (a tar).")],
) -> None:
    """Back up the embedded SQLite database and the secret key, while serving."""
    from letter.db.backup import BackupError, backup_sqlite, sqlite_path
    from letter.settings import SECRET_KEY_FILE, Settings

    settings = Settings.from_env()
    try:
        db_file = sqlite_path(settings.database_url)
        manifest = backup_sqlite(db_file, settings.data_dir / SECRET_KEY_FILE, path)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    size = manifest["database_bytes"] / 1e6
    typer.echo(f"Backed up {db_file} ({size:.1f} MB, schema {manifest['schema_revision']}) "
               f"to {path}.", err=True)
    if not manifest["has_secret_key"]:
        typer.echo("No secret key file in the data dir: keep LETTER_SECRET_KEY with the backup.",
                   err=True)


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file written by letter db backup.")],
    force: Annotated[bool, typer.Option(help="Replace an existing database.")] = False,
) -> None:
    """Restore a backup into the data dir (stop Letter first), then migrate it."""
    from letter.db.backup import BackupError, restore_sqlite, sqlite_path
    from letter.settings import SECRET_KEY_FILE, Settings

    settings = Settings.from_env()
    try:
        db_file = sqlite_path(settings.database_url)
        key_file = settings.data_dir / SECRET_KEY_FILE
        manifest = restore_sqlite(path, db_file, key_file, force=force)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    _prepare()  # a backup from an older Letter is brought up to this one's schema
    typer.echo(f"Restored {path} (taken {manifest['created_at']}) into {db_file}.", err=True)
