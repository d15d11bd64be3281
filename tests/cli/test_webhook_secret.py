"""``letter admin webhook-secret`` prints the secret delivery webhooks use."""

from __future__ import annotations

from typer.testing import CliRunner

from letter.cli.main import app
from letter.settings import Settings


def test_prints_the_derived_secret_and_honours_the_override(tmp_path, monkeypatch):
    monkeypatch.setenv("LETTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LETTER_SECRET_KEY", "k")
    monkeypatch.delenv("LETTER_WEBHOOK_SECRET", raising=False)
    result = CliRunner().invoke(app, ["admin", "webhook-secret"])
    assert result.exit_code == 0
    expected = Settings.from_env().with_secret_key().delivery_webhook_secret
    assert result.output.strip() == expected and len(expected) == 40
    monkeypatch.setenv("LETTER_WEBHOOK_SECRET", "chosen")
    assert CliRunner().invoke(app, ["admin", "webhook-secret"]).output.strip() == "chosen"
