"""Background work of auth: expired web sessions and device logins go."""

from __future__ import annotations

from letter.auth import web_sessions
from letter.jobs import JobContext, JobRegistry

__all__ = ["registry"]

registry = JobRegistry()


@registry.handler("auth.prune-sign-ins", every=3600)
def prune_sign_ins(ctx: JobContext) -> None:
    web_sessions.prune_expired(ctx.session)
