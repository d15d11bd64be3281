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
