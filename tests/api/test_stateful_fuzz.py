"""Stateful fuzzing of the whole ``/v1/openapi.json`` (schemathesis): the
machine follows the document's links, so it creates a resource and then
reads, edits, publishes, schedules and deletes *that* resource. Every answer
must be documented: no 5xx, a status code the operation lists, a declared
content type, and a body that matches the declared schema."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Account

# Fixed and derandomized in CI; LETTER_FUZZ_SCENARIOS=300 explores further.
SCENARIOS = int(os.environ.get("LETTER_FUZZ_SCENARIOS", "60"))
STEPS = int(os.environ.get("LETTER_FUZZ_STEPS", "10"))
DERANDOMIZE = "LETTER_FUZZ_SCENARIOS" not in os.environ
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
INGESTION = frozenset({"/v1/identify", "/v1/track", "/v1/group", "/v1/batch"})


def test_links_are_documented_and_valid(client) -> None:
    schema = client.get("/v1/openapi.json").json()
    create = schema["paths"]["/v1/projects/{slug}/broadcasts"]["post"]["responses"]["201"]
    schedule = create["links"]["Schedule"]
    assert schedule["parameters"] == {"slug": "$request.path.slug",
                                      "broadcast_id": "$response.body#/id"}
    identify = schema["paths"]["/v1/identify"]["post"]["responses"]["200"]["links"]
    assert identify["GetContact"]["parameters"] == {"external_id": "$request.body#/userId"}
    operation_ids = {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}
    targets = {link["operationId"] for ops in schema["paths"].values() for op in ops.values()
               for response in op["responses"].values()
               for link in response.get("links", {}).values()}
    assert targets <= operation_ids and len(targets) > 40
    schemathesis.openapi.from_dict(schema).validate()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_stateful_fuzz_finds_no_undocumented_answer(make_client, owner: Account) -> None:
    client = make_client(rate_limit="1000000/minute", ingest_rate_limit="1000000/minute")
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", client.app)
    schema.config.phases.stateful.inference.algorithms = []  # the document's links only
    # Valid data carries a scenario further (create, publish, schedule...);
    # invalid data per operation is test_fuzz.py's job.
    schema.config.phases.stateful.generation.modes = [GenerationMode.POSITIVE]
    base = schema.as_state_machine()
    state: dict[str, Any] = {"slugs": set(), "calls": []}

    class Machine(base):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            # A project of its own per scenario: a scenario may delete it.
            made = client.post("/v1/projects", json={"name": "Fuzz", "timezone": "UTC"},
                               headers=owner.headers)
            assert made.status_code == 201, made.text
            slug = made.json()["slug"]
            key = client.post(f"/v1/projects/{slug}/keys", json={}, headers=owner.headers)
            assert key.status_code == 201, key.text
            state.update(slug=slug, key=key.json()["key"])
            state["slugs"].add(slug)

        def before_call(self, case: schemathesis.Case) -> None:
            params = case.path_parameters or {}
            if "slug" in params and params["slug"] not in state["slugs"]:
                params["slug"] = state["slug"]
            token = state["key"] if case.operation.path in INGESTION else owner.token
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            state["calls"].append((case.method, case.operation.path, response.status_code))
            if case.operation.path == "/v1/projects" and response.status_code == 201:
                state["slugs"].add(response.json()["slug"])

        def validate_response(self, response: Any, case: schemathesis.Case,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Machine.run(settings=settings(
        max_examples=SCENARIOS, stateful_step_count=STEPS, derandomize=DERANDOMIZE,
        deadline=None, database=None, suppress_health_check=list(HealthCheck)))

    answered = Counter((method, path) for method, path, status in state["calls"] if status < 300)
    print(f"\n{len(state['calls'])} calls, {len(answered)} operations answered 2xx")
    assert len(answered) >= 20, sorted(answered)
