"""What comes back: opens, clicks, and provider webhooks (generic HMAC, SES via
SNS, Postmark) with their suppressions; bad signatures change nothing."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import json
import re
from email import policy
from typing import Any

from sqlalchemy import select

from letter.contacts.models import Contact, Event
from letter.worker.outbox import drain_outbox as drain
from tests.conftest import assert_error
from tests.delivery.test_end_to_end import send


def sent_message(api: Any, owner: Any, project_row: Any, make_contact: Any, runtime: Any,
                 smtp: Any, email_address: str = "ada@example.com") -> tuple[str, Contact, Any]:
    contact = make_contact(email_address, external_id="u1", traits={"name": "Ada"})
    message_id = send(api, owner, project_row.slug)
    assert drain(runtime) == 1
    return message_id, contact, email.message_from_bytes(smtp.messages[-1].data,
                                                         policy=policy.default)


def state(api: Any, owner: Any, slug: str, message_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/v1/projects/{slug}/messages/{message_id}",
                                   headers=owner.headers).json()
    return body


def event_names(db: Any, contact_id: Any) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(Event.name).where(Event.contact_id == contact_id)))


def test_open_pixel_and_click_redirect(api, owner, project_row, make_contact, runtime, smtp, db):
    message_id, contact, parsed = sent_message(api, owner, project_row, make_contact, runtime,
                                               smtp)
    html = parsed.get_body(("html",)).get_content()
    pixel = re.search(r'src="http://letter.test(/t/o/[^"]+)"', html).group(1)
    link = re.search(r'href="http://letter.test(/t/c/[^"]+)"', html).group(1)
    opened = api.get(pixel)
    assert opened.status_code == 200 and opened.headers["content-type"] == "image/gif"
    assert state(api, owner, project_row.slug, message_id)["state"] == "opened"
    clicked = api.get(link, follow_redirects=False)
    assert clicked.status_code == 302
    assert clicked.headers["location"] == "https://app.acme.test/home"
    detail = state(api, owner, project_row.slug, message_id)
    assert detail["state"] == "clicked"
    assert [h["state"] for h in detail["history"]] == ["queued", "sent", "opened", "clicked"]
    assert {"Email Opened", "Email Clicked"} <= set(event_names(db, contact.id))
    # A token for one URL cannot be edited to redirect elsewhere.
    assert api.get(link[:-3] + "abc", follow_redirects=False).status_code == 404


def sign(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Letter-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def basic(secret: str) -> dict[str, str]:
    token = base64.b64encode(f"letter:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def test_generic_webhook_hard_bounce_suppresses_and_bad_signature_is_rejected(
        api, owner, project_row, make_contact, runtime, smtp, db):
    message_id, contact, _ = sent_message(api, owner, project_row, make_contact, runtime, smtp)
    secret = runtime.settings.delivery_webhook_secret
    body = json.dumps({"events": [{"type": "bounced", "message_id": message_id,
                                   "bounce_type": "hard", "detail": "550 mailbox unknown"}]})
    bad = api.post("/v1/webhooks/generic", content=body.encode(), headers=sign("wrong", b"x"))
    assert_error(bad, 401, "unauthorized")
    with db.session() as session:
        assert session.get(Contact, contact.id).unsubscribed_at is None
    ok = api.post("/v1/webhooks/generic", content=body.encode(), headers=sign(secret,
                                                                               body.encode()))
    assert ok.status_code == 200 and ok.json() == {"applied": 1, "ignored": 0}
    with db.session() as session:
        assert session.get(Contact, contact.id).unsubscribe_reason == "bounce"
    assert state(api, owner, project_row.slug, message_id)["state"] == "bounced"
    assert "Email Bounced" in event_names(db, contact.id)

    # A bounced address gets no transactional mail either.
    receipt = send(api, owner, project_row.slug, transactional=True)
    drain(runtime)
    assert state(api, owner, project_row.slug, receipt)["state"] == "suppressed"


def test_generic_webhook_soft_bounce_and_delivered_do_not_suppress(
        api, owner, project_row, make_contact, runtime, smtp, db):
    message_id, contact, _ = sent_message(api, owner, project_row, make_contact, runtime, smtp)
    secret = runtime.settings.delivery_webhook_secret
    body = json.dumps([{"type": "delivered", "message_id": message_id}]).encode()
    body = json.dumps({"events": [{"type": "delivered", "message_id": message_id},
                                  {"type": "bounced", "message_id": message_id,
                                   "bounce_type": "soft"},
                                  {"type": "delivered", "message_id": "unknown"}]}).encode()
    assert api.post("/v1/webhooks/generic", content=body,
                    headers=sign(secret, body)).json() == {"applied": 2, "ignored": 1}
    with db.session() as session:
        assert session.get(Contact, contact.id).unsubscribed_at is None


def ses_notification(message: dict[str, Any]) -> bytes:
    return json.dumps({"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:x",
                       "Message": json.dumps(message)}).encode()


def test_ses_complaint_via_sns_suppresses(api, owner, project_row, make_contact, runtime, smtp,
                                          db):
    message_id, contact, parsed = sent_message(api, owner, project_row, make_contact, runtime,
                                               smtp)
    secret = runtime.settings.delivery_webhook_secret
    body = ses_notification({
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "ada@example.com"}],
                      "complaintFeedbackType": "abuse"},
        "mail": {"messageId": "ses-123", "commonHeaders": {"messageId": parsed["Message-ID"]}},
    })
    assert_error(api.post("/v1/webhooks/ses", content=body, headers=basic("nope")), 401,
                 "unauthorized")
    assert api.post("/v1/webhooks/ses", content=body, headers=basic(secret)).json()[
        "applied"] == 1
    with db.session() as session:
        assert session.get(Contact, contact.id).unsubscribe_reason == "complaint"
    assert state(api, owner, project_row.slug, message_id)["state"] == "complained"
    assert "Email Complained" in event_names(db, contact.id)


def test_ses_permanent_bounce_and_delivery(api, owner, project_row, make_contact, runtime, smtp,
                                           db):
    message_id, contact, parsed = sent_message(api, owner, project_row, make_contact, runtime,
                                               smtp)
    secret = runtime.settings.delivery_webhook_secret
    headers = [{"name": "Message-ID", "value": parsed["Message-ID"]}]
    delivery = ses_notification({"eventType": "Delivery", "mail": {"headers": headers}})
    assert api.post("/v1/webhooks/ses", content=delivery, headers=basic(secret)).status_code == 200
    assert state(api, owner, project_row.slug, message_id)["state"] == "delivered"
    bounce = ses_notification({"notificationType": "Bounce", "mail": {"headers": headers},
                               "bounce": {"bounceType": "Permanent", "bounceSubType": "General"}})
    api.post("/v1/webhooks/ses", content=bounce, headers=basic(secret))
    with db.session() as session:
        assert session.get(Contact, contact.id).unsubscribe_reason == "bounce"


def test_postmark_bounce_uses_metadata(api, owner, project_row, make_contact, runtime, smtp, db):
    message_id, contact, parsed = sent_message(api, owner, project_row, make_contact, runtime,
                                               smtp)
    assert parsed["X-PM-Metadata-letter_message_id"] == message_id
    body = json.dumps({"RecordType": "Bounce", "Type": "HardBounce", "MessageID": "pm-1",
                       "Email": "ada@example.com",
                       "Metadata": {"letter_message_id": message_id}}).encode()
    secret = runtime.settings.delivery_webhook_secret
    assert api.post("/v1/webhooks/postmark", content=body, headers=basic(secret)).json()[
        "applied"] == 1
    with db.session() as session:
        assert session.get(Contact, contact.id).unsubscribe_reason == "bounce"


def test_webhook_garbage_is_a_clean_error(api, runtime):
    secret = runtime.settings.delivery_webhook_secret
    assert_error(api.post("/v1/webhooks/nope", content=b"{}"), 404, "not_found")
    assert_error(api.post("/v1/webhooks/generic", content=b"not json",
                          headers=sign(secret, b"not json")), 400, "bad_request")
    body = b'{"events": [{"type": "exploded"}]}'
    assert_error(api.post("/v1/webhooks/generic", content=body, headers=sign(secret, body)),
                 400, "bad_request")
    assert_error(api.post("/v1/webhooks/ses", content=b"[1]", headers=basic(secret)), 400,
                 "bad_request")
    confirm = json.dumps({"Type": "SubscriptionConfirmation",
                          "SubscribeURL": "https://evil.test/"}).encode()
    assert_error(api.post("/v1/webhooks/ses", content=confirm, headers=basic(secret)), 400,
                 "bad_request")
    assert_error(api.post("/v1/webhooks/postmark", content=b"{}",
                          headers={"Authorization": "Basic !!!"}), 401, "unauthorized")


def test_only_sns_urls_are_fetched_for_confirmation():
    from letter.delivery.webhooks import is_sns_url

    assert is_sns_url("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&T=1")
    for url in ("http://sns.eu-west-1.amazonaws.com/", "https://sns.eu-west-1.amazonaws.com.evil/",
                "https://evil.test/sns.us-east-1.amazonaws.com",
                "https://sns.us-east-1.amazonaws.com:8443/", "https://127.0.0.1/", ""):
        assert not is_sns_url(url), url


def test_webhook_payloads_of_the_wrong_shape_never_crash(api, runtime):
    secret = runtime.settings.delivery_webhook_secret
    bodies = [
        {"Type": "Notification", "Message": {"not": "a string"}},
        {"Type": "Notification", "Message": json.dumps({"notificationType": "Bounce",
                                                        "mail": [1], "bounce": "x"})},
        {"Type": "Notification", "Message": json.dumps({"eventType": "Delivery",
                                                        "mail": {"commonHeaders": 5,
                                                                 "headers": "x"}})},
        {"Type": "Notification", "Message": json.dumps([1, 2])},
        "just a string", 42, None,
    ]
    for body in bodies:
        response = api.post("/v1/webhooks/ses", content=json.dumps(body).encode(),
                            headers=basic(secret))
        assert response.status_code in (200, 400), (body, response.text)
    for body in ({"RecordType": "Bounce", "Metadata": [1]}, {"RecordType": 5}, [], "x"):
        response = api.post("/v1/webhooks/postmark", content=json.dumps(body).encode(),
                            headers=basic(secret))
        assert response.status_code in (200, 400), (body, response.text)
    for body in ({"events": "x"}, {"events": [1]}, "x", 5, [{"type": "delivered"}]):
        raw = json.dumps(body).encode()
        response = api.post("/v1/webhooks/generic", content=raw, headers=sign(secret, raw))
        assert response.status_code == 400, (body, response.text)


def test_public_endpoints_are_not_rate_limited_per_token(make_client):
    client = make_client(rate_limit="1/minute")
    for _ in range(5):
        assert client.get("/unsubscribe/garbage").status_code == 404
        assert client.get("/t/o/garbage.gif").status_code == 404
        assert client.post("/v1/webhooks/generic", content=b"{}").status_code == 401
