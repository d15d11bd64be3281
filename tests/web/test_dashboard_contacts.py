"""Contacts, a contact's page, accounts, events and traits in the dashboard."""

from __future__ import annotations

import re

from letter.contacts import counts
from letter.contacts.models import Contact
from tests.web.dash import browser, new_project

MINTED = re.compile(r'id="minted-token">([^<]+)<')


def _seed(b, slug, n=3):
    raw = MINTED.search(b.post(f"/p/{slug}/tokens", {"name": "t"}).text).group(1)
    batch = [{"type": "identify", "user_id": f"u{i}", "email": f"user{i}@Example.com",
              "traits": {"plan": "pro" if i % 2 else "free", "seats": i}} for i in range(n)]
    batch.append({"type": "group", "user_id": "u1", "account_id": "acme",
                  "traits": {"name": "Acme Inc"}})
    batch.append({"type": "track", "user_id": "u1", "event": "Signed In",
                  "properties": {"via": "sso"}})
    done = b.client.post("/v1/batch", json={"batch": batch},
                         headers={"Authorization": f"Bearer {raw}"})
    assert done.status_code == 200 and done.json()["accepted"] == n + 2, done.text
    return raw


def test_empty_contacts_say_how_to_send_some(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    page = b.get(f"/p/{slug}/contacts")
    assert page.status_code == 200 and "No contacts yet" in page.text
    assert "No accounts yet" in b.get(f"/p/{slug}/accounts").text
    assert "No events yet" in b.get(f"/p/{slug}/events").text
    assert "No traits yet" in b.get(f"/p/{slug}/traits").text


def test_list_search_filter_and_pages(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    _seed(b, slug, 5)
    page = b.get(f"/p/{slug}/contacts").text
    assert 'id="contacts-total">5<' in page and "user0@example.com" in page
    # Search is a prefix of the address in any case, or a whole user id.
    frag = b.get(f"/p/{slug}/contacts?q=USER3", headers={"HX-Request": "true"})
    assert "<html" not in frag.text and 'id="contacts-total">1<' in frag.text
    assert 'id="contacts-total">1<' in b.get(f"/p/{slug}/contacts?q=u4").text
    assert 'id="contacts-total">0<' in b.get(f"/p/{slug}/contacts?q=%25").text
    b.post(f"/p/{slug}/contact/suppress?id=u2")
    unsub = b.get(f"/p/{slug}/contacts?status=unsubscribed").text
    assert 'id="contacts-total">1<' in unsub and "user2@example.com" in unsub
    assert 'id="contacts-total">4<' in b.get(f"/p/{slug}/contacts?status=subscribed").text
    bad = b.get(f"/p/{slug}/contacts?status=gone")
    assert bad.status_code == 400 and "status: must be" in bad.text
    # Keyset pages of two.
    import letter.web.contacts as module
    module.PAGE, old = 2, module.PAGE
    try:
        first = b.get(f"/p/{slug}/contacts").text
        cursor = re.search(r'cursor=([A-Za-z0-9_-]+)"', first).group(1)
        second = b.get(f"/p/{slug}/contacts?cursor={cursor}").text
        emails = re.compile(r"(user\d)@example.com</a>")
        one, two = set(emails.findall(first)), set(emails.findall(second))
        assert len(one) == len(two) == 2 and not one & two
    finally:
        module.PAGE = old


def test_segment_filter_uses_the_cached_segment_count(make_client, db, client):
    b = browser(make_client, db)
    slug = new_project(b)
    _seed(b, slug, 4)
    from letter.projects.models import Project
    from letter.segments import service as segments
    with db.session() as session:
        project = session.query(Project).one()
        seg = segments.create_segment(session, project.id, "Pro",
                                      {"kind": "trait", "path": "plan", "op": "eq",
                                       "value": "pro"})
    page = b.get(f"/p/{slug}/contacts?segment={seg.id}").text
    assert 'id="contacts-total">2<' in page
    assert "user1@" in page and "user0@" not in page
    assert b.get(f"/p/{slug}/contacts?segment=nope").status_code == 404


def test_total_past_the_bound_comes_from_the_counter(make_client, db, monkeypatch):
    b = browser(make_client, db)
    slug = new_project(b)
    _seed(b, slug, 3)
    monkeypatch.setattr(counts, "BOUND", 2)
    page = b.get(f"/p/{slug}").text
    assert 'id="contact-total">2+<' in page  # not counted yet: a recount is queued
    from letter.jobs.models import Job
    with db.session() as session:
        job = session.query(Job).filter_by(kind=counts.RECOUNT_JOB).one()
        counts.recount(session, session.get(Contact, session.query(Contact.id).first()[0])
                       .project_id)
        session.delete(job)
    assert 'id="contact-total">3<' in b.get(f"/p/{slug}").text
    # Status totals come from the same counters past the bound.
    assert 'id="contacts-total">3<' in b.get(f"/p/{slug}/contacts?status=subscribed").text
    assert 'id="contacts-total">0<' in b.get(f"/p/{slug}/contacts?status=unsubscribed").text


def test_contact_page_suppress_resubscribe_account_events_traits(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    _seed(b, slug, 3)
    page = b.get(f"/p/{slug}/contact?id=u1")
    assert page.status_code == 200
    text = page.text
    assert "user1@example.com" in text and '"plan": "pro"' in text
    assert "Signed In" in text and "Acme Inc" in text and "subscribed" in text
    done = b.post(f"/p/{slug}/contact/suppress?id=u1")
    assert done.headers["hx-redirect"] == f"/p/{slug}/contact?id=u1"
    assert "Resubscribe" in b.get(f"/p/{slug}/contact?id=u1").text
    b.post(f"/p/{slug}/contact/resubscribe?id=u1")
    assert "Suppress" in b.get(f"/p/{slug}/contact?id=u1").text
    assert b.get(f"/p/{slug}/contact?id=nobody").status_code == 404
    assert "Acme Inc" in b.get(f"/p/{slug}/accounts").text
    assert "user1@example.com" in b.get(f"/p/{slug}/account?id=acme").text
    events = b.get(f"/p/{slug}/events?name=Signed%20In").text
    assert "Signed In" in events and "sso" in events
    traits = b.get(f"/p/{slug}/traits").text
    assert "<code>plan</code>" in traits and "<code>account.name</code>" in traits


def test_another_workspaces_contacts_are_404(make_client, db):
    theirs = browser(make_client, db)
    slug = new_project(theirs, "Theirs")
    _seed(theirs, slug, 1)
    ours = browser(make_client, db)
    new_project(ours, "Ours")
    for url in ("/p/theirs/contacts", "/p/theirs/contact?id=u0", "/p/theirs/events",
                "/p/ours/contact?id=u0"):
        assert ours.get(url).status_code == 404, url
    assert ours.post("/p/theirs/contact/suppress?id=u0").status_code == 404


def test_traits_page_reads_the_newest_contacts_only(make_client, db, monkeypatch):
    import letter.web.contacts as module

    b = browser(make_client, db)
    slug = new_project(b)
    _seed(b, slug, 3)
    monkeypatch.setattr(module, "TRAITS_SAMPLE", 1)
    page = b.get(f"/p/{slug}/traits").text
    assert "newest 1 contacts" in page
    assert re.search(r"<code>plan</code>.*?1 contacts", page, re.S)
