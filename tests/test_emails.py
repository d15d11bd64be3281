"""One email rule everywhere (letter.emails): syntax by email-validator without
DNS, special-use domains such as .test accepted, the domain lower-cased, and
within a project addresses that differ only in case are one person."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from letter.contacts.models import Contact
from letter.emails import InvalidEmail, email_key, normalize_email
from tests.conftest import assert_error


@pytest.fixture
def ingest_headers(client, owner, project) -> dict[str, str]:
    key = client.post("/v1/projects/acme/keys", json={"name": "srv"}, headers=owner.headers)
    return {"Authorization": f"Bearer {key.json()['key']}"}


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Ada@Example.COM", "Ada@example.com"),
        ("qa@staging.test", "qa@staging.test"),
        ("Ünï@Exämple.com", "Ünï@exämple.com"),
    ],
)
def test_normalize_email_keeps_the_local_part_and_lowers_the_domain(raw, stored):
    assert normalize_email(raw) == stored
    assert email_key(normalize_email(raw)) == email_key(stored.upper())


@pytest.mark.parametrize("raw", ["a@b", "a@x.invalid", "a b@x.com", "Ada <a@x.com>", "a@", 5])
def test_normalize_email_rejects_with_a_reason(raw):
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


def test_case_variants_are_one_contact_for_sends_and_suppressions(
    client, owner, project, ingest_headers, db
):
    identified = client.post(
        "/v1/identify", json={"user_id": "ada", "email": "Ada@Example.COM"}, headers=ingest_headers
    )
    assert identified.status_code == 200, identified.text
    contact = client.get("/v1/projects/acme/contacts/ada", headers=owner.headers).json()
    assert contact["email"] == "Ada@example.com"
    sent = client.post(
        "/v1/projects/acme/messages",
        headers=owner.headers,
        json={
            "to": {"email": "ADA@example.com"},
            "subject": "Hi",
            "body_doc": {"type": "doc", "content": []},
        },
    )
    assert sent.status_code == 202, sent.text
    message = client.get(f"/v1/projects/acme/messages/{sent.json()['id']}", headers=owner.headers)
    assert message.json()["contact_id"] == contact["id"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
    suppressed = client.post(
        "/v1/projects/acme/suppressions", json={"email": "ada@EXAMPLE.com"}, headers=owner.headers
    )
    assert suppressed.status_code == 201, suppressed.text
    after = client.get("/v1/projects/acme/contacts/ada", headers=owner.headers).json()
    assert after["unsubscribed_at"] is not None


def test_ingestion_and_invitations_accept_special_use_domains_alike(
    client, owner, project, ingest_headers
):
    staged = client.post(
        "/v1/identify", json={"user_id": "qa", "email": "QA@Staging.TEST"}, headers=ingest_headers
    )
    assert staged.status_code == 200, staged.text
    contact = client.get("/v1/projects/acme/contacts/qa", headers=owner.headers).json()
    assert contact["email"] == "QA@staging.test"
    invited = client.post(
        "/v1/members", json={"email": "QA@Staging.TEST", "role": "member"}, headers=owner.headers
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["email"] == "qa@staging.test"
    bad = client.post(
        "/v1/identify", json={"user_id": "x", "email": "x@nowhere.invalid"}, headers=ingest_headers
    )
    assert "x@nowhere.invalid" in assert_error(bad, 400, "bad_request")["error"]["message"]


def test_sender_identity_uses_the_same_rule(client, owner, project):
    for bad in ("a@b", "Acme <hello@acme.com>", "hello@acme.invalid"):
        response = client.put(
            "/v1/projects/acme/sender-identity",
            json={"from_email": bad, "from_name": "Acme"},
            headers=owner.headers,
        )
        assert "from_email" in assert_error(response, 400, "bad_request")["error"]["message"]
    good = client.put(
        "/v1/projects/acme/sender-identity",
        json={"from_email": "Hello@Acme.TEST", "from_name": "Acme"},
        headers=owner.headers,
    )
    assert good.status_code == 200, good.text
    assert good.json()["from_email"] == "Hello@acme.test"
    # Letter's own default sending domain is a .localhost name.
    local = client.put(
        "/v1/projects/acme/sender-identity",
        json={"from_email": "hello@acme.letter.localhost", "from_name": "Acme"},
        headers=owner.headers,
    )
    assert local.status_code == 200, local.text
