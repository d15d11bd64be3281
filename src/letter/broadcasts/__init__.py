"""Broadcasts: one email to an audience, scheduled, paused, cancelled, watched live."""
