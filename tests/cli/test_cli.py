"""The server-side ``letter`` commands: db upgrade and admin bootstrap."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect
from typer.testing import CliRunner

from letter.app import create_app
from letter.cli.main import app
from letter.db.engine import make_engine
from letter.settings import Settings


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    return {"LETTER_DATA_DIR": str(tmp_path / "data"), "LETTER_DATABASE_URL": url}


def test_db_upgrade_creates_schema_and_secret(tmp_path, fresh_database_url):
    result = CliRunner().invoke(app, ["db", "upgrade"], env=_env(tmp_path, fresh_database_url))
    assert result.exit_code == 0, result.output
    engine = make_engine(fresh_database_url)
    try:
        assert {"projects", "contacts", "personal_access_tokens"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
    secret = (tmp_path / "data" / "secret_key").read_text()
    assert len(secret) == 64
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0


def test_bootstrap_prints_a_working_token_and_reruns_mint_new_ones(tmp_path, fresh_database_url):
    env = _env(tmp_path, fresh_database_url)
    args = [
        "admin",
        "bootstrap",
        "--email",
        "Ada@Example.com",
        "--workspace",
        "Acme",
        "--name",
        "Ada",
        "--password",
        "s3cret-pass",
        "--json",
    ]
    first = CliRunner().invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert set(out) == {"token", "workspace_id", "user_id"}
    assert out["token"].startswith("lt_pat_")

    second = json.loads(CliRunner().invoke(app, args, env=env).stdout)
    assert second["token"] != out["token"]
    assert (second["workspace_id"], second["user_id"]) == (out["workspace_id"], out["user_id"])

    settings = Settings.from_env(env)
    with TestClient(create_app(settings)) as client:
        for token in (out["token"], second["token"]):
            me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
            assert me["role"] == "owner" and me["workspace"]["name"] == "Acme"
            assert me["user"] == {"id": out["user_id"], "email": "ada@example.com", "name": "Ada"}


def test_bootstrap_requires_its_options(tmp_path):
    result = CliRunner().invoke(
        app, ["admin", "bootstrap", "--email", "a@b.c"], env={"LETTER_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2


def test_bootstrap_rejects_a_bad_email(tmp_path):
    result = CliRunner().invoke(
        app,
        ["admin", "bootstrap", "--email", "nope", "--workspace", "W"],
        env={"LETTER_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert "email" in result.output


def test_worker_refuses_an_unknown_queue(tmp_path):
    result = CliRunner().invoke(app, ["worker", "--queues", "outbox,nope"],
                                env={"LETTER_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "unknown queue nope" in result.output


def test_worker_runs_only_the_queues_it_is_given(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from letter.db.engine import Database
    from letter.db.migrate import upgrade
    from letter.delivery.system import queue_system_email
    from letter.jobs import Job, JobState, enqueue

    url = f"sqlite:///{tmp_path / 'letter.db'}"
    upgrade(url)
    db = Database.from_url(url)
    with db.session() as session:
        queue_system_email(session, template="invitation", to="a@example.com", subject="Hi",
                           values={"workspace": "W", "inviter": "I", "role": "member",
                                   "link": "http://x.test/"}, sending_domain="l.test")
        job_id = enqueue(session, "jobs.prune")
    env = {**os.environ, **_env(tmp_path, url), "LETTER_SECRET_KEY": "k"}
    worker = subprocess.Popen([sys.executable, "-m", "letter.cli.main", "worker",
                               "--queues", "outbox"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not list((tmp_path / "data" / "outbox").glob("*.eml")):
            assert time.monotonic() < deadline, "the outbox queue sent nothing"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
    with db.session() as session:
        assert session.get(Job, job_id).state == JobState.QUEUED  # "default" was not run
    db.engine.dispose()
