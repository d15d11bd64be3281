"""The long-lived objects one Letter process shares: settings, database,
rate limiter and email transport. Built once by ``create_app`` or the worker;
domains never see it (they take a Session and plain values)."""

from __future__ import annotations

from dataclasses import dataclass, field

from letter.db.engine import Database
from letter.delivery.transport import Transport, transport_from_settings
from letter.ingestion.groupcommit import GroupCommit
from letter.ratelimit import RateLimiter
from letter.settings import Settings

__all__ = ["Runtime"]


@dataclass
class Runtime:
    settings: Settings
    db: Database
    limiter: RateLimiter
    transport: Transport
    # Single ingestion calls share transactions (letter.ingestion.groupcommit).
    single_calls: GroupCommit = field(default_factory=GroupCommit)

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Runtime:
        settings = settings.with_secret_key()
        transport = transport_from_settings(
            settings.email_transport, settings.outbox_dir, settings.smtp_url
        )
        return cls(
            settings=settings,
            db=db or Database.from_url(settings.database_url),
            limiter=RateLimiter(
                {
                    "pat": settings.rate_limit,
                    "ingest": settings.ingest_rate_limit,
                    # Failed sign-ins, per email and per client address.
                    "signin_email": "5 per 15 minutes",
                    "signin_ip": "30 per 15 minutes",
                    # Unauthenticated CLI logins started, per client address.
                    "device_code": "20 per minute",
                },
                settings.redis_url,
            ),
            transport=transport,
        )
