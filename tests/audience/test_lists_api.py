"""``/v1/projects/{slug}/lists``: lists, members, bad input and tenancy."""

from __future__ import annotations

import uuid

import pytest

from tests.audience.conftest import send_to_email
from tests.conftest import assert_error

LIST_FIELDS = {"id", "name", "description", "created_at", "updated_at"}


def base(project) -> str:
    return f"/v1/projects/{project['slug']}/lists"


def make_list(client, owner, project, name="Beta", **extra):
    made = client.post(base(project), json={"name": name, **extra}, headers=owner.headers)
    assert made.status_code == 201, made.text
    return made.json()


def members_of(client, owner, project, list_id, limit=100):
    body = client.get(f"{base(project)}/{list_id}/members", params={"limit": limit},
                      headers=owner.headers).json()
    return sorted(c["external_id"] or c["email"] for c in body["data"])


def test_create_get_list_update_delete(client, owner, project):
    made = make_list(client, owner, project, "Beta", description="Early users")
    assert set(made) == LIST_FIELDS and made["description"] == "Early users"
    for i in range(3):
        make_list(client, owner, project, f"L{i}")
    first = client.get(base(project), params={"limit": 2}, headers=owner.headers).json()
    second = client.get(base(project), params={"limit": 2, "cursor": first["next_cursor"]},
                        headers=owner.headers).json()
    assert [x["name"] for x in first["data"] + second["data"]] == ["Beta", "L0", "L1", "L2"]
    assert second["next_cursor"] is None
    got = client.get(f"{base(project)}/{made['id']}", headers=owner.headers).json()
    assert got == {**made, "member_count": 0}
    patched = client.patch(f"{base(project)}/{made['id']}", json={"name": "Beta 2",
                           "description": None}, headers=owner.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Beta 2" and patched.json()["description"] is None
    assert client.delete(f"{base(project)}/{made['id']}", headers=owner.headers
                         ).status_code == 204
    assert_error(client.get(f"{base(project)}/{made['id']}", headers=owner.headers), 404,
                 "not_found")


def test_add_and_remove_members_by_external_id_and_email(client, owner, project, people):
    made = make_list(client, owner, project)
    url = f"{base(project)}/{made['id']}/members"
    added = client.post(url, json={"external_ids": ["user_0", "user_1", "nobody", "user_0"]},
                        headers=owner.headers)
    assert added.status_code == 200, added.text
    assert added.json() == {"added": 2, "already_members": 0, "not_found": ["nobody"]}
    by_email = client.post(url, json={"emails": ["USER_1@Example.com", "user_2@example.com",
                                                 "ghost@example.com"]}, headers=owner.headers)
    assert by_email.json() == {"added": 1, "already_members": 1,
                               "not_found": ["ghost@example.com"]}
    assert members_of(client, owner, project, made["id"]) == ["user_0", "user_1", "user_2"]
    page = client.get(url, params={"limit": 2}, headers=owner.headers).json()
    assert len(page["data"]) == 2 and page["next_cursor"]
    assert client.get(f"{base(project)}/{made['id']}", headers=owner.headers
                      ).json()["member_count"] == 3
    assert client.delete(f"{url}/user_1", headers=owner.headers).status_code == 204
    # by email too, and a contact not on the list is left as it is
    assert client.delete(f"{url}/user_2@example.com", headers=owner.headers).status_code == 204
    assert client.delete(f"{url}/user_3", headers=owner.headers).status_code == 204
    assert members_of(client, owner, project, made["id"]) == ["user_0"]
    assert_error(client.delete(f"{url}/nobody", headers=owner.headers), 404, "not_found")


def test_email_only_contacts_are_addressed_by_email(client, owner, project):
    send_to_email(client, owner, project["slug"], "solo@example.com")
    made = make_list(client, owner, project)
    url = f"{base(project)}/{made['id']}/members"
    assert client.post(url, json={"emails": ["solo@example.com"]}, headers=owner.headers
                       ).json()["added"] == 1
    assert members_of(client, owner, project, made["id"]) == ["solo@example.com"]
    contact = client.get(f"/v1/projects/{project['slug']}/contacts/solo@example.com",
                         headers=owner.headers).json()
    assert contact["external_id"] is None
    assert contact["lists"] == [{"id": made["id"], "name": "Beta"}]
    assert client.delete(f"{url}/Solo@Example.com", headers=owner.headers).status_code == 204
    assert members_of(client, owner, project, made["id"]) == []


@pytest.mark.parametrize("body", [
    {}, {"external_ids": []}, {"emails": []}, {"external_ids": ["a"], "emails": ["a@b.co"]},
    {"emails": ["not an email"]}, {"external_ids": [""]}, {"external_ids": "user_0"},
    {"external_ids": [f"u{i}" for i in range(1001)]}, {"external_ids": ["user_0"], "x": 1},
    {"external_ids": [None]},
])
def test_bad_member_requests_are_400_and_add_nobody(client, owner, project, people, body):
    made = make_list(client, owner, project)
    url = f"{base(project)}/{made['id']}/members"
    assert_error(client.post(url, json=body, headers=owner.headers), 400, "bad_request")
    assert members_of(client, owner, project, made["id"]) == []


@pytest.mark.parametrize(("body", "status", "code"), [
    ({}, 400, "bad_request"), ({"name": ""}, 400, "bad_request"),
    ({"name": "   "}, 400, "bad_request"), ({"name": "x" * 201}, 400, "bad_request"),
    ({"name": "ok", "extra": 1}, 400, "bad_request"), ({"name": 5}, 400, "bad_request"),
    ({"name": "Taken"}, 409, "conflict"),
])
def test_bad_lists_are_refused_and_create_nothing(client, owner, project, body, status, code):
    make_list(client, owner, project, "Taken")
    assert_error(client.post(base(project), json=body, headers=owner.headers), status, code)
    assert [x["name"] for x in client.get(base(project), headers=owner.headers).json()["data"]
            ] == ["Taken"]


def test_bad_updates_change_nothing(client, owner, project):
    made = make_list(client, owner, project, "A")
    make_list(client, owner, project, "B")
    url = f"{base(project)}/{made['id']}"
    for body, status in (({"name": None}, 400), ({"name": ""}, 400), ({"name": "B"}, 409),
                         ({"description": 5}, 400)):
        assert client.patch(url, json=body, headers=owner.headers).status_code == status
    after = client.get(url, headers=owner.headers).json()
    assert after["name"] == "A" and after["updated_at"] == made["updated_at"]
    assert_error(client.get(f"{base(project)}/not-a-uuid", headers=owner.headers), 400,
                 "bad_request")
    assert_error(client.get(f"{base(project)}/{uuid.uuid4()}", headers=owner.headers), 404,
                 "not_found")


def test_another_workspace_gets_404_on_every_route(client, owner, project, people,
                                                   make_account):
    made = make_list(client, owner, project)
    mine = f"{base(project)}/{made['id']}"
    client.post(f"{mine}/members", json={"external_ids": ["user_0"]}, headers=owner.headers)
    stranger = make_account()
    theirs = client.post("/v1/projects", json={"name": "Other"}, headers=stranger.headers).json()
    other = f"/v1/projects/{theirs['slug']}/lists/{made['id']}"
    h = stranger.headers
    for response in (
        client.get(base(project), headers=h), client.post(base(project), json={"name": "x"},
                                                          headers=h),
        client.get(mine, headers=h), client.patch(mine, json={"name": "x"}, headers=h),
        client.delete(mine, headers=h), client.get(f"{mine}/members", headers=h),
        client.post(f"{mine}/members", json={"external_ids": ["user_1"]}, headers=h),
        client.delete(f"{mine}/members/user_0", headers=h),
        # the list id under the stranger's own project is unknown there
        client.get(other, headers=h), client.patch(other, json={"name": "x"}, headers=h),
        client.delete(other, headers=h), client.get(f"{other}/members", headers=h),
        client.post(f"{other}/members", json={"external_ids": ["user_1"]}, headers=h),
        client.delete(f"{other}/members/user_0", headers=h),
    ):
        assert_error(response, 404, "not_found")
    assert client.get(mine, headers=owner.headers).json()["member_count"] == 1


def test_members_may_manage_lists_and_a_token_is_required(client, owner, project, people,
                                                          make_account):
    member = make_account(role="member", workspace=owner)
    made = make_list(client, member, project)
    added = client.post(f"{base(project)}/{made['id']}/members",
                        json={"external_ids": ["user_0"]}, headers=member.headers)
    assert added.status_code == 200
    assert_error(client.get(base(project)), 401, "unauthorized")
    assert_error(client.post(base(project), json={"name": "x"}), 401, "unauthorized")


def test_create_is_idempotent_with_a_key(client, owner, project):
    headers = {**owner.headers, "Idempotency-Key": "list-1"}
    first = client.post(base(project), json={"name": "Once"}, headers=headers)
    again = client.post(base(project), json={"name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == again.json()
    assert len(client.get(base(project), headers=owner.headers).json()["data"]) == 1


def test_filters_name_lists_of_this_project_only(client, owner, project, people, make_account):
    made = make_list(client, owner, project)
    client.post(f"{base(project)}/{made['id']}/members", json={"external_ids": ["user_0"]},
                headers=owner.headers)
    preview = f"/v1/projects/{project['slug']}/segments/preview"
    node = {"kind": "list", "listId": made["id"], "member": True}
    assert client.post(preview, json={"filter": node}, headers=owner.headers).json() == {
        "matches": 1, "total": 5}
    stranger = make_account()
    theirs = client.post("/v1/projects", json={"name": "Other"}, headers=stranger.headers).json()
    error = assert_error(client.post(f"/v1/projects/{theirs['slug']}/segments", json={
        "name": "x", "filter": {"kind": "group", "op": "and", "children": [node]}},
        headers=stranger.headers), 400, "bad_request")
    assert error["error"]["message"] == (
        f"filter.children[0].listId: no list {made['id']} in this project")
    segments = client.get(f"/v1/projects/{theirs['slug']}/segments", headers=stranger.headers)
    assert segments.json()["data"] == []
