"""Dashboard pages over 1,000,000 contacts, on SQLite and PostgreSQL.

Loads N contacts (and N/10 accounts, M events) by bulk insert with the
loaders of bench/segments.py, adds a signed-in owner, a saved segment and a
broadcast, refreshes the cached contact totals once (as the worker's
periodic job does), then requests each main page through the real app
(in-process ASGI: routing, the session cookie, the page's queries and the
Jinja2 render; no socket) and prints the p50/p95 server time per page and
the machine. Targets (DESIGN §8): p95 <= 300 ms on SQLite, <= 150 ms on
PostgreSQL.

    python bench/dashboard.py                              # 1 M contacts, both databases
    python bench/dashboard.py --contacts 100000 --db sqlite --requests 20

Generated databases are kept and reused: bench/out/dashboard-<N>-<M>.db and
the PostgreSQL database letter_bench_dashboard_<N>_<M> (at --pg-url).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fastapi.testclient import TestClient  # noqa: E402
from segments import OUT, PROJECT_ID, WORKSPACE_ID, load_sqlite, pg_database  # noqa: E402
from sqlalchemy import bindparam, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from letter.app import create_app  # noqa: E402
from letter.audience.models import ContactList, ListMember, Topic, TopicSubscription  # noqa: E402
from letter.auth.models import Membership, User  # noqa: E402
from letter.auth.security import hash_password  # noqa: E402
from letter.broadcasts import service as broadcasts  # noqa: E402
from letter.clock import utcnow  # noqa: E402
from letter.contacts.counts import recount  # noqa: E402
from letter.contacts.models import Contact  # noqa: E402
from letter.db.engine import Database, make_engine  # noqa: E402
from letter.db.pagination import PageParams  # noqa: E402
from letter.runtime import Runtime  # noqa: E402
from letter.segments import service as segments  # noqa: E402
from letter.segments.models import Segment  # noqa: E402
from letter.settings import Settings  # noqa: E402
from letter.templates.service import create_default_template  # noqa: E402

EMAIL = "bench@example.com"
PASSWORD = "bench password 1"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
CURSOR = re.compile(r'cursor=([A-Za-z0-9_-]+)"')


def prepare(db: Database) -> dict[str, str]:
    """The owner, a segment, a broadcast and fresh totals (idempotent)."""
    with db.session() as session:
        if session.scalar(select(User).where(User.email == EMAIL)) is None:
            user = User(email=EMAIL, password_hash=hash_password(PASSWORD))
            session.add(user)
            session.flush()
            session.add(Membership(workspace_id=WORKSPACE_ID, user_id=user.id, role="owner"))
            create_default_template(session, PROJECT_ID)
            segments.create_segment(
                session,
                PROJECT_ID,
                "Pro",
                {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"},
            )
            broadcasts.create_broadcast(
                session, PROJECT_ID, from_email="hi@bench.test", name="Launch", subject="Hello"
            )
            audience(session)
        segment = session.scalars(select(Segment).where(Segment.project_id == PROJECT_ID)).one()
        segments.recount(session, segment)
        recount(session, PROJECT_ID)
        broadcast = broadcasts.list_broadcasts(session, PROJECT_ID, PageParams(limit=1)).items[0]
        in_list = session.scalars(select(ContactList.id)).one()
        topic = session.scalars(select(Topic.id)).one()
        return {
            "segment": str(segment.id),
            "broadcast": str(broadcast.id),
            "list": str(in_list),
            "topic": str(topic),
        }


def audience(session: Session) -> None:
    """A list holding one contact in ten, and an opt_in topic one in a hundred left."""
    in_list = ContactList(project_id=PROJECT_ID, name="Customers")
    topic = Topic(project_id=PROJECT_ID, name="Product news", default="opt_in")
    session.add_all([in_list, topic])
    session.flush()
    now = bindparam("now", utcnow(), type_=ListMember.__table__.c.added_at.type)
    session.execute(
        insert(ListMember).from_select(
            ["project_id", "list_id", "contact_id", "added_at"],
            select(
                Contact.project_id,
                bindparam("l", in_list.id, type_=ListMember.__table__.c.list_id.type),
                Contact.id,
                now,
            ).where(Contact.external_id.like("%0")),
        )
    )
    session.execute(
        insert(TopicSubscription).from_select(
            ["project_id", "topic_id", "contact_id", "subscribed", "updated_at"],
            select(
                Contact.project_id,
                bindparam("t", topic.id, type_=TopicSubscription.__table__.c.topic_id.type),
                Contact.id,
                bindparam("no", False),
                now,
            ).where(Contact.external_id.like("%05")),
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        # As autovacuum would soon after such a load: plans need the new rows' statistics.
        session.execute(text("ANALYZE list_members, topic_subscriptions"))


def signed_in(client: TestClient) -> None:
    page = client.get("/sign-in")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    done = client.post(
        "/sign-in",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def pages(client: TestClient, ids: dict[str, str], contacts: int) -> dict[str, str]:
    base = "/p/bench"
    first = client.get(f"{base}/contacts").text
    cursor = CURSOR.search(first).group(1)  # type: ignore[union-attr]
    middle = contacts // 2
    return {
        "projects (/)": "/",
        "overview": base,
        "contacts, first page": f"{base}/contacts",
        "contacts, next page": f"{base}/contacts?cursor={cursor}",
        "contacts, status=unsubscribed": f"{base}/contacts?status=unsubscribed",
        "contacts, search a user id": f"{base}/contacts?q=user_{middle}",
        "contacts, search an email prefix": f"{base}/contacts?q=user{middle}%40",
        "contacts, in a segment": f"{base}/contacts?segment={ids['segment']}",
        "contacts, in a list": f"{base}/contacts?list={ids['list']}",
        "contacts, subscribed to a topic": f"{base}/contacts?topic={ids['topic']}",
        "contact page": f"{base}/contact?id=user_{middle}",
        "accounts": f"{base}/accounts",
        "account page": f"{base}/account?id=acct_7",
        "events": f"{base}/events",
        "events named Signed In": f"{base}/events?name=Signed%20In",
        "segments": f"{base}/segments",
        "segment builder": f"{base}/segments/{ids['segment']}",
        "broadcasts": f"{base}/broadcasts",
        "broadcast composer": f"{base}/broadcasts/{ids['broadcast']}",
        "templates": f"{base}/templates",
        "imports": f"{base}/imports",
        "exports": f"{base}/exports",
        "settings": f"{base}/settings",
        "traits (newest 1,000)": f"{base}/traits",
    }


def measure(client: TestClient, url: str, n: int) -> list[float]:
    for _ in range(2):
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def run(kind: str, url: str, contacts: int, n: int, target: float) -> None:
    db = Database(make_engine(url))
    ids = prepare(db)
    settings = Settings.from_env(
        {
            "LETTER_DATA_DIR": str(OUT / "dashboard-data"),
            "LETTER_SECRET_KEY": "bench",
            "LETTER_DATABASE_URL": url,
        }
    )
    client = TestClient(create_app(runtime=Runtime.build(settings, db=db)))
    signed_in(client)
    print(f"\n{kind}: {contacts:,} contacts, {n} requests a page (after 2 warm-ups)")
    print(f"  {'page':36} {'p50 ms':>8} {'p95 ms':>8}")
    worst = 0.0
    for name, path in pages(client, ids, contacts).items():
        times = sorted(measure(client, path, n))
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        worst = max(worst, p95)
        flag = "" if p95 <= target else "  over target"
        print(f"  {name:36} {statistics.median(times):8.1f} {p95:8.1f}{flag}", flush=True)
    print(
        f"  worst p95 {worst:.1f} ms; target <= {target:.0f} ms: "
        f"{'met' if worst <= target else 'NOT met'}"
    )
    db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LETTER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    print(describe())
    OUT.mkdir(exist_ok=True)
    if args.db in ("sqlite", "both"):
        path = OUT / f"dashboard-{args.contacts}-{args.events}.db"
        if not path.exists():
            print(f"generating {path} ...", flush=True)
            started = time.perf_counter()
            partial = path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            load_sqlite(partial, args.contacts, args.events)
            partial.rename(path)
            print(f"  loaded in {time.perf_counter() - started:.0f}s", flush=True)
        run("SQLite", f"sqlite:///{path}", args.contacts, args.requests, 300)
    if args.db in ("postgresql", "both"):
        name = f"letter_bench_dashboard_{args.contacts}_{args.events}"
        url = pg_database(args.pg_url, name, args.contacts, args.events)
        run("PostgreSQL", url, args.contacts, args.requests, 150)


if __name__ == "__main__":
    main()
