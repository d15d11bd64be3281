"""Every external id ingestion accepts is addressable in every ``{externalId}``
route (a "/" travels as %2F), and the sub-resource names contacts will need
(imports, exports, search) are reserved."""

from __future__ import annotations

import pytest

from tests.conftest import assert_error


@pytest.fixture
def ingest_headers(client, owner, project) -> dict[str, str]:
    key = client.post("/v1/projects/acme/keys", json={"name": "srv"}, headers=owner.headers)
    return {"Authorization": f"Bearer {key.json()['key']}"}


def test_ids_and_emails_with_a_slash_are_reachable(client, owner, project, ingest_headers):
    batch = [
        {"type": "identify", "user_id": "team/alice", "email": "a/b@example.com"},
        {"type": "group", "user_id": "team/alice", "account_id": "org/acme"},
    ]
    done = client.post("/v1/batch", json={"batch": batch}, headers=ingest_headers)
    assert done.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    base = "/v1/projects/acme"
    contact = client.get(f"{base}/contacts/team%2Falice", headers=owner.headers)
    assert contact.status_code == 200, contact.text
    assert contact.json()["external_id"] == "team/alice"
    assert contact.json()["account"]["external_id"] == "org/acme"
    account = client.get(f"{base}/accounts/org%2Facme", headers=owner.headers)
    assert account.status_code == 200 and account.json()["external_id"] == "org/acme"
    suppress = client.post(f"{base}/contacts/team%2Falice/suppress", headers=owner.headers)
    assert suppress.status_code == 204, suppress.text
    assert client.get(f"{base}/contacts/team%2Falice", headers=owner.headers).json()[
        "unsubscribed_at"
    ]
    removed = client.delete(f"{base}/suppressions/a%2Fb%40example.com", headers=owner.headers)
    assert removed.status_code == 204, removed.text
    again = client.post(f"{base}/contacts/team%2Falice/suppress", headers=owner.headers)
    assert again.status_code == 204
    back = client.post(f"{base}/contacts/team%2Falice/resubscribe", headers=owner.headers)
    assert back.status_code == 204
    assert_error(client.get(f"{base}/contacts/team%2Fbob", headers=owner.headers), 404, "not_found")


@pytest.mark.parametrize("name", ["imports", "exports", "search", "search/ada"])
def test_reserved_subresource_names(client, owner, project, ingest_headers, name):
    path = name.replace("/", "%2F")
    found = client.get(f"/v1/projects/acme/contacts/{path}", headers=owner.headers)
    if name in ("imports", "exports"):
        # Those collections exist now: the route answers with their list.
        assert found.status_code == 200 and found.json()["data"] == [], found.text
    else:
        assert "reserved" in assert_error(found, 404, "not_found")["error"]["message"]
    rejected = client.post("/v1/identify", json={"user_id": name}, headers=ingest_headers)
    assert "reserved" in assert_error(rejected, 400, "bad_request")["error"]["message"]
