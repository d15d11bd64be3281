"""Chaos under load: Letter's multi-process layout on a private PostgreSQL
with Redis and SMTP on loopback, driven by retrying clients while an API
process and a worker are SIGKILLed and PostgreSQL restarts. Used by
``tests/reliability/test_chaos.py`` (reduced) and ``bench/soak.py`` (full size)."""
