"""Deliverability, scored: the emails Letter sends — the plain and branded
templates, a sequence email and a broadcast — as they reach a real SMTP
server (headers, DKIM, List-Unsubscribe, text part) are scored by Debian's
SpamAssassin with its shipped rules, and checked against the Gmail/Yahoo
bulk-sender requirements by construction."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
from email import policy
from typing import Any

import dkim
import pytest

from letter.contacts.models import Contact
from tests.broadcasts.support import drain_all, run_broadcast_jobs, start_broadcast
from tests.delivery.conftest import doc
from tests.delivery.test_end_to_end import send, setup_domain
from tests.sequences.conftest import SIGNED_UP, Flows, chain, node
from tests.sequences.conftest import email as email_node
from tests.servers import dkim_dnsfunc

MAX_SCORE = 1.0
SPAMASSASSIN = shutil.which("spamassassin")
needs_spamassassin = pytest.mark.skipif(
    SPAMASSASSIN is None and not os.environ.get("LETTER_REQUIRE_SPAMASSASSIN"),
    reason="Debian's spamassassin is not installed (CI installs it)")


def score(raw: bytes) -> tuple[float, list[str]]:
    """SpamAssassin's score and the rules that fired, local tests only."""
    assert SPAMASSASSIN, "spamassassin is required here (LETTER_REQUIRE_SPAMASSASSIN)"
    done = subprocess.run([SPAMASSASSIN, "--local", "--test-mode"], input=raw,
                          capture_output=True, timeout=120, check=True)
    status = email.message_from_bytes(done.stdout, policy=policy.default)["X-Spam-Status"]
    flat = " ".join(str(status).split())
    found = re.search(r"score=(-?[\d.]+) .*tests=(\S*)", flat)
    assert found, flat
    return float(found.group(1)), [t for t in found.group(2).split(",") if t and t != "none"]


def check_bulk_sender_rules(raw: bytes, dns_server: Any) -> None:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    from_domain = parsed["From"].addresses[0].domain
    tags = dict(t.strip().split("=", 1) for t in parsed["DKIM-Signature"].split(";") if "=" in t)
    assert tags["d"] == from_domain  # aligned DKIM
    assert dkim.verify(raw, dnsfunc=dkim_dnsfunc(dns_server.address))
    signed = set(tags["h"].replace(" ", "").split(":"))
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "to", "subject",
            "date", "message-id"} <= signed
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.match(r"<https?://[^>]+>, <mailto:[^>]+>", parsed["List-Unsubscribe"])
    assert parsed.get_body(("plain",)) is not None and parsed.get_body(("html",)) is not None


def sent_mail(api: Any, owner: Any, project_row: Any, make_contact: Any, runtime: Any,
              smtp: Any, dns_server: Any, db: Any) -> dict[str, bytes]:
    slug = project_row.slug
    setup_domain(api, owner, slug, dns_server)
    make_contact("ada@example.com", external_id="u1", traits={
        "name": "Ada", "plan": "pro", "evil": "-"})
    mails: dict[str, bytes] = {}

    send(api, owner, slug)  # the project's default template: branded
    drain_all(runtime)
    mails["branded"] = smtp.messages[-1].data

    plain = api.post(f"/v1/projects/{slug}/templates", headers=owner.headers, json={
        "name": "Plain", "design": {"preset": "plain", "footer": {
            "text": "You get this because you use Acme.",
            "address": "Acme Inc, 1 Main St, Paris"}}})
    assert plain.status_code == 201, plain.text
    queued = api.post(f"/v1/projects/{slug}/messages", headers=owner.headers, json={
        "to": {"external_id": "u1"}, "subject": "Your weekly summary",
        "template_id": plain.json()["id"],
        "body_doc": doc("Hi Ada, here is what happened in your workspace this week.",
                        "Three teammates joined and you shipped two projects.")})
    assert queued.status_code == 202, queued.text
    drain_all(runtime)
    mails["plain"] = smtp.messages[-1].data

    key = api.post(f"/v1/projects/{slug}/keys", json={"name": "server"},
                   headers=owner.headers).json()["key"]
    flows = Flows(api, owner.headers, {"Authorization": f"Bearer {key}"}, slug, db)
    flows.create(chain(node("t", "trigger"),
                       email_node("e1", "Welcome to Acme, {{ contact.traits.name }}",
                                  "Thanks for signing up. Your workspace is ready.")),
                 SIGNED_UP)
    flows.track("u1", "Signed Up")
    flows.run()
    drain_all(runtime)
    mails["sequence"] = smtp.messages[-1].data

    start_broadcast(api, owner, slug, {"kind": "inline", "filter": {
        "kind": "trait", "path": "plan", "op": "eq", "value": "pro"}})
    run_broadcast_jobs(runtime)
    drain_all(runtime)
    mails["broadcast"] = smtp.messages[-1].data
    assert len(smtp.messages) == 4
    return mails


@needs_spamassassin
def test_every_kind_of_email_scores_low_and_meets_bulk_sender_rules(
        api, owner, project_row, make_contact, runtime, smtp, dns_server, db):
    mails = sent_mail(api, owner, project_row, make_contact, runtime, smtp, dns_server, db)
    report = {}
    for kind, raw in mails.items():
        check_bulk_sender_rules(raw, dns_server)
        report[kind] = score(raw)
    for kind, (points, rules) in report.items():
        print(f"{kind}: {points} {' '.join(rules)}")  # the rules that fired, in the test output
    assert all(points <= MAX_SCORE for points, _ in report.values()), report

    # One-click unsubscribe from the broadcast: honoured without a page, at once.
    parsed = email.message_from_bytes(mails["broadcast"], policy=policy.default)
    https = re.findall(r"<([^>]+)>", parsed["List-Unsubscribe"])[0]
    done = api.post(re.sub(r"^https?://[^/]+", "", https),
                    content=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and "<form" not in done.text
    with db.session() as session:
        assert session.query(Contact).filter_by(external_id="u1").one().unsubscribed_at
