"""The audience's Management API: contacts, suppressions, accounts, events,
traits — shapes, pagination and tenant isolation."""

from __future__ import annotations

from tests.conftest import assert_error
from tests.ingestion.conftest import ingest_headers, ingest_key

__all__ = ["ingest_headers", "ingest_key"]  # fixtures shared with the ingestion tests

CONTACT_FIELDS = {"id", "external_id", "email", "traits", "account_id", "unsubscribed_at",
                  "unsubscribe_reason", "created_at", "updated_at"}


def ingest(client, headers, *items):
    response = client.post("/v1/batch", json={"batch": list(items)}, headers=headers)
    assert response.status_code == 200 and not response.json()["rejected"], response.text


def walk(client, url, headers, limit):
    """Every item of a cursor-paginated list, page by page."""
    items, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = client.get(url, params=params, headers=headers).json()
        assert len(body["data"]) <= limit
        items += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_contacts_list_is_paginated_with_the_spec_shape(client, owner, project, ingest_headers):
    ingest(client, ingest_headers, *[
        {"type": "identify", "user_id": f"u{i}", "email": f"u{i}@example.com",
         "traits": {"i": i}} for i in range(5)])
    url = f"/v1/projects/{project['slug']}/contacts"
    items, pages = walk(client, url, owner.headers, 2)
    assert pages == 3
    # One batch shares one created_at; the id breaks the tie, so no item repeats or hides.
    assert sorted(c["external_id"] for c in items) == [f"u{i}" for i in range(5)]
    assert set(items[0]) == CONTACT_FIELDS
    assert_error(client.get(url, params={"limit": 101}, headers=owner.headers), 400,
                 "bad_request")
    assert_error(client.get(url, params={"cursor": "garbage"}, headers=owner.headers), 400,
                 "bad_request")


def test_contact_detail_shape_and_latest_twenty_events(client, owner, project, ingest_headers):
    ingest(client, ingest_headers,
           {"type": "identify", "user_id": "a", "email": "a@example.com", "timezone": "UTC"},
           {"type": "group", "user_id": "a", "account_id": "acct", "name": "Acme"},
           *[{"type": "track", "user_id": "a", "event": f"E{i}",
              "timestamp": f"2025-01-01T00:00:{i:02d}Z"} for i in range(25)])
    body = client.get(f"/v1/projects/{project['slug']}/contacts/a", headers=owner.headers).json()
    assert set(body) == {"id", "external_id", "email", "traits", "timezone", "unsubscribed_at",
                         "unsubscribe_reason", "created_at", "updated_at", "account",
                         "recent_events", "lists", "topics"}
    assert set(body["account"]) == {"id", "external_id", "name"}
    assert [e["name"] for e in body["recent_events"]] == [f"E{i}" for i in range(24, 4, -1)]
    assert set(body["recent_events"][0]) == {"id", "name", "properties", "contact_id",
                                             "account_id", "external_user_id", "occurred_at",
                                             "received_at"}
    assert_error(client.get(f"/v1/projects/{project['slug']}/contacts/nobody",
                            headers=owner.headers), 404, "not_found")


def test_suppress_and_resubscribe_a_contact(client, owner, project, ingest_headers):
    ingest(client, ingest_headers, {"type": "identify", "user_id": "s", "email": "s@example.com"})
    base = f"/v1/projects/{project['slug']}"
    response = client.post(f"{base}/contacts/s/suppress", headers=owner.headers)
    assert response.status_code == 204 and response.content == b""
    body = client.get(f"{base}/contacts/s", headers=owner.headers).json()
    assert body["unsubscribe_reason"] == "manual" and body["unsubscribed_at"]
    listed = client.get(f"{base}/suppressions", headers=owner.headers).json()
    assert listed["next_cursor"] is None
    assert listed["data"] == [{"id": body["id"], "external_id": "s", "email": "s@example.com",
                               "unsubscribed_at": body["unsubscribed_at"],
                               "unsubscribe_reason": "manual",
                               "created_at": body["created_at"]}]
    # Suppressing again keeps the first instant.
    client.post(f"{base}/contacts/s/suppress", headers=owner.headers)
    again = client.get(f"{base}/contacts/s", headers=owner.headers).json()
    assert again["unsubscribed_at"] == body["unsubscribed_at"]
    assert client.post(f"{base}/contacts/s/resubscribe",
                       headers=owner.headers).status_code == 204
    cleared = client.get(f"{base}/contacts/s", headers=owner.headers).json()
    assert cleared["unsubscribed_at"] is None and cleared["unsubscribe_reason"] is None
    assert client.get(f"{base}/suppressions", headers=owner.headers).json()["data"] == []
    for action in ("suppress", "resubscribe"):
        assert_error(client.post(f"{base}/contacts/nobody/{action}", headers=owner.headers),
                     404, "not_found")


def test_suppressions_by_email(client, owner, project, ingest_headers):
    ingest(client, ingest_headers, *[
        {"type": "identify", "user_id": f"u{i}", "email": f"u{i}@Example.com"} for i in range(3)])
    base = f"/v1/projects/{project['slug']}"
    created = client.post(f"{base}/suppressions", json={"email": "u1@example.com"},
                          headers=owner.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["external_id"] == "u1" and body["unsubscribe_reason"] == "manual"
    assert set(body) == {"id", "external_id", "email", "unsubscribed_at", "unsubscribe_reason",
                         "created_at"}
    client.post(f"{base}/suppressions", json={"email": "u2@example.com"}, headers=owner.headers)
    items, pages = walk(client, f"{base}/suppressions", owner.headers, 1)
    assert sorted(s["external_id"] for s in items) == ["u1", "u2"] and pages == 2
    assert_error(client.post(f"{base}/suppressions", json={"email": "nobody@example.com"},
                             headers=owner.headers), 404, "not_found")
    assert_error(client.post(f"{base}/suppressions", json={"email": "not an email"},
                             headers=owner.headers), 400, "bad_request")
    assert_error(client.post(f"{base}/suppressions", json={}, headers=owner.headers), 400,
                 "bad_request")
    deleted = client.delete(f"{base}/suppressions/u1@example.com", headers=owner.headers)
    assert deleted.status_code == 204
    assert [s["external_id"] for s in
            client.get(f"{base}/suppressions", headers=owner.headers).json()["data"]] == ["u2"]
    assert_error(client.delete(f"{base}/suppressions/u1@example.com", headers=owner.headers),
                 404, "not_found")


def test_accounts_list_and_detail_with_linked_contacts(client, owner, project, ingest_headers):
    ingest(client, ingest_headers,
           *[{"type": "identify", "user_id": f"u{i}", "email": f"u{i}@example.com"}
             for i in range(3)],
           *[{"type": "group", "user_id": f"u{i}", "account_id": f"acct{i % 2}",
              "name": f"Acct {i % 2}", "traits": {"plan": "team"}} for i in range(3)])
    base = f"/v1/projects/{project['slug']}"
    items, pages = walk(client, f"{base}/accounts", owner.headers, 1)
    assert sorted(a["external_id"] for a in items) == ["acct0", "acct1"] and pages == 2
    assert set(items[0]) == {"id", "external_id", "name", "traits", "created_at", "updated_at"}
    detail = client.get(f"{base}/accounts/acct0", headers=owner.headers).json()
    assert detail["traits"] == {"plan": "team"}
    assert sorted(c["external_id"] for c in detail["contacts"]) == ["u0", "u2"]
    assert set(detail["contacts"][0]) == {"id", "external_id", "email", "unsubscribed_at"}
    assert_error(client.get(f"{base}/accounts/none", headers=owner.headers), 404, "not_found")


def test_events_newest_first_filtered_by_name_and_paginated(client, owner, project,
                                                            ingest_headers):
    for i in range(5):
        ingest(client, ingest_headers,
               {"type": "track", "user_id": "u", "event": "Even" if i % 2 == 0 else "Odd",
                "properties": {"i": i}})
    url = f"/v1/projects/{project['slug']}/events"
    items, pages = walk(client, url, owner.headers, 2)
    assert [e["properties"]["i"] for e in items] == [4, 3, 2, 1, 0] and pages == 3
    odd = client.get(url, params={"name": "Odd"}, headers=owner.headers).json()["data"]
    assert [e["properties"]["i"] for e in odd] == [3, 1]
    assert client.get(url, params={"name": "None"}, headers=owner.headers).json() == {
        "data": [], "next_cursor": None}


def test_traits_summary(client, owner, project, ingest_headers):
    ingest(client, ingest_headers,
           {"type": "identify", "user_id": "a", "traits": {"plan": "free", "isPro": False,
                                                          "seats": 3, "meta": {"x": 1}}},
           {"type": "identify", "user_id": "b", "traits": {"plan": "pro", "isPro": True,
                                                          "seats": 2.5, "gone": None}},
           {"type": "identify", "user_id": "c", "traits": {"plan": 7}},
           {"type": "group", "account_id": "acct", "traits": {"mrr": 49, "tags": ["a"]}})
    body = client.get(f"/v1/projects/{project['slug']}/traits", headers=owner.headers).json()
    rows = {(r["scope"], r["key"]): r for r in body["data"]}
    assert rows[("contact", "plan")] == {"key": "plan", "scope": "contact", "type": "string",
                                         "count": 3, "sample": "free"}
    assert rows[("contact", "isPro")] == {"key": "isPro", "scope": "contact", "type": "boolean",
                                          "count": 2, "sample": "false"}
    assert rows[("contact", "seats")]["type"] == "number"
    assert rows[("contact", "seats")]["count"] == 2
    assert rows[("contact", "meta")]["type"] == "object"
    assert rows[("contact", "gone")]["type"] == "null"
    assert rows[("contact", "gone")]["sample"] is None
    assert rows[("account", "mrr")] == {"key": "mrr", "scope": "account", "type": "number",
                                        "count": 1, "sample": "49"}
    assert rows[("account", "tags")]["type"] == "array"
    assert body["data"][0]["key"] == "plan"  # contacts first, most carried first
    assert [r["scope"] for r in body["data"]][-1] == "account"


def test_every_audience_endpoint_is_tenant_isolated(client, owner, make_account, project,
                                                   ingest_headers):
    ingest(client, ingest_headers,
           {"type": "identify", "user_id": "u", "email": "u@example.com"},
           {"type": "group", "user_id": "u", "account_id": "acct"},
           {"type": "track", "user_id": "u", "event": "E"})
    slug = project["slug"]
    stranger = make_account()
    member = make_account(role="member", workspace=owner)
    gets = ["contacts", "contacts/u", "suppressions", "accounts", "accounts/acct", "events",
            "traits"]
    for path in gets:
        assert_error(client.get(f"/v1/projects/{slug}/{path}", headers=stranger.headers), 404,
                     "not_found")
        assert client.get(f"/v1/projects/{slug}/{path}", headers=member.headers
                          ).status_code == 200, path
        assert_error(client.get(f"/v1/projects/{slug}/{path}"), 401, "unauthorized")
    for method, path, body in (("post", "contacts/u/suppress", None),
                               ("post", "contacts/u/resubscribe", None),
                               ("post", "suppressions", {"email": "u@example.com"}),
                               ("delete", "suppressions/u@example.com", None)):
        kwargs = {"json": body} if body else {}
        response = getattr(client, method)(f"/v1/projects/{slug}/{path}",
                                           headers=stranger.headers, **kwargs)
        assert_error(response, 404, "not_found")
    # The stranger's own project of the same slug sees none of it.
    theirs = client.post("/v1/projects", json={"name": "Acme"}, headers=stranger.headers).json()
    assert theirs["slug"] == slug
    for path in ("contacts", "accounts", "events", "suppressions"):
        assert client.get(f"/v1/projects/{slug}/{path}", headers=stranger.headers
                          ).json()["data"] == []
    assert client.get(f"/v1/projects/{slug}/traits", headers=stranger.headers
                      ).json()["data"] == []
    assert client.get(f"/v1/projects/{slug}/contacts/u", headers=owner.headers
                      ).json()["unsubscribed_at"] is None
