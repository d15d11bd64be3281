"""All configuration, read once from ``LETTER_*`` environment variables.

>>> settings = Settings.from_env({"LETTER_DATA_DIR": "/tmp/letter"})
>>> settings.database_url
'sqlite:////tmp/letter/letter.db'
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["Settings"]

SECRET_KEY_FILE = "secret_key"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    public_url: str = "http://127.0.0.1:8300"
    email_transport: str = "file"
    smtp_url: str | None = None
    sending_domain: str = "letter.localhost"
    redis_url: str | None = None
    secret_key: str | None = None
    dns_resolver: str | None = None
    rate_limit: str = "1200/minute"
    ingest_rate_limit: str = "10000/minute"
    max_body_bytes: int = 1_000_000
    max_ingest_body_bytes: int = 500_000
    max_upload_bytes: int = 100_000_000
    webhook_secret: str | None = None
    outbox_lease_seconds: float = 120.0
    outbox_batch_size: int = 200
    job_lease_seconds: float = 60.0
    metrics_token: str | None = None
    sequence_batch_size: int = 500
    # Rows of a CSV import applied per transaction.
    import_chunk_rows: int = 2000
    # Seconds a broadcast may be overdue when it starts before it is held paused.
    broadcast_max_lateness: float = 3600.0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every ``LETTER_*`` variable that is set and not empty; the
        defaults are the field defaults above, written once."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("LETTER_DATA_DIR") or "./.letter").absolute()
        values: dict[str, Any] = {}
        for name, kind in _FIELD_TYPES.items():
            variable = f"LETTER_{name.upper()}"
            raw = env.get(variable)
            if raw:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    raise ValueError(f"{variable}: {raw!r} is not a {_KIND_NAMES[kind]}") from None
        if "public_url" in values:
            values["public_url"] = values["public_url"].rstrip("/")
        values.setdefault("database_url", f"sqlite:///{data_dir / 'letter.db'}")
        return cls(data_dir=data_dir, **values)

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def delivery_webhook_secret(self) -> str:
        """The shared secret of delivery webhooks: ``LETTER_WEBHOOK_SECRET``, else
        derived from the secret key (``letter admin webhook-secret`` prints it)."""
        if self.webhook_secret:
            return self.webhook_secret
        import hashlib
        import hmac

        key = (self.secret_key or "").encode()
        return hmac.new(key, b"letter.webhooks", hashlib.sha256).hexdigest()[:40]

    def with_secret_key(self) -> Settings:
        """Return settings whose secret key is set, generating and keeping one
        in the data dir on first use so links stay valid across restarts."""
        if self.secret_key:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return replace(self, secret_key=path.read_text().strip())


# Every field but the data dir and the catch-all has a LETTER_<NAME> variable.
_FIELD_TYPES: dict[str, Any] = {
    f.name: {"int": int, "float": float}.get(str(f.type), str)
    for f in fields(Settings) if f.name not in ("data_dir", "extra")
}
_KIND_NAMES = {int: "whole number", float: "number", str: "string"}
