"""Limits and bad input: per-item rejections in a batch, 400/413 for whole
requests, and nothing half-applied."""

from __future__ import annotations

from sqlalchemy import func, select

from letter.contacts.models import Account, Contact, Event, MessageReceipt
from tests.conftest import assert_error

BIG = "x" * (33 * 1024)


def counts(db):
    with db.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(m))
                     for m in (Contact, Account, Event, MessageReceipt))


def test_a_batch_applies_good_items_and_reports_each_bad_one(client, project, ingest_headers,
                                                             db):
    items = [
        {"type": "identify", "user_id": "good1", "email": "ok@example.com"},   # 0 ok
        {"type": "identify", "user_id": "bad-email", "email": "not-an-email",
         "traits": {"plan": "pro"}, "message_id": "x1"},                      # 1
        {"type": "identify", "user_id": "u", "traits": ["not", "an", "object"]},  # 2
        {"type": "track", "user_id": "u", "event": "E", "properties": "nope"},  # 3
        {"type": "identify", "user_id": "x" * 256},                           # 4
        {"type": "track", "user_id": "u", "event": ""},                       # 5
        {"type": "track", "user_id": "u"},                                    # 6
        {"type": "alias", "user_id": "u"},                                    # 7
        {"type": "identify", "user_id": "u", "timezone": "Mars/Olympus"},     # 8
        {"type": "track", "user_id": "u", "event": "E", "timestamp": "yesterday"},  # 9
        {"type": "identify", "user_id": "u", "traits": {"blob": BIG}},       # 10
        "not an object",                                                      # 11
        {"type": "identify"},                                                 # 12
        {"type": "group", "user_id": "u"},                                    # 13
        {"type": "identify", "user_id": "u", "traits": {"email": "bad@"}},    # 14
        {"type": "track", "user_id": "good2", "event": "E" * 255},            # 15 ok
        {"type": "group", "user_id": "good1", "account_id": "a1", "name": 5},  # 16
        {"type": "group", "user_id": "good1", "groupId": "a1", "name": "A"},  # 17 ok
    ]
    response = client.post("/v1/batch", json={"batch": items}, headers=ingest_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 3 and body["duplicates"] == 0
    rejected = {r["index"]: r for r in body["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16]
    assert all(isinstance(r["message"], str) and r["message"] for r in body["rejected"])
    assert rejected[10]["code"] == "payload_too_large"
    assert {r["code"] for i, r in rejected.items() if i != 10} == {"bad_request"}
    assert "email" in rejected[1]["message"] and "timezone" in rejected[8]["message"]
    # Nothing of a rejected item was applied, not even its message receipt.
    assert counts(db) == (1, 1, 1, 0)
    with db.session() as session:
        assert session.scalar(select(Contact.account_id)) is not None
    # The rejected message id was never recorded: a corrected resend applies.
    fixed = {**items[1], "email": "ok2@example.com"}
    again = client.post("/v1/batch", json={"batch": [fixed]}, headers=ingest_headers).json()
    assert again == {"accepted": 1, "duplicates": 0, "rejected": []}


def test_bad_single_calls_are_400_and_change_nothing(client, project, ingest_headers, db):
    cases = [
        ("/v1/identify", {"user_id": "u", "email": "nope", "traits": {"a": 1}}),
        ("/v1/identify", {"user_id": "u", "traits": "x"}),
        ("/v1/identify", {"user_id": ""}),
        ("/v1/identify", {"email": "a@example.com"}),
        ("/v1/identify", {"user_id": "u", "timezone": "CEST"}),
        ("/v1/identify", {"type": "track", "user_id": "u"}),
        ("/v1/track", {"user_id": "u", "event": "x" * 256}),
        ("/v1/track", {"user_id": "u", "event": "E", "properties": [1]}),
        ("/v1/group", {"user_id": "u", "account_id": ""}),
        ("/v1/group", {"user_id": "u", "account_id": "a", "traits": 3}),
        ("/v1/identify", ["not", "an", "object"]),
    ]
    for path, body in cases:
        assert_error(client.post(path, json=body, headers=ingest_headers), 400, "bad_request")
    malformed = client.post("/v1/identify", content=b"{nope", headers={
        **ingest_headers, "Content-Type": "application/json"})
    assert_error(malformed, 400, "bad_request")
    assert counts(db) == (0, 0, 0, 0)


def test_whole_batch_problems_use_the_error_format(client, project, ingest_headers, db):
    h = ingest_headers
    assert_error(client.post("/v1/batch", content=b"[1,", headers=h), 400, "bad_request")
    assert_error(client.post("/v1/batch", json={"items": []}, headers=h), 400, "bad_request")
    assert_error(client.post("/v1/batch", json={"batch": {}}, headers=h), 400, "bad_request")
    assert_error(client.post("/v1/batch", json=[], headers=h), 400, "bad_request")
    many = [{"type": "track", "user_id": "u", "event": "E"}] * 1001
    assert_error(client.post("/v1/batch", json={"batch": many}, headers=h), 413,
                 "payload_too_large")
    huge = [{"type": "track", "user_id": "u", "event": "E", "properties": {"p": "y" * 30_000}}
            ] * 17
    assert_error(client.post("/v1/batch", json={"batch": huge}, headers=h), 413,
                 "payload_too_large")
    big_single = {"user_id": "u", "traits": {"blob": "z" * 600_000}}
    assert_error(client.post("/v1/identify", json=big_single, headers=h), 413,
                 "payload_too_large")
    # A single call is one message: over 32 KB is too large even under the body limit.
    over_message = {"user_id": "u", "event": "E", "properties": {"blob": "z" * 33_000}}
    assert_error(client.post("/v1/track", json=over_message, headers=h), 413,
                 "payload_too_large")
    assert counts(db) == (0, 0, 0, 0)
    full = [{"type": "track", "user_id": "u", "event": "E"}] * 1000
    assert client.post("/v1/batch", json={"batch": full}, headers=h).json()["accepted"] == 1000


def test_an_empty_batch_is_fine(client, project, ingest_headers):
    response = client.post("/v1/batch", json={"batch": []}, headers=ingest_headers)
    assert response.json() == {"accepted": 0, "duplicates": 0, "rejected": []}
