"""CSV imports through the API: what a finished import did to the audience,
its counts, dedupe update vs skip (spec/001), status words, email-only
contacts, lists and topics, and the notice email."""

from __future__ import annotations

from sqlalchemy import select

from letter.audience.models import ContactList, ListMember, Topic, TopicSubscription
from letter.contacts.models import Contact
from letter.delivery.models import Message
from letter.ids import uuid7
from letter.projects.models import Project
from tests.imports.support import BASE, contact_count, import_csv, run_jobs, upload

MAPPING = {"Email": "email", "User": "external_id", "Plan": "traits.plan",
           "City": "traits.address.city", "Status": "status"}


def contact(client, owner, ident: str) -> dict:
    found = client.get(f"{BASE}/{ident}", headers=owner.headers)
    assert found.status_code == 200, found.text
    return found.json()


def test_an_import_creates_contacts_and_reports_its_counts(client, owner, project):
    csv = (b"User,Email,Plan,City,Status\n"
           b"u1,ada@example.com,pro,Paris,subscribed\n"
           b"u2,Grace@Example.COM,free,,Opted-Out\n"
           b",lin@example.com,team,Lyon,\n")
    job = import_csv(client, owner.headers, csv, MAPPING, rowCount="3")
    assert job["status"] == "completed"
    assert (job["total"], job["processed"], job["created"], job["updated"], job["skipped"],
            job["failed"]) == (3, 3, 3, 0, 0, 0)
    assert (job["encoding"], job["delimiter"], job["has_header"], job["row_count"]) == (
        "utf-8", ",", True, 3)
    ada = contact(client, owner, "u1")
    assert ada["email"] == "ada@example.com"
    assert ada["traits"] == {"plan": "pro", "address": {"city": "Paris"}}
    assert ada["unsubscribed_at"] is None
    grace = contact(client, owner, "u2")
    assert grace["email"] == "Grace@example.com"
    assert grace["traits"] == {"plan": "free"}  # an empty cell sets nothing
    assert (grace["unsubscribed_at"] is not None, grace["unsubscribe_reason"]) == (True, "import")
    # An email-only row is a contact without an external id, addressed by its email.
    lin = contact(client, owner, "lin@example.com")
    assert (lin["external_id"], lin["traits"]) == (None, {"plan": "team",
                                                          "address": {"city": "Lyon"}})


def test_update_merges_like_identify_and_skip_leaves_existing_untouched(client, owner, project):
    first = b"User,Email,Plan,City\nu1,ada@example.com,free,Paris\nu2,bob@example.com,free,Rome\n"
    import_csv(client, owner.headers, first, {"User": "external_id", "Email": "email",
                                              "Plan": "traits.plan",
                                              "City": "traits.address.city"})
    again = (b"User,Email,Plan,Zip\n"
             b"u1,ada@example.com,pro,75001\n"
             b"u3,cy@example.com,team,1000\n"
             b"u3,cy@example.com,scale,2000\n")
    mapping = {"User": "external_id", "Email": "email", "Plan": "traits.plan",
               "Zip": "traits.address.zip"}
    skip = import_csv(client, owner.headers, again, mapping, dedupe="skip")
    assert (skip["created"], skip["updated"], skip["skipped"], skip["processed"]) == (1, 0, 2, 3)
    assert contact(client, owner, "u1")["traits"] == {"plan": "free",
                                                      "address": {"city": "Paris"}}
    assert contact(client, owner, "u3")["traits"]["plan"] == "team"  # first row wins
    update = import_csv(client, owner.headers, again, mapping, dedupe="update")
    assert (update["created"], update["updated"], update["skipped"]) == (0, 3, 0)
    # Deep merge: the city stays, the zip joins it; the last duplicate wins.
    assert contact(client, owner, "u1")["traits"] == {
        "plan": "pro", "address": {"city": "Paris", "zip": "75001"}}
    assert contact(client, owner, "u3")["traits"] == {"plan": "scale",
                                                      "address": {"zip": "2000"}}
    assert contact(client, owner, "u2")["traits"]["plan"] == "free"


def test_duplicates_within_one_file_are_each_counted(client, owner, project):
    csv = b"email,plan\nada@example.com,free\nADA@example.com,pro\nada@example.com,team\n"
    update = import_csv(client, owner.headers, csv, {"email": "email", "plan": "traits.plan"})
    assert (update["created"], update["updated"], update["processed"]) == (1, 2, 3)
    assert contact(client, owner, "ada@example.com")["traits"] == {"plan": "team"}
    assert contact_count(client) == 1


def test_status_words_and_which_suppressions_an_import_may_lift(client, owner, project):
    csv = (b"id,status\n"
           b"a,Unsubscribed\nb,cleaned\nc,do not email\nd,active\ne,YES\nf,pending\n")
    job = import_csv(client, owner.headers, csv, {"id": "external_id", "status": "status"})
    assert (job["created"], job["failed"]) == (5, 1)
    reasons = {x: contact(client, owner, x)["unsubscribe_reason"] for x in "abcde"}
    assert reasons == {"a": "import", "b": "import", "c": "import", "d": None, "e": None}
    # A person's own unsubscribe is not lifted by a file saying "subscribed";
    # a suppression an import made is.
    assert client.post(f"{BASE}/d/suppress", headers=owner.headers).status_code == 204
    back = import_csv(client, owner.headers, b"id,status\na,subscribed\nd,subscribed\n",
                      {"id": "external_id", "status": "status"})
    assert back["updated"] == 2
    assert contact(client, owner, "a")["unsubscribed_at"] is None
    assert contact(client, owner, "d")["unsubscribe_reason"] == "manual"


def test_an_external_id_claims_the_contact_imported_by_email(client, owner, project):
    import_csv(client, owner.headers, b"email,plan\nada@example.com,free\n",
               {"email": "email", "plan": "traits.plan"})
    job = import_csv(client, owner.headers, b"id,email,team\nu1,ADA@example.com,core\n",
                     {"id": "external_id", "email": "email", "team": "traits.team"})
    assert (job["created"], job["updated"]) == (0, 1)
    assert contact(client, owner, "u1")["traits"] == {"plan": "free", "team": "core"}
    assert contact_count(client) == 1
    # An email-only row now finds the contact that has that email and an id.
    job = import_csv(client, owner.headers, b"email,plan\nada@example.com,pro\n",
                     {"email": "email", "plan": "traits.plan"})
    assert (job["created"], job["updated"]) == (0, 1)
    assert contact(client, owner, "u1")["traits"]["plan"] == "pro"


def test_timezones_accounts_and_row_errors(client, owner, project):
    csv = (b"id,email,tz,org\n"
           b"u1,ada@example.com,Europe/Paris,acme\n"
           b"u2,bob@example.com,Mars/Olympus,acme\n"
           b"u3,,,\n"
           b",,,\n"
           b"imports,x@example.com,,\n")
    job = import_csv(client, owner.headers, csv, {"id": "external_id", "email": "email",
                                                  "tz": "timezone",
                                                  "org": "account.external_id"})
    assert (job["created"], job["failed"], job["total"]) == (2, 3, 5)
    detail = client.get(f"{BASE}/u1", headers=owner.headers).json()
    assert (detail["timezone"], detail["account"]["external_id"]) == ("Europe/Paris", "acme")
    assert client.get(f"{BASE}/u3", headers=owner.headers).json()["account"] is None


def test_lists_topics_and_opt_in_topics_for_new_contacts(client, owner, project, db):
    import_csv(client, owner.headers, b"id\nold\n", {"id": "external_id"})
    with db.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.slug == "acme"))
        vip = ContactList(id=uuid7(), project_id=project_id, name="VIP")
        news = Topic(id=uuid7(), project_id=project_id, name="News", default="opt_out")
        tips = Topic(id=uuid7(), project_id=project_id, name="Tips", default="opt_in")
        session.add_all([vip, news, tips])
        session.flush()
        ids = (str(vip.id), str(news.id), str(tips.id))
    job = import_csv(client, owner.headers, b"id\nold\nnew\n", {"id": "external_id"},
                     lists=f'["{ids[0]}"]', topics=ids[1])
    assert (job["lists"], job["topics"]) == ([ids[0]], [ids[1]])
    with db.session() as session:
        by_id = {c.id: c.external_id for c in session.scalars(select(Contact))}
        members = {by_id[m.contact_id] for m in session.scalars(select(ListMember))}
        subs = {(by_id[s.contact_id], str(s.topic_id)) for s in
                session.scalars(select(TopicSubscription).where(TopicSubscription.subscribed))}
    assert members == {"old", "new"}
    # Both joined the import's topic; only the new one joined the opt_in topic.
    assert subs == {("old", ids[1]), ("new", ids[1]), ("new", ids[2])}
    unknown = upload(client, owner.headers, b"id\nx\n", {"id": "external_id"},
                     lists=str(uuid7()))
    assert unknown.status_code == 400 and "lists" in unknown.json()["error"]["message"]


def test_the_user_who_started_it_gets_an_email_with_the_counts(client, owner, project, db):
    job = import_csv(client, owner.headers, b"email\nada@example.com\nnope\n", {"email": "email"})
    with db.session() as session:
        notices = list(session.scalars(select(Message).where(Message.to_email == owner.email)))
    assert len(notices) == 1
    notice = notices[0]
    assert notice.subject == "Your import of people.csv completed"
    values = notice.data["values"]
    assert (values["created"], values["failed"], values["import_id"]) == (1, 1, job["id"])
    assert values["report_link"].startswith("http://letter.test/v1/downloads/")


def test_recent_imports_newest_first_and_cancel(client, owner, project):
    first = upload(client, owner.headers, b"email\na@example.com\n", {"email": "email"}).json()
    second = upload(client, owner.headers, b"email\nb@example.com\n", {"email": "email"}).json()
    listed = client.get(f"{BASE}/imports", headers=owner.headers).json()["data"]
    assert [i["id"] for i in listed] == [second["id"], first["id"]]
    cancelled = client.post(f"{BASE}/imports/{second['id']}/cancel", headers=owner.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    run_jobs(client)
    done = client.get(f"{BASE}/imports/{second['id']}", headers=owner.headers).json()
    assert (done["status"], done["processed"]) == ("cancelled", 0)
    again = client.post(f"{BASE}/imports/{second['id']}/cancel", headers=owner.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert contact_count(client) == 1


def test_a_later_identify_claims_the_contact_imported_by_email(client, owner, project):
    import_csv(client, owner.headers, b"email,plan\nAda@Example.com,free\n",
               {"email": "email", "plan": "traits.plan"})
    key = client.post("/v1/projects/acme/keys", json={"name": "srv"},
                      headers=owner.headers).json()["key"]
    done = client.post("/v1/identify", headers={"Authorization": f"Bearer {key}"}, json={
        "user_id": "u1", "email": "ada@example.com", "traits": {"team": "core"}})
    assert done.status_code == 200, done.text
    ada = contact(client, owner, "u1")
    assert ada["traits"] == {"plan": "free", "team": "core"}
    assert contact_count(client) == 1
