"""Sending domains (DKIM keys, DNS verification), sender identity, sending mode."""

from __future__ import annotations

from tests.conftest import assert_error
from tests.delivery.test_end_to_end import setup_domain


def test_register_lists_records_and_verify_against_dns(api, owner, project_row, dns_server):
    slug = project_row.slug
    created = api.post(f"/v1/projects/{slug}/domains", json={"domain": "Mail.Acme.test"},
                       headers=owner.headers)
    assert created.status_code == 201
    domain = created.json()
    assert domain["domain"] == "mail.acme.test" and domain["status"] == "pending"
    assert domain["kind"] == "custom" and len(domain["dkim_tokens"]) == 3
    assert domain["verified_at"] is None and domain["last_checked_at"] is None
    records = domain["dns_records"]
    assert [r["name"] for r in records] == [
        f"{t}._domainkey.mail.acme.test" for t in domain["dkim_tokens"]]
    assert all(r["type"] == "TXT" and r["value"].startswith("v=DKIM1; k=rsa; p=")
               for r in records)

    failed = api.post(f"/v1/projects/{slug}/domains/{domain['id']}/verify",
                      headers=owner.headers).json()
    assert failed["status"] == "failed" and failed["last_checked_at"]
    assert "not found" in failed["failure_reason"]
    dns_server.publish(records[0]["name"], records[0]["value"])
    dns_server.publish(records[1]["name"], "v=DKIM1; k=rsa; p=AAAA")
    partly = api.post(f"/v1/projects/{slug}/domains/{domain['id']}/verify",
                      headers=owner.headers).json()
    assert partly["status"] == "failed" and "wrong value" in partly["failure_reason"]
    dns_server.resolver.txt.clear()
    for r in records:
        dns_server.publish(r["name"], r["value"])
    verified = api.post(f"/v1/projects/{slug}/domains/{domain['id']}/verify",
                        headers=owner.headers).json()
    assert verified["status"] == "verified" and verified["verified_at"]
    listed = api.get(f"/v1/projects/{slug}/domains", headers=owner.headers).json()["data"]
    assert [d["id"] for d in listed] == [domain["id"]]
    assert_error(api.post(f"/v1/projects/{slug}/domains", json={"domain": "mail.acme.test"},
                          headers=owner.headers), 409, "conflict")


def test_bad_domains_are_rejected(api, owner, project_row):
    for bad in ("localhost", "not a domain", "x.letter.localhost", "-a.com"):
        assert_error(api.post(f"/v1/projects/{project_row.slug}/domains", json={"domain": bad},
                              headers=owner.headers), 400, "bad_request")


def test_byo_mode_needs_a_verified_domain(api, owner, project_row, dns_server):
    slug = project_row.slug
    put = api.put(f"/v1/projects/{slug}/sender-identity", headers=owner.headers,
                  json={"from_email": "hi@acme.test"})
    assert put.status_code == 200 and put.json()["from_email"] == "hi@acme.test"
    error = assert_error(api.put(f"/v1/projects/{slug}/sending-mode", headers=owner.headers,
                                 json={"sending_mode": "byo_domain"}), 400, "bad_request")
    assert "acme.test" in error["error"]["message"]
    setup_domain(api, owner, slug, dns_server, name="acme.test")
    project = api.get(f"/v1/projects/{slug}", headers=owner.headers).json()
    assert project["sending_mode"] == "byo_domain"
    # In byo_domain mode a From on an unverified domain is refused.
    assert_error(api.put(f"/v1/projects/{slug}/sender-identity", headers=owner.headers,
                         json={"from_email": "hi@other.test"}), 400, "bad_request")
    assert_error(api.put(f"/v1/projects/{slug}/sender-identity", headers=owner.headers,
                         json={"from_email": "not-an-email"}), 400, "bad_request")
    domain_id = api.get(f"/v1/projects/{slug}/domains", headers=owner.headers).json()[
        "data"][0]["id"]
    assert_error(api.delete(f"/v1/projects/{slug}/domains/{domain_id}", headers=owner.headers),
                 409, "conflict")
    assert api.put(f"/v1/projects/{slug}/sending-mode", headers=owner.headers,
                   json={"sending_mode": "letter_subdomain"}).status_code == 200
    assert api.delete(f"/v1/projects/{slug}/domains/{domain_id}",
                      headers=owner.headers).status_code == 204
    assert_error(api.put(f"/v1/projects/{slug}/sending-mode", headers=owner.headers,
                         json={"sending_mode": "carrier_pigeon"}), 400, "bad_request")


def test_sending_settings_need_admin_and_the_right_workspace(api, owner, project_row,
                                                             make_account):
    slug = project_row.slug
    member = make_account(role="member", workspace=owner)
    assert_error(api.get(f"/v1/projects/{slug}/domains", headers=member.headers), 403,
                 "forbidden")
    assert_error(api.put(f"/v1/projects/{slug}/sender-identity", headers=member.headers,
                         json={"from_email": "a@b.test"}), 403, "forbidden")
    stranger = make_account()
    assert_error(api.post(f"/v1/projects/{slug}/domains", json={"domain": "x.test"},
                          headers=stranger.headers), 404, "not_found")
