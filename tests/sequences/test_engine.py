"""The engine over real ingestion and real databases, driven with an
injected clock: enrolment, each node, versions, archiving, exits."""

from __future__ import annotations

from datetime import timedelta

from letter.clock import utcnow
from letter.sequences.models import EnrollmentState
from tests.sequences.conftest import SIGNED_UP, chain, edge, email, node


def test_signed_up_enrols_and_queues_the_welcome_email(flows):
    welcome = email("welcome", "Welcome {{ contact.traits.name }}")
    sid = flows.create(chain(node("t", "trigger"), welcome, node("end", "exit")), SIGNED_UP)
    flows.identify("ada", name="Ada")
    flows.track("ada", "Signed Up", plan="free")
    enrolment = flows.one(sid)
    assert (enrolment.state, enrolment.node_id) == (EnrollmentState.ACTIVE, "t")
    assert flows.run() == 3  # trigger, email, exit
    enrolment = flows.one(sid)
    assert (enrolment.state, enrolment.node_id) == (EnrollmentState.EXITED, "end")
    [message] = flows.messages(sid)
    assert (message.kind, message.to_email, message.subject) == (
        "bulk", "ada@example.com", "Welcome {{ contact.traits.name }}")
    assert message.data["event"]["properties"] == {"plan": "free"}
    assert flows.run() == 0
    assert len(flows.messages(sid)) == 1


def wait_minutes(node_id: str, minutes: int) -> dict:
    return node(node_id, "wait", duration={"value": minutes, "unit": "minutes"})


def test_wait_resumes_after_its_duration_and_not_before(flows):
    sid = flows.create(chain(node("t", "trigger"), wait_minutes("w", 1),
                             email("e", "Later")), SIGNED_UP)
    flows.identify("u1")
    flows.track("u1", "Signed Up")
    flows.run()
    waiting = flows.one(sid)
    assert (waiting.state, waiting.node_id) == (EnrollmentState.WAITING, "w")
    assert flows.run(after=timedelta(seconds=59)) == 0
    assert flows.run(after=timedelta(seconds=61)) == 2  # wait resumes, email
    assert flows.one(sid).state == EnrollmentState.COMPLETED
    assert [m.subject for m in flows.messages(sid)] == ["Later"]


def wait_event_graph(**extra) -> dict:
    return {"nodes": [node("t", "trigger"),
                      node("we", "wait_event", eventName="Created Project",
                           timeout={"value": 2, "unit": "days"}, **extra),
                      email("yay", "Nice project"), email("nudge", "Create a project?")],
            "edges": [edge("t", "we"), edge("we", "yay", "received"),
                      edge("we", "nudge", "timeout")]}


def test_wait_event_takes_received_when_the_event_comes(flows):
    sid = flows.create(wait_event_graph(), SIGNED_UP)
    flows.identify("u")
    flows.track("u", "Created Project")  # before the wait began: does not count
    flows.track("u", "Signed Up")
    flows.run()
    assert flows.one(sid).state == EnrollmentState.WAITING
    flows.track("u", "Created Project")
    assert flows.one(sid).resume == "received"
    flows.run()
    assert [m.subject for m in flows.messages(sid)] == ["Nice project"]
    assert flows.one(sid).state == EnrollmentState.COMPLETED


def test_wait_event_takes_timeout_when_the_event_does_not_come(flows):
    sid = flows.create(wait_event_graph(), SIGNED_UP)
    flows.identify("u")
    flows.track("u", "Signed Up")
    flows.run()
    flows.track("u", "Something Else")
    assert flows.run(after=timedelta(days=1)) == 0
    flows.run(after=timedelta(days=2, seconds=1))
    assert [m.subject for m in flows.messages(sid)] == ["Create a project?"]
    # The event after the timeout changes nothing.
    flows.track("u", "Created Project")
    flows.run(after=timedelta(days=3))
    assert len(flows.messages(sid)) == 1


def test_wait_event_match_needs_the_same_property_as_the_trigger(flows):
    trigger = {"type": "event", "eventName": "Cart Updated"}
    sid = flows.create(wait_event_graph(match={"property": "cart_id"}), trigger)
    flows.identify("u")
    flows.track("u", "Cart Updated", cart_id="c1")
    flows.run()
    flows.track("u", "Created Project", cart_id="c2")
    assert flows.one(sid).resume is None
    flows.track("u", "Created Project", cart_id="c1")
    assert flows.one(sid).resume == "received"


def branch_graph() -> dict:
    condition = {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"}
    return {"nodes": [node("t", "trigger"), node("b", "branch", condition=condition),
                      email("pro", "Hi pro"), email("free", "Upgrade?")],
            "edges": [edge("t", "b"), edge("b", "pro", "yes"), edge("b", "free", "no")]}


def test_branch_takes_the_leg_its_condition_gives_now(flows):
    sid = flows.create(branch_graph(), SIGNED_UP)
    flows.identify("p", plan="pro")
    flows.identify("f", plan="free")
    flows.track("p", "Signed Up")
    flows.track("f", "Signed Up")
    flows.run()
    assert sorted((m.to_email, m.subject) for m in flows.messages(sid)) == [
        ("f@example.com", "Upgrade?"), ("p@example.com", "Hi pro")]


def test_one_running_enrolment_per_contact_and_once_per_contact_forbids_a_second(flows):
    again = flows.create(chain(node("t", "trigger"), email("e", "Hi")), SIGNED_UP)
    once = flows.create(chain(node("t", "trigger"), email("e", "Hi")),
                        {**SIGNED_UP, "oncePerContact": True})
    flows.identify("u")
    flows.track("u", "Signed Up")
    flows.track("u", "Signed Up")  # still running in both: no second enrolment
    assert len(flows.enrollments(again)) == len(flows.enrollments(once)) == 1
    flows.run()
    flows.track("u", "Signed Up")
    assert len(flows.enrollments(again)) == 2
    assert len(flows.enrollments(once)) == 1


def test_skip_triggers_enrols_no_one(flows):
    sid = flows.create(chain(node("t", "trigger"), email("e", "Hi")), SIGNED_UP)
    flows.identify("u")
    flows.track("u", "Signed Up", skip_triggers=True)
    assert flows.enrollments(sid) == []


def test_where_and_filter_gate_enrolment(flows):
    trigger = {**SIGNED_UP, "where": [{"property": "plan", "op": "eq", "value": "free"},
                                      {"property": "seats", "op": "gt", "value": 2}],
               "filter": {"kind": "trait", "path": "country", "op": "eq", "value": "FR"}}
    sid = flows.create(chain(node("t", "trigger"), email("e", "Hi")), trigger)
    flows.identify("fr", country="FR")
    flows.identify("de", country="DE")
    flows.track("fr", "Signed Up", plan="pro", seats=5)
    flows.track("fr", "Signed Up", plan="free", seats=1)
    flows.track("de", "Signed Up", plan="free", seats=5)
    assert flows.enrollments(sid) == []
    flows.track("fr", "Signed Up", plan="free", seats="5")
    assert len(flows.enrollments(sid)) == 1


def test_contact_created_trigger_with_a_filter(flows):
    trigger = {"type": "contact_created",
               "filter": {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"}}
    sid = flows.create(chain(node("t", "trigger"), email("e", "Welcome")), trigger)
    flows.identify("a", plan="pro")
    flows.identify("b", plan="free")
    flows.identify("a", plan="pro")  # not created again
    [enrolment] = flows.enrollments(sid)
    assert enrolment.contact_id == flows.contact("a").id


def test_a_new_version_leaves_running_enrolments_on_theirs(flows):
    sid = flows.create(chain(node("t", "trigger"), wait_minutes("w", 10),
                             email("e", "Version one")), SIGNED_UP)
    flows.identify("old")
    flows.track("old", "Signed Up")
    flows.run()
    flows.draft(sid, chain(node("t", "trigger"), wait_minutes("w", 10),
                           email("e", "Version two")), SIGNED_UP)
    assert flows.publish(sid) == 2
    flows.identify("new")
    flows.track("new", "Signed Up")
    flows.run(after=timedelta(minutes=11))
    flows.run(after=timedelta(minutes=22))
    assert sorted((m.to_email, m.subject) for m in flows.messages(sid)) == [
        ("new@example.com", "Version two"), ("old@example.com", "Version one")]


def test_archiving_exits_running_enrolments_and_stops_new_ones(flows):
    sid = flows.create(chain(node("t", "trigger"), wait_minutes("w", 10),
                             email("e", "Never")), SIGNED_UP)
    flows.identify("u")
    flows.track("u", "Signed Up")
    flows.run()
    done = flows.client.patch(f"{flows.base}/{sid}", headers=flows.headers,
                              json={"status": "archived"})
    assert done.status_code == 200 and done.json()["status"] == "archived"
    assert (flows.one(sid).state, flows.one(sid).reason) == (EnrollmentState.EXITED, "archived")
    flows.identify("v")
    flows.track("v", "Signed Up")
    flows.run(after=timedelta(minutes=11))
    assert len(flows.enrollments(sid)) == 1 and flows.messages(sid) == []


def test_exit_on_removes_a_contact_mid_wait(flows):
    trigger = {**SIGNED_UP, "exitOn": {"eventName": "Paid", "where": {
        "property": "amount", "op": "gt", "value": 0}}}
    sid = flows.create(chain(node("t", "trigger"), wait_minutes("w", 10),
                             email("e", "Please pay")), trigger)
    flows.identify("u")
    flows.track("u", "Signed Up")
    flows.run()
    flows.track("u", "Paid", amount=0)
    assert flows.one(sid).state == EnrollmentState.WAITING
    flows.track("u", "Paid", amount=10)
    assert (flows.one(sid).state, flows.one(sid).reason) == (EnrollmentState.EXITED,
                                                             "exitOn: Paid")
    flows.run(after=timedelta(minutes=11))
    assert flows.messages(sid) == []


def test_a_suppressed_contacts_email_is_recorded_suppressed_and_the_flow_continues(flows):
    sid = flows.create(chain(node("t", "trigger"), email("e1", "One"), email("e2", "Two")),
                       SIGNED_UP)
    flows.identify("u")
    done = flows.client.post(f"/v1/projects/{flows.slug}/contacts/u/suppress",
                             headers=flows.headers)
    assert done.status_code == 204
    flows.track("u", "Signed Up")
    flows.run()
    assert flows.one(sid).state == EnrollmentState.COMPLETED
    assert [m.subject for m in flows.messages(sid)] == ["One", "Two"]


def test_a_rerun_email_step_never_queues_twice(flows, db):
    from sqlalchemy import update

    from letter.sequences.models import Enrollment

    sid = flows.create(chain(node("t", "trigger"), email("e", "Once"), wait_minutes("w", 5)),
                       SIGNED_UP)
    flows.identify("u")
    flows.track("u", "Signed Up")
    flows.run()
    # As if the step ran again (a worker lost the batch's outcome): back to the email node.
    with db.session() as session:
        session.execute(update(Enrollment).where(Enrollment.id == flows.one(sid).id).values(
            node_id="e", state="active", next_run_at=utcnow()))
    flows.run()
    assert len(flows.messages(sid)) == 1
    assert flows.one(sid).node_id == "w"


def test_deleting_a_running_sequence_removes_its_enrolments_and_ingestion_goes_on(flows):
    sid = flows.create(chain(node("t", "trigger"), wait_minutes("w", 10)), SIGNED_UP)
    flows.identify("u")
    flows.track("u", "Signed Up")
    assert len(flows.enrollments(sid)) == 1
    deleted = flows.client.delete(f"{flows.base}/{sid}", headers=flows.headers)
    assert deleted.status_code == 204
    assert flows.enrollments(sid) == []
    flows.track("u", "Signed Up")  # the index no longer holds the deleted flow
    assert flows.enrollments(sid) == []
