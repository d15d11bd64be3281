"""Every kind of email Letter sends reaches a real SMTP server (aiosmtpd on
loopback, which like Postfix refuses bare LF and lines over 998 octets) with
CRLF line endings and short enough lines."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import compat32

import pytest

from letter.delivery import service
from letter.delivery.mime import OutgoingEmail
from letter.delivery.transport import wire_bytes
from letter.worker.outbox import drain_outbox as drain
from tests.delivery.conftest import doc

LONG_WORD = "x" * 3000


def _on_the_wire_properly(data: bytes) -> None:
    assert data.count(b"\n") == data.count(b"\r\n"), "bare LF"
    assert data.count(b"\r") == data.count(b"\r\n"), "bare CR"
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_contact_test_and_invitation_emails_pass_a_real_smtp_server(
    api, owner, project_row, make_contact, runtime, smtp, db
):
    make_contact("ada@example.com", external_id="u1")
    sent = api.post(
        f"/v1/projects/{project_row.slug}/messages",
        headers=owner.headers,
        json={
            "to": {"external_id": "u1"},
            "subject": "A subject " + "long " * 60,
            "body_doc": doc("Line one", LONG_WORD),
        },
    )
    assert sent.status_code == 202, sent.text
    with db.session() as session:
        project = session.merge(project_row)
        service.queue_message(
            session,
            project,
            None,
            kind="test",
            to_email="me@acme.test",
            subject="[Test] Test",
            body_doc=doc(LONG_WORD),
            sending_domain="letter.localhost",
        )
    invited = api.post(
        "/v1/members",
        headers=owner.headers,
        json={"email": "teammate@acme.test", "role": "admin"},
    )
    assert invited.status_code == 201, invited.text
    drain(runtime)
    by_recipient = {m.rcpt_tos[0]: m.data for m in smtp.messages}
    assert set(by_recipient) == {"ada@example.com", "me@acme.test", "teammate@acme.test"}
    for data in by_recipient.values():
        _on_the_wire_properly(data)
    assert re.search(rb"/invitations/accept\?token=", by_recipient["teammate@acme.test"])


def test_wire_bytes_normalises_line_endings_and_refuses_overlong_lines():
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@x.test", "b@x.test", "Hi"
    message.set_content("one\ntwo\n" + "y" * 2000 + "\n")
    data = wire_bytes(message)
    _on_the_wire_properly(data)
    legacy = EmailMessage(policy=compat32)
    legacy["Subject"] = "Hi"
    legacy.set_payload("z" * 1200)
    with pytest.raises(ValueError, match="998"):
        wire_bytes(legacy)


@pytest.mark.parametrize(("body", "too_long"), [
    (b"a\r\n" + b"x" * 998 + b"\r\nb\r\n", False),
    (b"a\r\n" + b"x" * 999 + b"\r\nb\r\n", True),
    (b"a\r\nb\r\n" + b"x" * 999, True),
    (b"x" * 999 + b"\nb\n", True),
])
def test_wire_bytes_line_limit_is_exactly_998_octets_anywhere_in_the_message(body, too_long):
    message = OutgoingEmail("a@x.test", "b@x.test", b"Subject: x\r\n\r\n" + body)
    if too_long:
        with pytest.raises(ValueError, match="998"):
            wire_bytes(message)
    else:
        assert wire_bytes(message).endswith(b"\r\nb\r\n")
