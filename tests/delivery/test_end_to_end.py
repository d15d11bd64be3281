"""A message from the API to a real SMTP server: content, headers, DKIM
verified by dkimpy against a loopback DNS server, one-click unsubscribe, and
suppression of the next message."""

from __future__ import annotations

import email
import re
from email import policy
from typing import Any

import dkim
from sqlalchemy import select

from letter.contacts.models import Contact, Event
from letter.worker.outbox import drain_outbox as drain
from tests.delivery.conftest import doc
from tests.servers import dkim_dnsfunc


def setup_domain(api: Any, owner: Any, slug: str, dns_server: Any, name: str = "mail.acme.test"
                 ) -> dict[str, Any]:
    created = api.post(f"/v1/projects/{slug}/domains", json={"domain": name},
                       headers=owner.headers)
    assert created.status_code == 201, created.text
    domain = created.json()
    for record in domain["dns_records"]:
        dns_server.publish(record["name"], record["value"])
    verified = api.post(f"/v1/projects/{slug}/domains/{domain['id']}/verify",
                        headers=owner.headers).json()
    assert verified["status"] == "verified", verified
    assert api.put(f"/v1/projects/{slug}/sender-identity", headers=owner.headers, json={
        "from_email": f"hello@{name}", "from_name": "Acme Team",
        "reply_to_email": "support@acme.test"}).status_code == 200
    mode = api.put(f"/v1/projects/{slug}/sending-mode", headers=owner.headers,
                   json={"sending_mode": "byo_domain"})
    assert mode.status_code == 200, mode.text
    return verified


def send(api: Any, owner: Any, slug: str, transactional: bool = False, **to: str) -> str:
    body = doc("Hi {{ contact.traits.name | default: 'there' }}, your plan is "
               "{{ contact.traits.plan }}.", "Note: {{ contact.traits.evil }}")
    body["content"].append({"type": "paragraph", "content": [{
        "type": "text", "text": "Open the app",
        "marks": [{"type": "link", "attrs": {"href": "https://app.acme.test/home"}}]}]})
    response = api.post(f"/v1/projects/{slug}/messages", headers=owner.headers, json={
        "to": to or {"external_id": "u1"}, "subject": "Welcome {{ contact.traits.name }}",
        "preview": "Your account is ready", "body_doc": body, "transactional": transactional})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    message_id: str = response.json()["id"]
    return message_id


def test_message_arrives_signed_personalised_and_unsubscribe_suppresses(
        api, owner, project_row, make_contact, runtime, smtp, dns_server, db):
    slug = project_row.slug
    setup_domain(api, owner, slug, dns_server)
    contact = make_contact("ada@example.com", external_id="u1", traits={
        "name": "Ada", "plan": "pro", "evil": "<script>alert(1)</script>{{ contact.email }}"})
    message_id = send(api, owner, slug)

    assert drain(runtime) == 1
    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received.mail_from == "hello@mail.acme.test"
    assert received.rcpt_tos == ["ada@example.com"]
    parsed = email.message_from_bytes(received.data, policy=policy.default)
    assert parsed["Subject"] == "Welcome Ada"
    assert parsed["From"] == "Acme Team <hello@mail.acme.test>"
    assert parsed["Reply-To"] == "support@acme.test"
    assert parsed["Message-ID"] == f"<{message_id}@mail.acme.test>"
    assert parsed["List-Id"] == f"<{slug}.{project_row.assigned_subdomain}.letter.localhost>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", parsed["List-Unsubscribe"])
    assert https.startswith("http://letter.test/unsubscribe/") and mailto.startswith("mailto:")

    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "Hi Ada, your plan is pro." in text
    assert "<script>alert(1)</script>{{ contact.email }}" in text  # printed, not evaluated
    assert "Hi Ada, your plan is pro." in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ contact.email }}" in html
    assert "<script" not in html
    assert "Your account is ready" in html  # preview text
    assert https.replace("&", "&amp;") in html  # footer unsubscribe link
    assert "http://letter.test/t/c/" in html and "http://letter.test/t/o/" in html
    assert "https://app.acme.test/home" not in html  # rewritten to the click redirect
    assert "Unsubscribe: " + https in text

    assert dkim.verify(received.data, dnsfunc=dkim_dnsfunc(dns_server.address))
    signature = parsed["DKIM-Signature"]
    tags = dict(t.strip().split("=", 1) for t in signature.split(";") if "=" in t)
    signed = tags["h"].replace(" ", "").split(":")
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= set(signed)
    assert tags["c"] == "relaxed/relaxed" and tags["d"] == "mail.acme.test"

    detail = api.get(f"/v1/projects/{slug}/messages/{message_id}", headers=owner.headers).json()
    assert detail["state"] == "sent" and detail["sent_at"]
    assert [h["state"] for h in detail["history"]] == ["queued", "sent"]

    # RFC 8058 one-click: a POST with no page, immediate effect.
    one_click = api.post(https.removeprefix("http://letter.test"),
                         content=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200
    with db.session() as session:
        stored = session.get(Contact, contact.id)
        assert stored.unsubscribed_at is not None
        assert stored.unsubscribe_reason == "unsubscribe_link"
        names = set(session.scalars(select(Event.name).where(Event.contact_id == contact.id)))
    assert {"Email Sent", "Unsubscribed"} <= names

    bulk_id = send(api, owner, slug)
    receipt_id = send(api, owner, slug, transactional=True)
    assert drain(runtime) == 2
    states = {m["id"]: m for m in api.get(f"/v1/projects/{slug}/messages",
                                          headers=owner.headers).json()["data"]}
    assert states[bulk_id]["state"] == "suppressed"
    assert states[bulk_id]["reason"] == "unsubscribe_link"
    # A marketing unsubscribe does not stop a transactional message.
    assert states[receipt_id]["state"] == "sent"
    assert len(smtp.messages) == 2


def test_unsubscribe_page_get_shows_a_button_and_changes_nothing(
        api, owner, project_row, make_contact, runtime, smtp, db):
    contact = make_contact("bo@example.com", external_id="u1", traits={"name": "Bo"})
    send(api, owner, project_row.slug)
    drain(runtime)
    parsed = email.message_from_bytes(smtp.messages[0].data, policy=policy.default)
    https = re.findall(r"<([^>]+)>", parsed["List-Unsubscribe"])[0]
    page = api.get(https.removeprefix("http://letter.test"))
    assert page.status_code == 200 and "<button" in page.text and 'method="post"' in page.text
    with db.session() as session:
        assert session.get(Contact, contact.id).unsubscribed_at is None
    assert api.post(https.removeprefix("http://letter.test")).status_code == 200
    with db.session() as session:
        assert session.get(Contact, contact.id).unsubscribe_reason == "unsubscribe_link"


def test_letter_subdomain_mode_sends_unsigned_from_the_assigned_subdomain(
        api, owner, project_row, make_contact, runtime, smtp):
    make_contact("cy@example.com", external_id="u1", traits={"name": "Cy"})
    send(api, owner, project_row.slug)
    drain(runtime)
    parsed = email.message_from_bytes(smtp.messages[0].data, policy=policy.default)
    sub = project_row.assigned_subdomain
    assert parsed["From"] == f"Acme <hello@{sub}.letter.localhost>"
    assert parsed["DKIM-Signature"] is None


def test_bad_unsubscribe_and_tracking_tokens_are_404_not_500(api):
    for path in ("/unsubscribe/garbage", "/t/o/garbage.gif", "/t/c/garbage",
                 "/unsubscribe/" + "a" * 500):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert api.post("/unsubscribe/nope.nope").status_code == 404
