"""POST/GET /v1/projects/{slug}/messages: transactional send and the message log."""

from __future__ import annotations

from letter.delivery import service
from letter.worker.outbox import drain_outbox as drain
from tests.conftest import assert_error
from tests.delivery.conftest import doc


def url(project_row) -> str:
    return f"/v1/projects/{project_row.slug}/messages"


def test_send_by_email_creates_the_contact_and_is_idempotent(api, owner, project_row, runtime,
                                                             smtp):
    body = {"to": {"email": "new@example.com"}, "subject": "Receipt {{ data.order }}",
            "body_doc": doc("Order {{ data.order }}"), "data": {"order": "A-1"}}
    headers = {**owner.headers, "Idempotency-Key": "order-A-1"}
    first = api.post(url(project_row), json=body, headers=headers)
    again = api.post(url(project_row), json=body, headers=headers)
    assert first.status_code == 202 and again.status_code == 202
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["id"] == again.json()["id"]
    assert drain(runtime) == 1
    assert len(smtp.messages) == 1 and b"Receipt A-1" in smtp.messages[0].data
    listed = api.get(url(project_row), headers=owner.headers).json()
    assert len(listed["data"]) == 1
    message = listed["data"][0]
    assert message["kind"] == "transactional" and message["state"] == "sent"
    assert message["to_email"] == "new@example.com" and message["contact_id"]


def test_filters_and_cursor(api, owner, project_row, make_contact, runtime):
    ada = make_contact("ada@example.com", external_id="ada")
    make_contact("bo@example.com", external_id="bo")
    for to in ("ada", "bo", "ada"):
        assert api.post(url(project_row), headers=owner.headers, json={
            "to": {"external_id": to}, "subject": "s", "body_doc": doc("b"),
            "transactional": False}).status_code == 202
    first = api.get(url(project_row), params={"limit": 2}, headers=owner.headers).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = api.get(url(project_row), params={"limit": 2, "cursor": first["next_cursor"]},
                   headers=owner.headers).json()
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None
    mine = api.get(url(project_row), params={"contact": str(ada.id)}, headers=owner.headers)
    assert [m["to_email"] for m in mine.json()["data"]] == ["ada@example.com"] * 2
    assert all(m["kind"] == "bulk" for m in mine.json()["data"])
    queued = api.get(url(project_row), params={"state": "queued"}, headers=owner.headers)
    assert len(queued.json()["data"]) == 3
    assert api.get(url(project_row), params={"state": "sent"}, headers=owner.headers
                   ).json()["data"] == []
    assert api.get(url(project_row), params={"sequence_id": str(ada.id)}, headers=owner.headers
                   ).json()["data"] == []


def test_bad_sends_are_clear_errors_and_queue_nothing(api, owner, project_row, make_contact):
    make_contact("ada@example.com", external_id="ada")
    cases = [
        ({"to": {}, "subject": "s", "body_doc": doc("b")}, 400, "bad_request"),
        ({"to": {"external_id": "ada", "email": "a@b.c"}, "subject": "s", "body_doc": doc("b")},
         400, "bad_request"),
        ({"to": {"external_id": "ghost"}, "subject": "s", "body_doc": doc("b")}, 404,
         "not_found"),
        ({"to": {"external_id": "ada"}, "subject": "s", "body_doc": {"type": "doc", "content": [
            {"type": "marquee"}]}}, 400, "bad_request"),
        ({"to": {"external_id": "ada"}, "subject": "{% if %}", "body_doc": doc("b")}, 400,
         "bad_request"),
        ({"to": {"external_id": "ada"}, "subject": "s", "body_doc": doc("b"),
          "template_id": "00000000-0000-7000-8000-000000000000"}, 404, "not_found"),
        ({"to": {"external_id": "ada"}, "subject": "s", "body_doc": doc("b"), "extra": 1}, 400,
         "bad_request"),
    ]
    for body, status, code in cases:
        assert_error(api.post(url(project_row), json=body, headers=owner.headers), status, code)
    assert api.get(url(project_row), headers=owner.headers).json()["data"] == []
    assert_error(api.get(f"{url(project_row)}/00000000-0000-7000-8000-000000000000",
                         headers=owner.headers), 404, "not_found")


def test_another_workspace_cannot_read_messages(api, owner, project_row, make_contact,
                                                make_account):
    make_contact("ada@example.com", external_id="ada")
    mid = api.post(url(project_row), headers=owner.headers, json={
        "to": {"external_id": "ada"}, "subject": "s", "body_doc": doc("b")}).json()["id"]
    stranger = make_account()
    assert_error(api.get(f"{url(project_row)}/{mid}", headers=stranger.headers), 404,
                 "not_found")


def test_test_emails_are_addressed_as_given_and_not_tracked(db, runtime, project_row,
                                                            make_contact, smtp):
    contact = make_contact("me@acme.test", traits={"name": "Me"})
    with db.session() as session:
        project = session.merge(project_row)
        message = service.queue_message(
            session, project, session.merge(contact), kind="test",
            subject="[Test] Hi {{ contact.traits.name }}", body_doc=doc("x"),
            to_email="qa@acme.test", sending_domain="letter.localhost")
        assert message.kind == "test"
    drain(runtime)
    assert b"Subject: [Test] Hi Me" in smtp.messages[0].data
    assert smtp.messages[0].rcpt_tos == ["qa@acme.test"]
    import email as email_lib
    from email import policy

    parsed = email_lib.message_from_bytes(smtp.messages[0].data, policy=policy.default)
    html = parsed.get_body(("html",)).get_content()
    assert "<p" in html and "/t/o/" not in html  # test emails are not tracked


def test_addresses_cannot_inject_headers(api, owner, project_row, make_contact, runtime, smtp):
    for bad in ("a@b.test\r\nBcc: x@y.test", "not an email", "a b@c.test"):
        assert_error(api.post(url(project_row), headers=owner.headers, json={
            "to": {"email": bad}, "subject": "s", "body_doc": doc("b")}), 400, "bad_request")
    # Even a contact stored with a line break in its email cannot add a header.
    make_contact("x@y.test\r\nBcc: evil@z.test", external_id="odd")
    mid = api.post(url(project_row), headers=owner.headers, json={
        "to": {"external_id": "odd"}, "subject": "s", "body_doc": doc("b")}).json()["id"]
    drain(runtime)
    detail = api.get(f"{url(project_row)}/{mid}", headers=owner.headers).json()
    assert detail["state"] == "failed" and detail["reason"] == "invalid recipient address"
    for message in smtp.messages:
        assert b"\r\nBcc:" not in message.data
