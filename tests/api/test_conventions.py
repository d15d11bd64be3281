"""Conventions every router shares: errors, pagination, idempotency, rate limits, limits."""

from __future__ import annotations

import time

from tests.conftest import assert_error


def test_unknown_routes_and_methods_use_the_error_shape(client, owner):
    assert_error(client.get("/v1/nope", headers=owner.headers), 404, "not_found")
    assert_error(client.put("/v1/me", headers=owner.headers), 404, "not_found")
    assert_error(client.get("/v1/projects/missing", headers=owner.headers), 404, "not_found")


def test_malformed_json_and_wrong_types_are_400(client, owner):
    headers = {**owner.headers, "Content-Type": "application/json"}
    error = assert_error(
        client.post("/v1/projects", content=b"{not json", headers=headers), 400, "bad_request"
    )
    assert "JSON" in error["error"]["message"]
    error = assert_error(
        client.post("/v1/projects", json={"name": 5}, headers=owner.headers), 400, "bad_request"
    )
    assert "name" in error["error"]["message"]
    error = assert_error(
        client.post("/v1/projects", json={"name": "x", "colour": "red"}, headers=owner.headers),
        400,
        "bad_request",
    )
    assert "colour: unknown field" in error["error"]["message"]
    assert_error(
        client.post("/v1/projects", json=[1, 2], headers=owner.headers), 400, "bad_request"
    )
    assert client.get("/v1/projects", headers=owner.headers).json()["data"] == []


def test_cursor_pagination_walks_every_row_once(client, owner):
    names = [f"P{i}" for i in range(7)]
    for name in names:
        client.post("/v1/projects", json={"name": name}, headers=owner.headers)
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/projects", params=params, headers=owner.headers).json()
        assert len(page["data"]) <= 3
        seen += [p["name"] for p in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    default = client.get("/v1/projects", headers=owner.headers).json()
    assert len(default["data"]) == 7 and default["next_cursor"] is None


def test_bad_pagination_parameters_are_400(client, owner):
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"cursor": "%%%"},
        {"cursor": "bm90IGpzb24"},
    ):
        assert_error(
            client.get("/v1/projects", params=params, headers=owner.headers), 400, "bad_request"
        )


def test_idempotency_key_replays_first_response(client, owner):
    headers = {**owner.headers, "Idempotency-Key": "create-acme-1"}
    first = client.post("/v1/projects", json={"name": "Acme"}, headers=headers)
    second = client.post("/v1/projects", json={"name": "Acme"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    projects = client.get("/v1/projects", headers=owner.headers).json()["data"]
    assert [p["slug"] for p in projects] == ["acme"]


def test_idempotency_key_with_another_body_is_409(client, owner):
    headers = {**owner.headers, "Idempotency-Key": "k-2"}
    assert client.post("/v1/projects", json={"name": "One"}, headers=headers).status_code == 201
    assert_error(
        client.post("/v1/projects", json={"name": "Two"}, headers=headers), 409, "conflict"
    )
    assert [
        p["name"] for p in client.get("/v1/projects", headers=owner.headers).json()["data"]
    ] == ["One"]


def test_idempotency_keys_are_per_token_and_failures_are_not_cached(client, owner, make_account):
    colleague = make_account(role="admin", workspace=owner)
    key = {"Idempotency-Key": "shared"}
    bad = client.post("/v1/projects", json={"name": ""}, headers={**owner.headers, **key})
    assert_error(bad, 400, "bad_request")
    ok = client.post("/v1/projects", json={"name": "A"}, headers={**owner.headers, **key})
    assert ok.status_code == 201 and "Idempotent-Replayed" not in ok.headers
    theirs = client.post("/v1/projects", json={"name": "A"}, headers={**colleague.headers, **key})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["slug"] == "a-2"


def test_rate_limit_answers_429_with_headers(make_client, owner):
    client = make_client(rate_limit="3/minute")
    responses = [client.get("/v1/me", headers=owner.headers) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    for r in responses[:3]:
        assert r.headers["X-RateLimit-Limit"] == "3"
        assert int(r.headers["X-RateLimit-Reset"]) >= int(time.time())
    error = assert_error(responses[3], 429, "rate_limited")
    assert 1 <= error["error"]["retryAfter"] <= 60
    assert responses[3].headers["Retry-After"] == str(error["error"]["retryAfter"])


def test_rate_limits_are_per_token(make_client, owner, make_account):
    client = make_client(rate_limit="1/minute")
    other = make_account(role="member", workspace=owner)
    assert client.get("/v1/me", headers=owner.headers).status_code == 200
    assert client.get("/v1/me", headers=other.headers).status_code == 200
    assert client.get("/v1/me", headers=owner.headers).status_code == 429


def test_oversized_bodies_are_413_and_change_nothing(make_client, owner):
    client = make_client(max_body_bytes=1000)
    big = {"name": "x" * 2000}
    assert_error(
        client.post("/v1/projects", json=big, headers=owner.headers), 413, "payload_too_large"
    )

    def chunks():  # no Content-Length: the limit holds while streaming too
        for _ in range(5):
            yield b" " * 400

    streamed = client.post(
        "/v1/projects",
        content=chunks(),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert_error(streamed, 413, "payload_too_large")
    assert client.get("/v1/projects", headers=owner.headers).json()["data"] == []


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_openapi_describes_every_endpoint_with_bearer_auth(client):
    spec = client.get("/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    schemes = spec["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    paths = spec["paths"]
    for path in (
        "/v1/me",
        "/v1/tokens",
        "/v1/tokens/{token_id}",
        "/v1/members",
        "/v1/members/{user_id}",
        "/v1/invitations",
        "/v1/invitations/{invitation_id}",
        "/v1/invitations/accept",
        "/v1/projects",
        "/v1/projects/{slug}",
        "/v1/projects/{slug}/keys",
        "/v1/projects/{slug}/keys/{key_id}",
    ):
        assert path in paths, path
    created = paths["/v1/projects"]["post"]
    assert "requestBody" in created
    assert "201" in created["responses"]
    assert created["responses"]["201"]["content"]["application/json"]["schema"]


def test_the_429_itself_carries_rate_limit_headers(make_client, owner):
    client = make_client(rate_limit="1/minute")
    client.get("/v1/me", headers=owner.headers)
    limited = client.get("/v1/me", headers=owner.headers)
    assert limited.status_code == 429
    assert limited.headers["X-RateLimit-Limit"] == "1"
    assert limited.headers["X-RateLimit-Remaining"] == "0"


def test_redis_storage_shares_limits_between_processes(make_client, owner):

    import redis

    url = "redis://127.0.0.1:6379/15"
    redis.Redis.from_url(url).flushdb()
    # Two apps stand for two API processes: the window is counted in Redis.
    limit = "2/minute"
    first = make_client(redis_url=url, rate_limit=limit)
    second = make_client(redis_url=url, rate_limit=limit)
    assert first.get("/v1/me", headers=owner.headers).status_code == 200
    assert second.get("/v1/me", headers=owner.headers).status_code == 200
    assert_error(first.get("/v1/me", headers=owner.headers), 429, "rate_limited")
    redis.Redis.from_url(url).flushdb()


def test_openapi_documents_the_error_shape(client):
    spec = client.get("/v1/openapi.json").json()
    responses = spec["paths"]["/v1/projects/{slug}"]["get"]["responses"]
    assert {"401", "403", "404", "429"} <= set(responses)
    ref = responses["404"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ErrorBody")


def test_invitation_accept_page_escapes_the_token(client):
    page = client.get("/invitations/accept", params={"token": '"><script>alert(1)</script>'})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)</script>" not in page.text
    assert "&#34;&gt;&lt;script&gt;" in page.text  # Jinja2 escapes the quote as &#34;
    assert "/v1/invitations/accept" in page.text


def test_nul_characters_are_400_not_500(client, owner, project):
    error = assert_error(
        client.post("/v1/projects", json={"name": "a\x00b"}, headers=owner.headers),
        400,
        "bad_request",
    )
    assert "name" in error["error"]["message"]
    assert_error(client.get("/v1/projects/ac%00me", headers=owner.headers), 400, "bad_request")
    assert_error(
        client.get("/v1/projects", params={"cursor": "a\x00"}, headers=owner.headers),
        400,
        "bad_request",
    )
    assert [
        p["slug"] for p in client.get("/v1/projects", headers=owner.headers).json()["data"]
    ] == ["acme"]


def test_metrics_count_requests_by_route_template(client, owner, project):
    client.get("/v1/projects/acme", headers=owner.headers)
    client.get("/v1/projects/nope", headers=owner.headers)
    # Reached on a non-loopback address without LETTER_METRICS_TOKEN: hidden.
    assert_error(client.get("/metrics"), 404, "not_found")
    client.base_url = client.base_url.copy_with(host="127.0.0.1")
    text = client.get("/metrics").text
    assert (
        'letter_http_requests_total{method="GET",route="/v1/projects/{slug}",status="200"} 1.0'
        in text
    )
    assert 'route="/v1/projects/{slug}",status="404"} 1.0' in text
    assert "letter_http_request_duration_seconds_bucket" in text
    assert "/v1/projects/acme" not in text


def test_openapi_documents_the_400_actually_returned(client):
    spec = client.get("/v1/openapi.json").json()
    text = str(spec)
    assert "'422'" not in text and "HTTPValidationError" not in text
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            takes_input = operation.get("parameters") or operation.get("requestBody")
            if takes_input:
                error = operation["responses"].get("400")
                assert error, (method, path)
                schema = error["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)


def test_one_message_for_a_body_that_cannot_be_parsed(client, owner, project):
    key = client.post("/v1/projects/acme/keys", json={"name": "k"}, headers=owner.headers)
    deep = b"[" * 5000 + b"]" * 5000
    messages = set()
    for path, auth in (
        ("/v1/projects", owner.headers),
        ("/v1/tokens", owner.headers),
        ("/v1/identify", {"Authorization": f"Bearer {key.json()['key']}"}),
        ("/v1/batch", {"Authorization": f"Bearer {key.json()['key']}"}),
    ):
        for body in (deep, b"{not json"):
            response = client.post(
                path, content=body, headers={**auth, "Content-Type": "application/json"}
            )
            messages.add(assert_error(response, 400, "bad_request")["error"]["message"])
    assert messages == {"Malformed JSON body."}


def test_docs_load_every_asset_from_letter_itself(client):
    import re

    page = client.get("/docs")
    assert page.status_code == 200
    links = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', page.text)
    links += re.findall(r"url: ['\"]([^'\"]+)['\"]", page.text)
    assert links and "https://" not in page.text and "http://" not in page.text
    for link in links:
        assert link.startswith("/"), link
        asset = client.get(link)
        assert asset.status_code == 200, link
    assert "/docs/assets/swagger-ui-bundle.js" in links
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert len(bundle.content) > 100_000 and "javascript" in bundle.headers["content-type"]
