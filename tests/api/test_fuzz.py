"""Property-based requests from our own OpenAPI description (schemathesis):
whatever a client sends, the answer is never a 500, errors keep their shape,
and every answer is documented (status code, content type, body schema)."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Deterministic by default so CI is reproducible; LETTER_FUZZ_EXAMPLES=500
# explores further (and randomly) on a developer's machine.
EXAMPLES = int(os.environ.get("LETTER_FUZZ_EXAMPLES", "20"))
DERANDOMIZE = "LETTER_FUZZ_EXAMPLES" not in os.environ
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_no_server_errors_and_one_error_shape(client, owner, project):
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", client.app)
    auth = {"Authorization": f"Bearer {owner.token}"}
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=DERANDOMIZE,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def fuzz(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **auth}
            response = case.call()
            case.validate_response(response, checks=CHECKS)
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"}
                assert {"code", "message"} <= set(body["error"])

        fuzz()
        checked += 1
    assert checked >= 15


def test_public_links_document_what_a_bad_link_gets(client):
    paths = client.get("/v1/openapi.json").json()["paths"]
    for method, path, status in (("get", "/unsubscribe/x", 404), ("post", "/unsubscribe/x", 404),
                                 ("get", "/t/o/x", 404), ("get", "/t/c/x", 404),
                                 ("get", "/assets/logos/x.png", 404),
                                 ("post", "/v1/webhooks/nope", 404)):
        answer = client.request(method, path)
        assert answer.status_code == status and answer.json()["error"]["code"] == "not_found"
        if (method, path) == ("get", "/unsubscribe/x"):
            continue  # the preference centre is a page of the dashboard, not of the API
        template = {"/unsubscribe/x": "/unsubscribe/{token}", "/t/o/x": "/t/o/{token}",
                    "/t/c/x": "/t/c/{token}", "/assets/logos/x.png": "/assets/logos/{name}",
                    "/v1/webhooks/nope": "/v1/webhooks/{provider}"}[path]
        documented = paths[template][method]["responses"][str(status)]
        assert list(documented["content"]) == ["application/json"]
