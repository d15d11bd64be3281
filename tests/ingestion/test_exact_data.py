"""Data is stored as sent or its item is rejected, never altered, identically
on every database: NUL characters, integers beyond 64 bits, bad booleans."""

from __future__ import annotations

from sqlalchemy import select

from letter.contacts.models import Contact
from tests.conftest import assert_error


def _contacts(db) -> dict[str, dict]:
    with db.session() as session:
        return {c.external_id: c.traits for c in session.scalars(select(Contact))}


def test_a_nul_anywhere_rejects_that_item_only(client, project, ingest_headers, db):
    batch = [
        {"type": "identify", "user_id": "ok9"},
        {"type": "identify", "user_id": "u4", "traits": {"a": "\u0000"}},
        {"type": "identify", "user_id": "u5", "traits": {"k\u0000": 1}},
        {"type": "track", "user_id": "u6", "event": "E", "properties": {"l": ["x\u0000y"]}},
        {"type": "identify", "user_id": "u\u00007"},
        {"type": "identify", "user_id": "ok10", "traits": {"slash": "\\u0000 is text"}},
    ]
    response = client.post("/v1/batch", json={"batch": batch}, headers=ingest_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 4]
    assert all("NUL" in r["message"] for r in body["rejected"])
    assert body["accepted"] == 2
    stored = _contacts(db)
    assert set(stored) == {"ok9", "ok10"}
    assert stored["ok10"] == {"slash": "\\u0000 is text"}
    single = client.post(
        "/v1/identify", json={"user_id": "u8", "traits": {"a": "\u0000"}}, headers=ingest_headers
    )
    assert "NUL" in assert_error(single, 400, "bad_request")["error"]["message"]


def test_integers_are_stored_exactly_or_rejected(client, project, ingest_headers, db):
    big = 2**70
    within = 2**63 - 1
    body = (
        '{"batch": ['
        f'{{"type": "identify", "user_id": "huge", "traits": {{"n": {big}}}}},'
        f'{{"type": "identify", "user_id": "fits", "traits": {{"n": {within}, "m": -{within}}}}},'
        '{"type": "identify", "user_id": "1234567890123456789012", "traits": {"f": 1.5}}'
        "]}"
    )
    response = client.post(
        "/v1/batch",
        content=body,
        headers={**ingest_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [r["index"] for r in result["rejected"]] == [0]
    assert "64-bit" in result["rejected"][0]["message"]
    stored = _contacts(db)
    assert "huge" not in stored
    assert stored["fits"] == {"n": within, "m": -within}
    assert stored["1234567890123456789012"] == {"f": 1.5}


def test_skip_triggers_must_be_a_boolean(client, project, ingest_headers, db):
    call = {"user_id": "st1"}
    for bad in ("abc", "2", "maybe"):
        response = client.post(
            f"/v1/identify?skip_triggers={bad}", json=call, headers=ingest_headers
        )
        assert "skip_triggers" in assert_error(response, 400, "bad_request")["error"]["message"]
    assert _contacts(db) == {}
    for good in ("true", "false", "1", "0"):
        response = client.post(
            f"/v1/identify?skip_triggers={good}", json=call, headers=ingest_headers
        )
        assert response.status_code == 200, response.text
