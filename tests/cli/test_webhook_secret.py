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


def test_settings_come_from_the_environment_with_one_set_of_defaults(tmp_path):
    import pytest

    from letter.settings import Settings

    default = Settings.from_env({"LETTER_DATA_DIR": str(tmp_path)})
    assert default.outbox_batch_size == 200 and default.job_lease_seconds == 60.0
    assert default.database_url == f"sqlite:///{tmp_path / 'letter.db'}"
    tuned = Settings.from_env({"LETTER_DATA_DIR": str(tmp_path), "LETTER_JOB_LEASE_SECONDS": "5",
                               "LETTER_PUBLIC_URL": "https://mail.acme.test/",
                               "LETTER_OUTBOX_BATCH_SIZE": ""})
    assert tuned.job_lease_seconds == 5.0 and tuned.public_url == "https://mail.acme.test"
    assert tuned.outbox_batch_size == 200  # empty means unset
    with pytest.raises(ValueError, match="LETTER_OUTBOX_BATCH_SIZE: 'lots' is not a whole"):
        Settings.from_env({"LETTER_OUTBOX_BATCH_SIZE": "lots"})
