"""What an import sets off: sequences only when asked (``trigger_sequences``),
and a recount of the project's segments."""

from __future__ import annotations

from tests.imports.support import BASE, import_csv, run_jobs
from tests.sequences.conftest import chain, email, flows, node  # noqa: F401  (fixture)

CREATED = {"type": "contact_created",
           "filter": {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"}}


def test_imports_enrol_into_sequences_only_when_asked(flows, client, owner):  # noqa: F811
    sid = flows.create(chain(node("t", "trigger"), email("e", "Welcome")), CREATED)
    mapping = {"id": "external_id", "plan": "traits.plan"}
    import_csv(client, owner.headers, b"id,plan\nquiet,pro\n", mapping)
    assert flows.enrollments(sid) == []
    import_csv(client, owner.headers, b"id,plan\nloud,pro\nfree,free\nquiet,pro\n", mapping,
               trigger_sequences="true")
    [enrolment] = flows.enrollments(sid)
    assert enrolment.contact_id == flows.contact("loud").id  # new, and passing the filter


def test_segments_recount_after_an_import(client, owner, project):
    created = client.post("/v1/projects/acme/segments", headers=owner.headers, json={
        "name": "Pro", "filter": {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"}})
    segment = created.json()
    assert segment["count"] == 0
    import_csv(client, owner.headers, b"email,plan\na@example.com,pro\nb@example.com,free\n",
               {"email": "email", "plan": "traits.plan"})
    stale = client.get(f"/v1/projects/acme/segments/{segment['id']}",
                       headers=owner.headers).json()
    assert stale["counted_at"] is None  # first in line for the recount
    assert run_jobs(client, ("default",)) >= 1
    fresh = client.get(f"/v1/projects/acme/segments/{segment['id']}",
                       headers=owner.headers).json()
    assert (fresh["count"], fresh["counted_at"] is not None) == (1, True)
    assert client.get(f"{BASE}/imports", headers=owner.headers).status_code == 200
