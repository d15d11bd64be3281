"""No raw secret is stored in any table, even with an Idempotency-Key (item: secrets at rest).

A replay of a create that minted a secret answers the same id, name and
prefix, with the secret itself ``null``: it is shown once, by the first response.
"""

from __future__ import annotations

from sqlalchemy import select

from letter.db.engine import Database
from letter.tables import Base


def _all_table_text(db: Database) -> str:
    parts: list[str] = []
    with db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_token_and_key_creates_with_an_idempotency_key_store_no_secret(client, owner, project, db):
    token_headers = {**owner.headers, "Idempotency-Key": "tok-1"}
    first = client.post("/v1/tokens", json={"name": "ci"}, headers=token_headers)
    assert first.status_code == 201, first.text
    raw_token = first.json()["token"]
    assert raw_token.startswith("lt_pat_")

    key_headers = {**owner.headers, "Idempotency-Key": "key-1"}
    made = client.post("/v1/projects/acme/keys", json={"name": "srv"}, headers=key_headers)
    assert made.status_code == 201, made.text
    raw_key = made.json()["key"]
    assert raw_key.startswith("lt_live_")

    stored = _all_table_text(db)
    assert raw_token not in stored and raw_token[7:] not in stored
    assert raw_key not in stored and raw_key[8:] not in stored

    replay = client.post("/v1/tokens", json={"name": "ci"}, headers=token_headers)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    again = replay.json()
    assert again["token"] is None
    assert {k: v for k, v in again.items() if k != "token"} == {
        k: v for k, v in first.json().items() if k != "token"
    }
    key_replay = client.post("/v1/projects/acme/keys", json={"name": "srv"}, headers=key_headers)
    assert key_replay.json()["key"] is None
    assert key_replay.json()["id"] == made.json()["id"]
    # The secret from the first response still works: nothing was minted twice.
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {raw_token}"}).status_code == 200
    assert len(client.get("/v1/projects/acme/keys", headers=owner.headers).json()["data"]) == 1
