"""/v1/projects/{slug}/templates: CRUD, default, reset, logo."""

from __future__ import annotations

import struct
import zlib

from tests.conftest import assert_error


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def base(project):
    return f"/v1/projects/{project['slug']}/templates"


def test_default_template_exists_and_cannot_be_deleted(client, owner, project):
    listed = client.get(base(project), headers=owner.headers).json()["data"]
    assert len(listed) == 1 and listed[0]["is_default"] and listed[0]["name"] == "Default"
    assert listed[0]["design"]["preset"] == "branded"
    assert set(listed[0]) == {"id", "name", "is_default", "design", "created_at", "updated_at"}
    assert_error(client.delete(f"{base(project)}/{listed[0]['id']}", headers=owner.headers),
                 409, "conflict")


def test_create_update_default_reset_delete(client, owner, project):
    created = client.post(base(project), json={"name": "Promo", "design": {"preset": "plain"}},
                          headers=owner.headers)
    assert created.status_code == 201
    tid = created.json()["id"]
    assert created.json()["design"]["colors"]["background"] == "#ffffff"
    patched = client.patch(f"{base(project)}/{tid}", headers=owner.headers, json={
        "design": {"colors": {"accent": "#FF0000"}, "footer": {"address": "1 Main St"}}})
    assert patched.status_code == 200
    design = patched.json()["design"]
    assert design["colors"]["accent"] == "#ff0000" and design["preset"] == "plain"
    assert design["footer"]["address"] == "1 Main St"
    assert_error(client.patch(f"{base(project)}/{tid}", headers=owner.headers,
                              json={"design": {"font": "comic"}}), 400, "bad_request")
    assert client.get(f"{base(project)}/{tid}", headers=owner.headers).json()["design"][
        "font"] == "system"

    assert client.post(f"{base(project)}/{tid}/default", headers=owner.headers
                       ).status_code == 204
    defaults = [t for t in client.get(base(project), headers=owner.headers).json()["data"]
                if t["is_default"]]
    assert [t["id"] for t in defaults] == [tid]

    reset = client.post(f"{base(project)}/{tid}/reset", json={"preset": "branded"},
                        headers=owner.headers)
    assert reset.json()["design"]["colors"]["accent"] == "#4f46e5"
    assert reset.json()["design"]["footer"]["address"] == "1 Main St"
    assert_error(client.post(f"{base(project)}/{tid}/reset", json={"preset": "x"},
                             headers=owner.headers), 400, "bad_request")
    assert_error(client.delete(f"{base(project)}/{tid}", headers=owner.headers), 409, "conflict")
    other = next(t["id"] for t in client.get(base(project), headers=owner.headers).json()["data"]
                 if t["id"] != tid)
    assert client.delete(f"{base(project)}/{other}", headers=owner.headers).status_code == 204
    assert_error(client.get(f"{base(project)}/{other}", headers=owner.headers), 404, "not_found")


def test_logo_upload_checked_by_content_and_served(client, owner, project):
    tid = client.get(base(project), headers=owner.headers).json()["data"][0]["id"]
    url = f"{base(project)}/{tid}/logo"
    bad = client.post(url, files={"file": ("logo.png", b"<svg></svg>", "image/png")},
                      headers=owner.headers)
    assert_error(bad, 400, "bad_request")
    big = client.post(url, files={"file": ("l.png", png() + b"\0" * 1_000_001, "image/png")},
                      headers=owner.headers)
    assert_error(big, 413, "payload_too_large")
    assert_error(client.post(url, headers=owner.headers), 400, "bad_request")
    ok = client.post(url, files={"file": ("anything.bin", png(), "application/octet-stream")},
                     headers=owner.headers)
    assert ok.status_code == 200, ok.text
    logo_url = ok.json()["url"]
    assert logo_url.startswith("http://letter.test/assets/logos/") and logo_url.endswith(".png")
    served = client.get(logo_url.removeprefix("http://letter.test"))
    assert served.status_code == 200 and served.content == png()
    assert served.headers["content-type"] == "image/png"
    design = client.get(f"{base(project)}/{tid}", headers=owner.headers).json()["design"]
    assert design["logo"]["url"] == logo_url
    assert client.delete(url, headers=owner.headers).status_code == 204
    assert client.get(f"{base(project)}/{tid}", headers=owner.headers).json()["design"][
        "logo"] is None
    assert_error(client.get("/assets/logos/../../secret_key"), 404, "not_found")


def test_other_workspace_cannot_see_templates(client, owner, project, make_account):
    stranger = make_account()
    tid = client.get(base(project), headers=owner.headers).json()["data"][0]["id"]
    assert_error(client.get(base(project), headers=stranger.headers), 404, "not_found")
    assert_error(client.get(f"{base(project)}/{tid}", headers=stranger.headers), 404,
                 "not_found")
    assert_error(client.get(base(project)), 401, "unauthorized")
