"""Broadcast sending tests use the delivery fixtures: a real SMTP server on
loopback, a runtime that sends to it, a project and contacts."""

from tests.delivery.conftest import (  # noqa: F401  (fixtures)
    api,
    dns_server,
    make_contact,
    project_row,
    runtime,
    smtp,
)
