"""One rule for every instant the API reads: without an offset, it means UTC."""

from __future__ import annotations


def test_a_naive_expires_at_means_utc(client, owner):
    naive = client.post(
        "/v1/tokens", json={"name": "n", "expires_at": "2030-01-01T00:00:00"}, headers=owner.headers
    )
    assert naive.status_code == 201, naive.text
    assert naive.json()["expires_at"] == "2030-01-01T00:00:00.000Z"
    offset = client.post(
        "/v1/tokens",
        json={"name": "o", "expires_at": "2030-01-01T02:00:00+02:00"},
        headers=owner.headers,
    )
    assert offset.json()["expires_at"] == "2030-01-01T00:00:00.000Z"
    past = client.post(
        "/v1/tokens", json={"name": "p", "expires_at": "2001-01-01T00:00:00"}, headers=owner.headers
    )
    assert past.status_code == 400, past.text
