"""The ingestion endpoints are answered in front of the router: metrics still
label them by route, other methods still get the router's answers, errors
still use the error format with rate-limit headers."""

from __future__ import annotations

from tests.conftest import assert_error


def test_metrics_label_ingestion_calls_by_route(client, ingest_headers):
    client.post("/v1/identify", json={"user_id": "u1"}, headers=ingest_headers)
    client.post("/v1/batch", json={"batch": "no"}, headers=ingest_headers)
    client.base_url = client.base_url.copy_with(host="127.0.0.1")
    text = client.get("/metrics").text
    assert 'letter_http_requests_total{method="POST",route="/v1/identify",status="200"} 1.0' \
        in text
    assert 'letter_http_requests_total{method="POST",route="/v1/batch",status="400"} 1.0' in text


def test_metrics_count_single_calls_and_their_shared_transactions(client, ingest_headers):
    for user in ("u1", "u2"):
        client.post("/v1/identify", json={"user_id": user}, headers=ingest_headers)
    client.post("/v1/track", json={"user_id": "u1"}, headers=ingest_headers)  # no event: a 400
    client.base_url = client.base_url.copy_with(host="127.0.0.1")
    text = client.get("/metrics").text
    assert "letter_ingest_single_calls_total 2.0" in text
    assert "letter_ingest_single_call_transactions_total 2.0" in text


def test_other_methods_and_near_paths_go_to_the_router(client, ingest_headers):
    assert_error(client.get("/v1/batch", headers=ingest_headers), 404, "not_found")
    assert_error(client.post("/v1/batches", json={}, headers=ingest_headers), 404, "not_found")


def test_errors_keep_the_error_format_and_rate_limit_headers(client, ingest_headers):
    response = client.post("/v1/identify", content=b"{nope", headers=ingest_headers)
    assert_error(response, 400, "bad_request")
    assert "x-ratelimit-remaining" in response.headers
    assert_error(client.post("/v1/track", json={"user_id": "u"}), 401, "unauthorized")
