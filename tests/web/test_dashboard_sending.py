"""Templates (design editor, live preview, logo) and sending domains in the
dashboard."""

from __future__ import annotations

import base64
import html
import re

import pytest
from sqlalchemy import select

from letter.domains.models import Domain
from letter.templates.models import Template
from tests.servers import DnsServer
from tests.web.dash import browser, new_project

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture
def dns():
    server = DnsServer().start()
    yield server
    server.stop()


def _templates(db):
    with db.session() as session:
        return {t.name: t for t in session.scalars(select(Template))}


def test_design_editor_previews_saves_and_refuses_bad_colours(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    listing = b.get(f"/p/{slug}/templates").text
    default = _templates(db)["Default"]
    assert "Default" in listing
    url = f"/p/{slug}/templates/{default.id}"
    page = b.get(url)
    assert page.status_code == 200 and "srcdoc=" in page.text
    fields = {"name": "Default", "background": "#000000", "content": "#ffffff",
              "text": "#111111", "accent": "#ff0000", "font": "serif", "align": "left",
              "footer_text": "Sent with care", "footer_address": "1 Main St"}
    preview = b.post(f"{url}/preview", fields)
    assert "<html" not in preview.text[:100] and "Sent with care" in preview.text
    assert "#ff0000" in preview.text.lower()
    bad = b.post(url, {**fields, "accent": "red"})
    assert bad.status_code == 400 and "is not a #rgb or #rrggbb colour" in bad.text
    assert _templates(db)["Default"].design["colors"]["accent"] != "#ff0000"
    assert b.post(url, fields).headers["hx-redirect"].endswith("?saved=1")
    design = _templates(db)["Default"].design
    assert design["colors"]["accent"] == "#ff0000" and design["font"] == "serif"
    assert design["footer"] == {"text": "Sent with care", "address": "1 Main St"}


def test_logo_upload_default_reset_delete(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    created = b.post(f"/p/{slug}/templates", {"name": "Newsletter"})
    url = created.headers["hx-redirect"]
    csrf = {"X-CSRF-Token": b.csrf, "HX-Request": "true"}
    bad = b.client.post(f"{url}/logo", files={"file": ("x.txt", b"hello", "text/plain")},
                        headers=csrf)
    assert bad.status_code == 400 and 'id="e-file"' in bad.text
    ok = b.client.post(f"{url}/logo", files={"file": ("logo.png", PNG, "image/png")},
                       headers=csrf)
    assert ok.status_code == 200, ok.text
    assert _templates(db)["Newsletter"].design["logo"]["url"].startswith("http")
    assert b.post(f"{url}/remove-logo").status_code == 200
    assert _templates(db)["Newsletter"].design["logo"] is None
    assert b.post(f"{url}/default").status_code == 200
    assert _templates(db)["Newsletter"].is_default
    assert b.post(f"{url}/reset", {"preset": "plain"}).status_code == 200
    assert _templates(db)["Newsletter"].design["preset"] == "plain"
    default_id = _templates(db)["Default"].id
    assert b.post(f"/p/{slug}/templates/{default_id}/delete").status_code == 200
    assert set(_templates(db)) == {"Newsletter"}


def test_domains_register_show_records_and_verify(make_client, db, dns):
    b = browser(make_client, db)
    slug = new_project(b)
    assert "No domain yet" in b.get(f"/p/{slug}/domains").text
    bad = b.post(f"/p/{slug}/domains", {"domain": "not a domain"})
    assert bad.status_code == 400 and 'id="e-domain"' in bad.text
    assert b.post(f"/p/{slug}/domains", {"domain": "mail.acme.test"}).status_code == 200
    page = b.get(f"/p/{slug}/domains").text
    names = re.findall(r"<code>([a-z0-9]+\._domainkey\.mail\.acme\.test)</code>", page)
    assert len(names) == 3 and "pending" in page
    with db.session() as session:
        domain = session.scalars(select(Domain)).one()
        from letter.domains.service import dns_records
        records = dns_records(domain)
    client = make_client(dns_resolver=dns.address)
    b.client.app = client.app  # the same database, resolving on the loopback DNS server
    b.post(f"/p/{slug}/domains/{domain.id}/verify")
    assert "failed" in b.get(f"/p/{slug}/domains").text
    for r in records:
        dns.publish(r.name, r.value)
    b.post(f"/p/{slug}/domains/{domain.id}/verify")
    assert "verified" in b.get(f"/p/{slug}/domains").text
    assert b.post(f"/p/{slug}/domains/{domain.id}/delete").status_code == 200


def test_members_cannot_reach_domains(make_client, db):
    admin = browser(make_client, db)
    slug = new_project(admin)
    member = browser(make_client, db, "member", workspace=admin.who)
    assert member.get(f"/p/{slug}/domains").status_code == 403
    assert member.post(f"/p/{slug}/domains", {"domain": "mail.acme.test"}).status_code == 403
    with db.session() as session:
        assert session.scalars(select(Domain)).all() == []
    # Templates are everyone's, like in the API.
    assert member.get(f"/p/{slug}/templates").status_code == 200


def test_logo_width_and_alt_text_preview_and_save(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    url = b.post(f"/p/{slug}/templates", {"name": "Newsletter"}).headers["hx-redirect"]
    assert 'name="logo_width"' not in b.get(url).text  # no logo, nothing to size
    csrf = {"X-CSRF-Token": b.csrf, "HX-Request": "true"}
    b.client.post(f"{url}/logo", files={"file": ("logo.png", PNG, "image/png")}, headers=csrf)
    page = b.get(url).text
    assert 'name="logo_width"' in page and 'value="120"' in page and 'name="logo_alt"' in page
    fields = {"name": "Newsletter", "background": "#ffffff", "content": "#ffffff",
              "text": "#111111", "accent": "#4f46e5", "font": "system", "align": "center",
              "footer_text": "", "footer_address": "", "logo_width": "200",
              "logo_alt": "Acme & Co"}
    preview = html.unescape(b.post(f"{url}/preview", fields).text)  # the iframe's srcdoc
    assert 'alt="Acme &amp; Co"' in preview and re.search(r'width="200(px)?"', preview)
    for width in ("15", "601", "wide"):
        bad = b.post(url, {**fields, "logo_width": width})
        assert bad.status_code == 400 and 'id="e-logo_width"' in bad.text, width
    long = b.post(url, {**fields, "logo_alt": "x" * 201})
    assert long.status_code == 400 and 'id="e-logo_alt"' in long.text
    assert b.post(url, fields).headers["hx-redirect"].endswith("?saved=1")
    logo = _templates(db)["Newsletter"].design["logo"]
    assert logo["width"] == 200 and logo["alt"] == "Acme & Co" and logo["url"].startswith("http")
