"""/v1/identify, /v1/track, /v1/group and /v1/batch over HTTP: auth, rate
limits, merge rules, dedupe, linking and skip_triggers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from sqlalchemy import func, select

from letter.contacts.models import Account, Contact, Event
from letter.projects.models import ProjectKey
from tests.conftest import assert_error


def contact(client, owner, project, external_id):
    response = client.get(f"/v1/projects/{project['slug']}/contacts/{external_id}",
                          headers=owner.headers)
    assert response.status_code == 200, response.text
    return response.json()


def batch(client, headers, *items, **extra):
    response = client.post("/v1/batch", json={"batch": list(items), **extra}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_missing_malformed_unknown_and_revoked_keys_are_401(client, owner, project, ingest_key):
    body = {"user_id": "u1"}
    assert_error(client.post("/v1/identify", json=body), 401, "unauthorized")
    assert_error(client.post("/v1/identify", json=body, headers={"Authorization": "Bearer x"}),
                 401, "unauthorized")
    unknown = "lt_live_" + "0" * 48
    assert_error(client.post("/v1/identify", json=body,
                             headers={"Authorization": f"Bearer {unknown}"}), 401, "unauthorized")
    # A personal access token is not an ingestion key.
    assert_error(client.post("/v1/identify", json=body, headers=owner.headers), 401,
                 "unauthorized")
    assert_error(client.post("/v1/identify", json=body,
                             headers={"Authorization": "Basic !!!"}), 401, "unauthorized")
    keys = client.get(f"/v1/projects/{project['slug']}/keys", headers=owner.headers).json()
    key_id = next(k["id"] for k in keys["data"] if ingest_key.startswith(k["prefix"]))
    client.delete(f"/v1/projects/{project['slug']}/keys/{key_id}", headers=owner.headers)
    assert_error(client.post("/v1/identify", json=body,
                             headers={"Authorization": f"Bearer {ingest_key}"}), 401,
                 "unauthorized")


def test_segment_style_camel_case_with_basic_auth(client, owner, project, ingest_key, db):
    basic = base64.b64encode(f"{ingest_key}:".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    result = batch(client, headers,
                   {"type": "identify", "userId": "u1", "messageId": "m1",
                    "traits": {"email": "seg@example.com", "plan": "pro"},
                    "context": {"library": {"name": "analytics-node"}, "timezone": "Europe/Paris"},
                    "integrations": {}, "sentAt": "2026-01-01T00:00:00Z",
                    "anonymousId": "anon"},
                   {"type": "group", "userId": "u1", "groupId": "acct", "messageId": "m2",
                    "traits": {"name": "Acme", "employees": 12}},
                   {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "m3",
                    "properties": {"source": "ads"}},
                   sentAt="2026-01-01T00:00:00Z", writeKey="ignored")
    assert result == {"accepted": 3, "duplicates": 0, "rejected": []}
    body = contact(client, owner, project, "u1")
    assert body["email"] == "seg@example.com"
    assert body["timezone"] == "Europe/Paris"
    assert body["traits"] == {"email": "seg@example.com", "plan": "pro"}
    assert body["account"]["external_id"] == "acct" and body["account"]["name"] == "Acme"
    assert [e["name"] for e in body["recent_events"]] == ["Signed Up"]
    single = client.post("/v1/track", json={"userId": "u1", "event": "Paid", "accountId": "x"},
                         headers=headers)
    assert single.status_code == 200, single.text


def test_rate_limited_per_key_with_headers(make_client, owner, project, ingest_headers):
    client = make_client(ingest_rate_limit="2/minute")
    first = client.post("/v1/track", json={"user_id": "u", "event": "E"}, headers=ingest_headers)
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    client.post("/v1/track", json={"user_id": "u", "event": "E"}, headers=ingest_headers)
    limited = client.post("/v1/track", json={"user_id": "u", "event": "E"},
                          headers=ingest_headers)
    body = limited.json()
    assert limited.status_code == 429 and body["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"


def test_identify_sets_email_traits_timezone_and_created_at_from_timestamp(
        client, owner, project, ingest_headers):
    response = client.post("/v1/identify", json={
        "user_id": "alice", "email": "Alice@Example.COM", "timezone": "America/New_York",
        "traits": {"name": "Alice", "plan": "free"}, "timestamp": "2024-03-01T10:00:00+01:00",
    }, headers=ingest_headers)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    body = contact(client, owner, project, "alice")
    assert body["email"] == "Alice@example.com"
    assert body["timezone"] == "America/New_York"
    assert body["traits"] == {"name": "Alice", "plan": "free"}
    assert body["created_at"] == "2024-03-01T09:00:00.000Z"
    # Only creation honours the timestamp.
    client.post("/v1/identify", json={"user_id": "alice", "timestamp": "2020-01-01T00:00:00Z",
                                      "traits": {"plan": "pro"}}, headers=ingest_headers)
    again = contact(client, owner, project, "alice")
    assert again["created_at"] == "2024-03-01T09:00:00.000Z"
    assert again["traits"] == {"name": "Alice", "plan": "pro"}


def test_traits_merge_deeply_and_null_keeps_the_key(client, owner, project, ingest_headers):
    headers = ingest_headers
    client.post("/v1/identify", json={"user_id": "u", "traits": {
        "plan": "free", "tags": ["a", "b"], "address": {"city": "Paris", "zip": "75001"},
        "nickname": "al"}}, headers=headers)
    client.post("/v1/identify", json={"user_id": "u", "traits": {
        "plan": "pro", "tags": ["c"], "address": {"city": "Lyon", "geo": {"lat": 45}},
        "nickname": None}}, headers=headers)
    traits = contact(client, owner, project, "u")["traits"]
    assert traits == {"plan": "pro", "tags": ["c"], "nickname": None,
                      "address": {"city": "Lyon", "zip": "75001", "geo": {"lat": 45}}}
    client.post("/v1/identify", json={"user_id": "u", "traits": {}}, headers=headers)
    assert "nickname" in contact(client, owner, project, "u")["traits"]


def test_resending_the_same_batch_changes_nothing_and_reports_duplicates(
        client, owner, project, ingest_headers, db):
    items = [
        {"type": "identify", "user_id": "u1", "traits": {"n": 1}, "message_id": "i1"},
        {"type": "track", "user_id": "u1", "event": "E", "message_id": "t1"},
        {"type": "group", "user_id": "u1", "account_id": "a1", "traits": {"x": 1},
         "message_id": "g1"},
    ]
    assert batch(client, ingest_headers, *items) == {"accepted": 3, "duplicates": 0,
                                                     "rejected": []}
    before = contact(client, owner, project, "u1")
    # The merge would change the traits if the items were applied again.
    items[0]["traits"] = {"n": 2}
    items[2]["traits"] = {"x": 2}
    assert batch(client, ingest_headers, *items) == {"accepted": 0, "duplicates": 3,
                                                     "rejected": []}
    assert contact(client, owner, project, "u1") == before
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1
        assert session.scalar(select(Account.traits)) == {"x": 1}


def test_message_id_dedupes_single_calls_and_within_a_batch(client, owner, project,
                                                           ingest_headers, db):
    for path, body in (("/v1/identify", {"user_id": "u", "traits": {"a": 1}}),
                       ("/v1/track", {"user_id": "u", "event": "E"}),
                       ("/v1/group", {"user_id": "u", "account_id": "acc"})):
        body["messageId"] = f"m-{path}"
        first = client.post(path, json=body, headers=ingest_headers).json()
        again = client.post(path, json=body, headers=ingest_headers).json()
        assert first == {"accepted": 1, "duplicates": 0, "rejected": []}
        assert again == {"accepted": 0, "duplicates": 1, "rejected": []}
    result = batch(client, ingest_headers,
                   {"type": "track", "user_id": "u", "event": "Twice", "message_id": "same"},
                   {"type": "track", "user_id": "u", "event": "Twice", "message_id": "same"},
                   {"type": "track", "user_id": "u", "event": "Twice"},
                   {"type": "track", "user_id": "u", "event": "Twice"})
    assert result == {"accepted": 3, "duplicates": 1, "rejected": []}
    with db.session() as session:
        names = session.scalars(select(Event.name)).all()
    assert sorted(names) == ["E", "Twice", "Twice", "Twice"]


def test_message_ids_are_per_project(client, owner, project, ingest_headers):
    other = client.post("/v1/projects", json={"name": "Other"}, headers=owner.headers).json()
    key = client.post(f"/v1/projects/{other['slug']}/keys", json={},
                      headers=owner.headers).json()["key"]
    body = {"user_id": "u", "message_id": "shared"}
    assert client.post("/v1/identify", json=body, headers=ingest_headers).json()["accepted"] == 1
    other_headers = {"Authorization": f"Bearer {key}"}
    assert client.post("/v1/identify", json=body, headers=other_headers).json()["accepted"] == 1
    assert client.get(f"/v1/projects/{other['slug']}/contacts/u",
                      headers=owner.headers).status_code == 200


def test_event_before_identify_is_linked_when_the_user_is_identified(
        client, owner, project, ingest_headers, db):
    client.post("/v1/track", json={"user_id": "late", "event": "Visited",
                                   "timestamp": "2025-01-01T00:00:00Z",
                                   "properties": {"page": "/"}}, headers=ingest_headers)
    events = client.get(f"/v1/projects/{project['slug']}/events",
                        headers=owner.headers).json()["data"]
    assert events[0]["contact_id"] is None and events[0]["external_user_id"] == "late"
    assert events[0]["occurred_at"] == "2025-01-01T00:00:00.000Z"
    assert_error(client.get(f"/v1/projects/{project['slug']}/contacts/late",
                            headers=owner.headers), 404, "not_found")
    client.post("/v1/identify", json={"user_id": "late"}, headers=ingest_headers)
    body = contact(client, owner, project, "late")
    assert [(e["name"], e["properties"]) for e in body["recent_events"]] == [
        ("Visited", {"page": "/"})]
    assert body["recent_events"][0]["contact_id"] == body["id"]


def test_track_then_identify_in_one_batch_links_the_event(client, owner, project,
                                                          ingest_headers):
    batch(client, ingest_headers, {"type": "track", "user_id": "b", "event": "First"},
          {"type": "identify", "user_id": "b", "email": "b@example.com"},
          {"type": "track", "user_id": "b", "event": "Second"})
    body = contact(client, owner, project, "b")
    assert {e["name"] for e in body["recent_events"]} == {"First", "Second"}
    assert {e["contact_id"] for e in body["recent_events"]} == {body["id"]}


def test_group_before_identify_creates_the_account_unlinked_then_links(
        client, owner, project, ingest_headers):
    slug = project["slug"]
    client.post("/v1/group", json={"user_id": "g", "account_id": "acme", "name": "Acme",
                                   "traits": {"plan": "team"}}, headers=ingest_headers)
    account = client.get(f"/v1/projects/{slug}/accounts/acme", headers=owner.headers).json()
    assert account["name"] == "Acme" and account["traits"] == {"plan": "team"}
    assert account["contacts"] == []
    client.post("/v1/identify", json={"user_id": "g"}, headers=ingest_headers)
    assert contact(client, owner, project, "g")["account"] is None
    client.post("/v1/group", json={"user_id": "g", "account_id": "acme",
                                   "traits": {"seats": 3}}, headers=ingest_headers)
    linked = contact(client, owner, project, "g")
    assert linked["account"] == {"id": account["id"], "external_id": "acme", "name": "Acme"}
    account = client.get(f"/v1/projects/{slug}/accounts/acme", headers=owner.headers).json()
    assert account["traits"] == {"plan": "team", "seats": 3}
    assert [c["external_id"] for c in account["contacts"]] == ["g"]
    # An event after the link carries the account.
    client.post("/v1/track", json={"user_id": "g", "event": "E"}, headers=ingest_headers)
    assert contact(client, owner, project, "g")["recent_events"][0]["account_id"] == account["id"]


def test_skip_triggers_from_body_or_query_is_recorded(client, owner, project, ingest_headers,
                                                      db):
    batch(client, ingest_headers, {"type": "track", "user_id": "u", "event": "Body"},
          skip_triggers=True)
    client.post("/v1/batch?skip_triggers=1", json={"batch": [
        {"type": "track", "user_id": "u", "event": "Query"}]}, headers=ingest_headers)
    client.post("/v1/track", json={"user_id": "u", "event": "Single", "skipTriggers": True},
                headers=ingest_headers)
    client.post("/v1/track", json={"user_id": "u", "event": "Live"}, headers=ingest_headers)
    with db.session() as session:
        flags = dict(session.execute(select(Event.name, Event.skip_triggers)).all())
    assert flags == {"Body": True, "Query": True, "Single": True, "Live": False}
    assert_error(client.post("/v1/batch", json={"batch": [], "skip_triggers": "yes"},
                             headers=ingest_headers), 400, "bad_request")


def test_key_last_used_at_is_recorded(client, project, ingest_headers, db):
    client.post("/v1/track", json={"user_id": "u", "event": "E"}, headers=ingest_headers)
    with db.session() as session:
        used = session.scalar(select(ProjectKey.last_used_at))
    assert used is not None and (datetime.now(UTC) - used).total_seconds() < 60


def test_data_lands_in_the_keys_project_only(client, owner, make_account, project,
                                            ingest_headers, db):
    client.post("/v1/identify", json={"user_id": "mine"}, headers=ingest_headers)
    stranger = make_account()
    theirs = client.post("/v1/projects", json={"name": "Acme"}, headers=stranger.headers).json()
    assert_error(client.get(f"/v1/projects/{theirs['slug']}/contacts/mine",
                            headers=stranger.headers), 404, "not_found")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
