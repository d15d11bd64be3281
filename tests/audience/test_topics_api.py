"""``/v1/projects/{slug}/topics`` and ``PUT …/contacts/{id}/topics/{topicId}``."""

from __future__ import annotations

import uuid

import pytest

from tests.audience.conftest import ingest
from tests.conftest import assert_error

TOPIC_FIELDS = {"id", "name", "description", "default", "visibility", "created_at",
                "updated_at"}


def base(project) -> str:
    return f"/v1/projects/{project['slug']}/topics"


def make_topic(client, owner, project, name="News", **extra):
    made = client.post(base(project), json={"name": name, **extra}, headers=owner.headers)
    assert made.status_code == 201, made.text
    return made.json()


def choose(client, owner, project, contact, topic_id, subscribed):
    return client.put(f"/v1/projects/{project['slug']}/contacts/{contact}/topics/{topic_id}",
                      json={"subscribed": subscribed}, headers=owner.headers)


def topics_of(client, owner, project, contact):
    body = client.get(f"/v1/projects/{project['slug']}/contacts/{contact}",
                      headers=owner.headers).json()
    return {t["name"]: (t["subscribed"], t["explicit"]) for t in body["topics"]}


def test_create_get_list_update_delete(client, owner, project):
    made = make_topic(client, owner, project, "News", description="Monthly")
    assert set(made) == TOPIC_FIELDS
    assert (made["default"], made["visibility"]) == ("opt_in", "public")
    hidden = make_topic(client, owner, project, "Internal", default="opt_out",
                        visibility="private")
    assert (hidden["default"], hidden["visibility"]) == ("opt_out", "private")
    listed = client.get(base(project), params={"limit": 1}, headers=owner.headers).json()
    assert [t["name"] for t in listed["data"]] == ["News"] and listed["next_cursor"]
    assert client.get(f"{base(project)}/{made['id']}", headers=owner.headers).json() == made
    patched = client.patch(f"{base(project)}/{made['id']}", headers=owner.headers,
                           json={"default": "opt_out", "visibility": "private",
                                 "description": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["default"], patched.json()["visibility"],
            patched.json()["description"]) == ("opt_out", "private", None)
    assert client.delete(f"{base(project)}/{made['id']}", headers=owner.headers
                         ).status_code == 204
    assert_error(client.get(f"{base(project)}/{made['id']}", headers=owner.headers), 404,
                 "not_found")


@pytest.mark.parametrize(("body", "status", "code"), [
    ({}, 400, "bad_request"), ({"name": ""}, 400, "bad_request"),
    ({"name": "x", "default": "maybe"}, 400, "bad_request"),
    ({"name": "x", "visibility": "secret"}, 400, "bad_request"),
    ({"name": "x", "default": None}, 400, "bad_request"),
    ({"name": "x", "colour": "red"}, 400, "bad_request"),
    ({"name": "Taken"}, 409, "conflict"),
])
def test_bad_topics_are_refused_and_create_nothing(client, owner, project, body, status, code):
    make_topic(client, owner, project, "Taken")
    assert_error(client.post(base(project), json=body, headers=owner.headers), status, code)
    assert len(client.get(base(project), headers=owner.headers).json()["data"]) == 1


def test_bad_updates_change_nothing(client, owner, project):
    made = make_topic(client, owner, project, "A")
    make_topic(client, owner, project, "B")
    url = f"{base(project)}/{made['id']}"
    for body, status in (({"name": None}, 400), ({"default": None}, 400),
                         ({"default": "x"}, 400), ({"visibility": None}, 400),
                         ({"name": "B"}, 409), ({"name": "  "}, 400)):
        assert_error(client.patch(url, json=body, headers=owner.headers), status,
                     "conflict" if status == 409 else "bad_request")
    assert client.get(url, headers=owner.headers).json() == made


def test_a_contacts_choice_and_the_topic_default(client, owner, project, people):
    news = make_topic(client, owner, project, "News")  # opt_in
    promo = make_topic(client, owner, project, "Promos", default="opt_out")
    # user_0 existed before the topics: it follows their defaults
    assert topics_of(client, owner, project, "user_0") == {
        "News": (True, False), "Promos": (False, False)}
    done = choose(client, owner, project, "user_0", promo["id"], True)
    assert done.status_code == 200, done.text
    assert done.json() == {"id": promo["id"], "name": "Promos", "default": "opt_out",
                           "subscribed": True, "explicit": True}
    assert choose(client, owner, project, "user_0", news["id"], False).status_code == 200
    assert topics_of(client, owner, project, "user_0") == {
        "News": (False, True), "Promos": (True, True)}
    # the default moves contacts without a choice only
    client.patch(f"{base(project)}/{news['id']}", json={"default": "opt_out"},
                 headers=owner.headers)
    assert topics_of(client, owner, project, "user_0")["News"] == (False, True)
    assert topics_of(client, owner, project, "user_1")["News"] == (False, False)
    preview = f"/v1/projects/{project['slug']}/segments/preview"
    node = {"kind": "topic", "topicId": promo["id"], "subscribed": True}
    assert client.post(preview, json={"filter": node}, headers=owner.headers).json() == {
        "matches": 1, "total": 5}


@pytest.mark.parametrize("body", [{}, {"subscribed": "yes"}, {"subscribed": None},
                                  {"subscribed": True, "x": 1}, []])
def test_bad_choices_are_400_and_change_nothing(client, owner, project, people, body):
    news = make_topic(client, owner, project, "News", default="opt_out")
    url = f"/v1/projects/{project['slug']}/contacts/user_0/topics/{news['id']}"
    assert_error(client.put(url, json=body, headers=owner.headers), 400, "bad_request")
    assert topics_of(client, owner, project, "user_0") == {"News": (False, False)}


def test_unknown_contact_or_topic_is_404(client, owner, project, people):
    news = make_topic(client, owner, project)
    assert_error(choose(client, owner, project, "nobody", news["id"], True), 404, "not_found")
    assert_error(choose(client, owner, project, "user_0", uuid.uuid4(), True), 404,
                 "not_found")
    assert_error(choose(client, owner, project, "user_0", "not-a-uuid", True), 400,
                 "bad_request")


def test_ids_with_a_slash_reach_the_contact(client, owner, project, ingest_headers):
    ingest(client, ingest_headers, {"type": "identify", "user_id": "team/ada",
                                    "email": "ada@example.com"})
    news = make_topic(client, owner, project, default="opt_out")
    assert choose(client, owner, project, "team%2Fada", news["id"], True).status_code == 200
    assert topics_of(client, owner, project, "team%2Fada") == {"News": (True, True)}


def test_a_topic_a_pending_broadcast_names_cannot_be_deleted(client, owner, project):
    news = make_topic(client, owner, project)
    broadcast = client.post(f"/v1/projects/{project['slug']}/broadcasts",
                            json={"name": "May", "topic_id": news["id"]}, headers=owner.headers)
    assert broadcast.status_code == 201, broadcast.text
    assert_error(client.delete(f"{base(project)}/{news['id']}", headers=owner.headers), 409,
                 "conflict")
    assert client.get(f"{base(project)}/{news['id']}", headers=owner.headers).status_code == 200
    client.delete(f"/v1/projects/{project['slug']}/broadcasts/{broadcast.json()['id']}",
                  headers=owner.headers)
    assert client.delete(f"{base(project)}/{news['id']}", headers=owner.headers
                         ).status_code == 204


def test_another_workspace_gets_404_on_every_route(client, owner, project, people,
                                                   make_account):
    news = make_topic(client, owner, project, default="opt_out")
    mine = f"{base(project)}/{news['id']}"
    stranger = make_account()
    theirs = client.post("/v1/projects", json={"name": "Other"}, headers=stranger.headers).json()
    other = f"/v1/projects/{theirs['slug']}/topics/{news['id']}"
    h = stranger.headers
    own_contact = f"/v1/projects/{project['slug']}/contacts/user_0/topics/{news['id']}"
    for response in (
        client.get(base(project), headers=h),
        client.post(base(project), json={"name": "x"}, headers=h),
        client.get(mine, headers=h), client.patch(mine, json={"name": "x"}, headers=h),
        client.delete(mine, headers=h),
        client.put(own_contact, json={"subscribed": True}, headers=h),
        client.get(other, headers=h), client.patch(other, json={"name": "x"}, headers=h),
        client.delete(other, headers=h),
    ):
        assert_error(response, 404, "not_found")
    # the stranger's own contact cannot name this project's topic
    ingest_key = client.post(f"/v1/projects/{theirs['slug']}/keys", json={"name": "k"},
                             headers=h).json()["key"]
    ingest(client, {"Authorization": f"Bearer {ingest_key}"},
           {"type": "identify", "user_id": "user_0", "email": "s@example.com"})
    assert_error(client.put(f"/v1/projects/{theirs['slug']}/contacts/user_0/topics/{news['id']}",
                            json={"subscribed": True}, headers=h), 404, "not_found")
    assert client.get(mine, headers=owner.headers).json() == news
    assert topics_of(client, owner, project, "user_0") == {"News": (False, False)}
