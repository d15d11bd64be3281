"""Bad uploads are refused whole, in the error shape, and store nothing;
another workspace's imports, exports and reports are 404; the error report
lists exactly the bad rows, and a forged or expired link opens nothing."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from letter.clock import utcnow
from letter.imports.links import DownloadLinks
from letter.imports.models import ExportJob, ImportJob
from letter.jobs import Job
from tests.conftest import assert_error
from tests.imports.support import BASE, import_csv, run_jobs, upload

GOOD = b"Email,Plan\nada@example.com,pro\n"


def nothing_stored(db, data_dir) -> None:
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ImportJob)) == 0
        assert session.scalar(select(func.count()).select_from(Job).where(
            Job.kind == "imports.run")) == 0
    uploads = data_dir / "uploads" / "imports"
    assert not uploads.exists() or not any(uploads.iterdir())


@pytest.mark.parametrize(("mapping", "content", "needle"), [
    ("{not json", GOOD, "not valid JSON"),
    ('["email"]', GOOD, "JSON object"),
    (None, GOOD, "mapping: required"),
    ({"Email": "mail"}, GOOD, 'unknown field "mail"'),
    ({"Email": "traits."}, GOOD, "trait path"),
    ({"Plan": "traits.plan"}, GOOD, "email or external_id"),
    ({"Email": "ignore"}, GOOD, "email or external_id"),
    ({"Email": "email", "Plan": "email"}, GOOD, "more than one column"),
    ({"Email": "email", "Nope": "traits.x"}, GOOD, 'no column "Nope"'),
    ({"Email": "email", "Plan": "traits.a", "0": "traits.a.b"}, GOOD, "cannot both"),
    ({"Email": "email"}, b"", "empty"),
    ({"Email": "email"}, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ({"Email": "email"}, "Email\nada@example.com\n".encode("utf-16"), "UTF-16"),
])
def test_bad_uploads_are_400_and_store_nothing(client, owner, project, db, data_dir,
                                              mapping, content, needle):
    response = upload(client, owner.headers, content, mapping)
    assert needle in assert_error(response, 400, "bad_request")["error"]["message"]
    nothing_stored(db, data_dir)


@pytest.mark.parametrize("fields", [
    {"dedupe": "merge"}, {"has_header": "maybe"}, {"rowCount": "many"}, {"rowCount": "-1"},
    {"topics": "not-an-id"},
])
def test_bad_options_are_400(client, owner, project, db, data_dir, fields):
    assert_error(upload(client, owner.headers, GOOD, {"Email": "email"}, **fields), 400,
                 "bad_request")
    nothing_stored(db, data_dir)


def test_no_file_is_400(client, owner, project, db, data_dir):
    for path in ("/imports", "/imports/preview"):
        response = client.post(f"{BASE}{path}", data={"mapping": '{"Email": "email"}'},
                               headers=owner.headers)
        assert "file" in assert_error(response, 400, "bad_request")["error"]["message"]
    nothing_stored(db, data_dir)


def test_an_oversize_upload_is_413_and_stores_nothing(make_client, owner, project, db,
                                                      data_dir):
    small = make_client(max_upload_bytes=2000)
    big = b"email\n" + b"".join(b"user%05d@example.com\n" % i for i in range(200))
    for path in ("/imports", "/imports/preview"):
        response = small.post(f"{BASE}{path}", data={"mapping": '{"email": "email"}'},
                              files={"file": ("big.csv", big, "text/csv")},
                              headers=owner.headers)
        assert_error(response, 413, "payload_too_large")
    nothing_stored(db, data_dir)


def test_another_workspace_gets_404_on_every_route(client, owner, project, make_account):
    job = import_csv(client, owner.headers, b"email\nada@example.com\n", {"email": "email"})
    export = client.post(f"{BASE}/exports", json={}, headers=owner.headers).json()
    stranger = make_account()
    routes = [
        ("post", "/imports", {"data": {"mapping": '{"email": "email"}'},
                              "files": {"file": ("a.csv", GOOD, "text/csv")}}),
        ("get", "/imports", {}),
        ("post", "/imports/preview", {"files": {"file": ("a.csv", GOOD, "text/csv")}}),
        ("get", f"/imports/{job['id']}", {}),
        ("get", f"/imports/{job['id']}/error-report", {}),
        ("post", f"/imports/{job['id']}/cancel", {}),
        ("post", "/exports", {"json": {}}),
        ("get", "/exports", {}),
        ("get", f"/exports/{export['id']}", {}),
    ]
    for method, path, extra in routes:
        response = getattr(client, method)(f"{BASE}{path}", headers=stranger.headers, **extra)
        assert_error(response, 404, "not_found")
    # Their own project of the same slug does not see ours either.
    assert client.post("/v1/projects", json={"name": "Acme"},
                       headers=stranger.headers).status_code == 201
    for path in (f"/imports/{job['id']}", f"/exports/{export['id']}"):
        assert_error(client.get(f"{BASE}{path}", headers=stranger.headers), 404, "not_found")


def test_the_error_report_lists_exactly_the_bad_rows(client, owner, project):
    content = (b"Email,Plan\r\n"
               b"ada@example.com,pro\r\n"
               b"not-an-email,free\r\n"
               b"\r\n"
               b"\"grace@example.com\",\"multi\r\nline\"\r\n"
               b",team\r\n"
               b"=cmd|' /C calc'!A0,x\r\n"
               b"bob@example.com,free\r\n")
    job = import_csv(client, owner.headers, content, {"Email": "email", "Plan": "traits.plan"})
    assert (job["total"], job["created"], job["failed"]) == (6, 3, 3)
    link = client.get(f"{BASE}/imports/{job['id']}/error-report", headers=owner.headers)
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    assert url.startswith("http://letter.test/v1/downloads/")
    report = client.get(url.removeprefix("http://letter.test"))
    assert report.status_code == 200, report.text
    assert report.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0] == ["line", "reason", "row"]
    assert [(r[0], r[2]) for r in rows[1:]] == [
        ("3", "not-an-email,free"), ("7", ",team"), ("8", "'=cmd|' /C calc'!A0,x")]
    assert "not a valid address" in rows[1][1] and rows[2][1] == "no email or external_id"


def test_forged_and_expired_links_are_refused(client, owner, project, settings):
    job = import_csv(client, owner.headers, b"email\nbad\n", {"email": "email"})
    url = client.get(f"{BASE}/imports/{job['id']}/error-report", headers=owner.headers).json()
    token = url["url"].rsplit("/", 1)[1]
    assert client.get(f"/v1/downloads/{token}").status_code == 200
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other_key = DownloadLinks("another-secret", "http://letter.test").url(
        "import-errors", uuid.UUID(job["id"]),
        expires_at=utcnow() + timedelta(hours=1)).rsplit("/", 1)[1]
    links = DownloadLinks(settings.secret_key, "http://letter.test")
    expired = links.url("import-errors", uuid.UUID(job["id"]),
                        expires_at=utcnow() - timedelta(seconds=1)).rsplit("/", 1)[1]
    for bad in (forged, other_key, "garbage", expired):
        assert_error(client.get(f"/v1/downloads/{bad}"), 404, "not_found")
    message = client.get(f"/v1/downloads/{expired}").json()["error"]["message"]
    assert "expired" in message


def test_export_links_expire_with_the_export(client, owner, project, db):
    export = client.post(f"{BASE}/exports", json={}, headers=owner.headers).json()
    run_jobs(client)
    url = client.get(f"{BASE}/exports/{export['id']}", headers=owner.headers).json()[
        "download_url"]
    assert client.get(url.removeprefix("http://letter.test")).status_code == 200
    with db.session() as session:
        row = session.get(ExportJob, uuid.UUID(export["id"]))
        row.expires_at = utcnow() - timedelta(seconds=1)
    # The old link still carries its signature, but the export has expired.
    assert_error(client.get(url.removeprefix("http://letter.test")), 404, "not_found")
    again = client.get(f"{BASE}/exports/{export['id']}", headers=owner.headers).json()
    assert again["download_url"] is None
