"""Projects and ingestion keys: shapes, onboarding, slugs, cascade, roles, isolation."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from letter.projects.models import Project, ProjectKey
from letter.templates.models import Template
from tests.conftest import assert_error

PROJECT_FIELDS = {
    "slug",
    "name",
    "timezone",
    "sending_mode",
    "sending_status",
    "assigned_subdomain",
    "from_name",
    "from_email",
    "reply_to_email",
    "daily_send_cap",
    "created_at",
    "updated_at",
}


def test_create_project_runs_onboarding(client, owner, db):
    response = client.post(
        "/v1/projects", json={"name": "Acme", "timezone": "Europe/Paris"}, headers=owner.headers
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == PROJECT_FIELDS
    assert body["slug"] == "acme" and body["timezone"] == "Europe/Paris"
    assert body["sending_mode"] == "letter_subdomain"
    assert body["assigned_subdomain"] == "acme"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["created_at"])
    with db.session() as session:
        templates = session.scalars(
            select(Template).join(Project).where(Project.slug == "acme")
        ).all()
    assert [t.is_default for t in templates] == [True]


def test_timezone_defaults_to_utc_and_must_be_iana(client, owner):
    assert (
        client.post("/v1/projects", json={"name": "A"}, headers=owner.headers).json()["timezone"]
        == "UTC"
    )
    error = assert_error(
        client.post(
            "/v1/projects", json={"name": "B", "timezone": "Mars/Base"}, headers=owner.headers
        ),
        400,
        "bad_request",
    )
    assert "timezone" in error["error"]["message"]
    slugs = [p["slug"] for p in client.get("/v1/projects", headers=owner.headers).json()["data"]]
    assert slugs == ["a"]


def test_slugs_are_unique_per_workspace_and_subdomains_per_instance(client, owner, make_account):
    first = client.post("/v1/projects", json={"name": "Acme Inc."}, headers=owner.headers).json()
    second = client.post("/v1/projects", json={"name": "acme inc"}, headers=owner.headers).json()
    assert (first["slug"], second["slug"]) == ("acme-inc", "acme-inc-2")
    other = make_account()
    theirs = client.post("/v1/projects", json={"name": "Acme Inc"}, headers=other.headers).json()
    assert theirs["slug"] == "acme-inc"
    assert theirs["assigned_subdomain"] not in {
        first["assigned_subdomain"],
        second["assigned_subdomain"],
    }


def test_rename_changes_slug(client, owner, project):
    response = client.patch(
        f"/v1/projects/{project['slug']}",
        json={"name": "Acme Europe", "timezone": "America/New_York"},
        headers=owner.headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "acme-europe" and body["timezone"] == "America/New_York"
    assert body["assigned_subdomain"] == project["assigned_subdomain"]
    assert_error(client.get("/v1/projects/acme", headers=owner.headers), 404, "not_found")
    assert client.get("/v1/projects/acme-europe", headers=owner.headers).status_code == 200


def test_bad_patch_changes_nothing(client, owner, project):
    for body in ({"timezone": "Nowhere/Else"}, {"name": ""}, {"slug": "x"}):
        assert_error(
            client.patch("/v1/projects/acme", json=body, headers=owner.headers), 400, "bad_request"
        )
    after = client.get("/v1/projects/acme", headers=owner.headers).json()
    assert after == project


def test_delete_cascades(client, owner, project, db):
    key = client.post("/v1/projects/acme/keys", json={"name": "prod"}, headers=owner.headers)
    assert key.status_code == 201
    assert client.delete("/v1/projects/acme", headers=owner.headers).status_code == 204
    assert_error(client.get("/v1/projects/acme", headers=owner.headers), 404, "not_found")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Template)) == 0
        assert session.scalar(select(func.count()).select_from(ProjectKey)) == 0


def test_project_roles(client, owner, project, make_account):
    member = make_account(role="member", workspace=owner)
    assert client.get("/v1/projects/acme", headers=member.headers).status_code == 200
    assert client.get("/v1/projects", headers=member.headers).status_code == 200
    assert_error(
        client.post("/v1/projects", json={"name": "M"}, headers=member.headers), 403, "forbidden"
    )
    assert_error(client.delete("/v1/projects/acme", headers=member.headers), 403, "forbidden")
    assert_error(
        client.post("/v1/projects/acme/keys", json={}, headers=member.headers), 403, "forbidden"
    )
    admin = make_account(role="admin", workspace=owner)
    assert (
        client.post("/v1/projects", json={"name": "By admin"}, headers=admin.headers).status_code
        == 201
    )


def test_another_workspaces_project_is_404_everywhere(client, owner, project, make_account):
    stranger = make_account(role="owner")
    key_id = client.post("/v1/projects/acme/keys", json={}, headers=owner.headers).json()["id"]
    for method, path, body in (
        ("GET", "/v1/projects/acme", None),
        ("PATCH", "/v1/projects/acme", {"name": "Stolen"}),
        ("DELETE", "/v1/projects/acme", None),
        ("GET", "/v1/projects/acme/keys", None),
        ("POST", "/v1/projects/acme/keys", {}),
        ("DELETE", f"/v1/projects/acme/keys/{key_id}", None),
    ):
        response = client.request(method, path, json=body, headers=stranger.headers)
        error = assert_error(response, 404, "not_found")
        assert error["error"]["message"] == 'No project "acme" in workspace.'
    assert client.get("/v1/projects", headers=stranger.headers).json()["data"] == []
    assert client.get("/v1/projects/acme", headers=owner.headers).json() == project


def test_keys_mint_list_revoke(client, owner, project, db):
    minted = client.post(
        "/v1/projects/acme/keys", json={"name": "Production server"}, headers=owner.headers
    )
    assert minted.status_code == 201
    body = minted.json()
    assert set(body) == {"id", "name", "prefix", "key"}
    assert re.fullmatch(r"lt_live_[0-9a-f]{48}", body["key"])
    assert body["prefix"] == body["key"][:16]
    default = client.post("/v1/projects/acme/keys", headers=owner.headers).json()
    assert default["name"] == "Default"

    listed = client.get("/v1/projects/acme/keys", headers=owner.headers).json()["data"]
    assert [k["id"] for k in listed] == [body["id"], default["id"]]
    assert set(listed[0]) == {
        "id",
        "name",
        "prefix",
        "scope",
        "last_used_at",
        "revoked_at",
        "created_at",
    }
    assert listed[0]["scope"] == "ingest"
    with db.session() as session:
        hashes = list(session.scalars(select(ProjectKey.key_hash)))
    assert body["key"] not in hashes

    assert (
        client.delete(f"/v1/projects/acme/keys/{body['id']}", headers=owner.headers).status_code
        == 204
    )
    listed = client.get("/v1/projects/acme/keys", headers=owner.headers).json()["data"]
    assert [k["id"] for k in listed] == [default["id"]]
    assert_error(
        client.delete(f"/v1/projects/acme/keys/{body['id']}", headers=owner.headers),
        404,
        "not_found",
    )
