"""Server commands of ``letter``: serve, worker, db, admin.

They import the server lazily, so the client commands start fast."""

from __future__ import annotations

import json
import logging
import signal
import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from letter.settings import Settings

app = typer.Typer()  # commands collected here, mounted on the real app by register()
db_app = typer.Typer(no_args_is_help=True, help="Database commands.")
admin_app = typer.Typer(no_args_is_help=True, help="Instance administration.")


def register(root: typer.Typer) -> None:
    for command in app.registered_commands:
        root.registered_commands.append(command)
    root.add_typer(db_app, name="db")
    root.add_typer(admin_app, name="admin")


def _prepare() -> Settings:
    from letter.db.migrate import upgrade
    from letter.settings import Settings

    settings = Settings.from_env().with_secret_key()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    return settings


@app.command()
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

    from letter.app import create_app
    from letter.runtime import Runtime
    from letter.worker.loop import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _prepare()
    runtime = Runtime.build(settings)
    worker = None if no_worker else Worker(runtime)
    if worker is not None:
        worker.start_thread()
    typer.echo(f"Letter on http://{host}:{port} (data in {settings.data_dir})", err=True)
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


@app.command()
def worker() -> None:
    """Run the worker alone (claims and runs due work until stopped)."""
    from letter.runtime import Runtime
    from letter.worker.loop import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    the_worker = Worker(Runtime.build(_prepare()))
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
