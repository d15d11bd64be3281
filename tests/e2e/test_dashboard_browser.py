"""The dashboard in a real browser (Debian's Chromium driven by Playwright)
against a real ``letter serve`` sending to a real SMTP server on loopback.

A new user signs in, creates a project, mints a project token, ingests
contacts with it over HTTP, builds a segment and sees its count, composes and
sends a broadcast and watches its live counters reach the total; builds a
sequence with a branch in the flow editor (a TipTap body in its email step,
wired from the keyboard, previewed and test-sent) whose triggered email
carries that body; an invited
member sees no admin screens and is refused when posting one anyway; a
forged CSRF token is refused; another workspace's URLs are 404. A CSV goes
through the import wizard to the contacts list, and an export of a filter is
downloaded and read. Screenshots
of each main screen go to ``LETTER_SCREENSHOT_DIR`` (else the test's tmp dir).

Skips without /usr/bin/chromium, unless ``LETTER_REQUIRE_CHROMIUM=1`` (CI).
"""

from __future__ import annotations

import csv
import email
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer, start_server, stop_server
from tests.e2e.test_broadcast_e2e import received, wait_for
from tests.servers import SmtpServer

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
CONTACTS = 30

if not Path(CHROMIUM).exists() and os.environ.get("LETTER_REQUIRE_CHROMIUM") != "1":
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path: Path, fresh_database_url: str, smtp: SmtpServer) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "data", fresh_database_url, {
        "LETTER_EMAIL_TRANSPORT": "smtp", "LETTER_SMTP_URL": smtp.url})
    try:
        yield live
    finally:
        stop_server(live)


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    base = os.environ.get("LETTER_SCREENSHOT_DIR")
    folder = Path(base) / request.node.callspec.id if base else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _settled(page: Any) -> None:
    """Wait for htmx to finish a request and settle its swap: until it has,
    the new content is on the page without its htmx handlers (htmx attaches
    them after its settle delay), and a change made then sends nothing."""
    page.wait_for_function(
        "() => window.htmx && !document.querySelector("
        "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def _page(browser: Any, server: LiveServer, width: int = 1280) -> Any:
    context = browser.new_context(base_url=server.base_url,
                                  viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def _sign_in(page: Any, who: str, path: str = "/") -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_label("Email").fill(who)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _ingest(server: LiveServer, key: str) -> None:
    batch = [{"type": "identify", "user_id": f"u{i}", "email": f"u{i}@acme.test",
              "traits": {"plan": "pro" if i % 2 else "free"}} for i in range(CONTACTS)]
    done = httpx.post(f"{server.base_url}/v1/batch", json={"batch": batch},
                      headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert done.status_code == 200 and done.json()["accepted"] == CONTACTS, done.text


def _invitation_link(smtp: SmtpServer, to: str) -> str:
    wait_for(lambda: to in received(smtp), timeout=30)
    raw = next(m.data for m in smtp.messages if to in m.rcpt_tos)
    text = _text_part(raw)
    found = re.search(r"(/invitations/accept\?token=\S+)", text)
    assert found, text
    return found.group(1)


def _text_part(raw: bytes) -> str:
    message = email.message_from_bytes(raw)
    return next(p.get_payload(decode=True).decode() for p in message.walk()
                if p.get_content_type() == "text/plain")


def test_dashboard_end_to_end(server: LiveServer, smtp: SmtpServer, browser: Any,
                              shots: Path) -> None:
    owner = "owner@acme.test"
    done = server.letter("admin", "bootstrap", "--email", owner, "--workspace", "Acme",
                         "--password", PASSWORD, "--json")
    assert done.returncode == 0, done.stderr
    page = _page(browser, server)

    # Sign in, an empty workspace tells the next step, create a project.
    _sign_in(page, owner)
    expect(page.get_by_text("No project yet")).to_be_visible()
    page.get_by_label("Name").fill("Acme")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(r"/p/acme$"))
    expect(page.get_by_text("Next step: send Letter your contacts")).to_be_visible()
    page.screenshot(path=shots / "overview.png", full_page=True)

    # Mint a project token: shown once.
    page.get_by_role("link", name="Project tokens").click()
    _settled(page)
    page.get_by_label("Name").fill("backend")
    page.get_by_role("button", name="Mint token").click()
    key = page.locator("#minted-token").inner_text().strip()
    assert key.startswith("lt_live_")
    page.screenshot(path=shots / "tokens.png", full_page=True)
    _ingest(server, key)

    # Contacts: the total, search as you type.
    page.get_by_role("link", name="Contacts").click()
    expect(page.locator("#contacts-total")).to_have_text(str(CONTACTS))
    page.screenshot(path=shots / "contacts.png", full_page=True)
    page.get_by_label("Search").fill("u7@")
    expect(page.locator("#contacts-total")).to_have_text("1")
    page.get_by_role("link", name="u7@acme.test").click()
    expect(page.locator("#traits")).to_contain_text('"plan": "pro"')
    page.screenshot(path=shots / "contact.png", full_page=True)

    # A segment with its live count.
    page.get_by_role("link", name="Segments").click()
    expect(page.get_by_text("No segment yet")).to_be_visible()
    page.get_by_role("link", name="New segment").click()
    _settled(page)
    page.get_by_label("Name").fill("Pro")
    page.get_by_label("Trait path").fill("plan")
    page.get_by_label("Value").fill("pro")
    expect(page.locator("#preview-count")).to_have_text(str(CONTACTS // 2))
    page.get_by_role("button", name="Add an event condition to group r", exact=True).click()
    expect(page.get_by_label("Event name")).to_be_visible()
    page.get_by_role("button", name="Remove condition r.1").click()
    expect(page.get_by_label("Event name")).to_have_count(0)
    expect(page.locator("#preview-count")).to_have_text(str(CONTACTS // 2))
    page.screenshot(path=shots / "segment.png", full_page=True)
    page.get_by_role("button", name="Save segment").click()
    expect(page).to_have_url(re.compile(r"/contacts\?segment="))
    expect(page.locator("#contacts-total")).to_have_text(str(CONTACTS // 2))

    # A broadcast: compose, preflight, send, live counters reach the total.
    page.get_by_role("link", name="Broadcasts").click()
    _settled(page)
    page.get_by_label("Name").fill("Launch")
    page.get_by_role("button", name="Start a draft").click()
    page.get_by_label("Subject").fill("Hello {{ contact.email }}")
    expect(page.locator(".body-editor-content")).to_be_visible()  # the island has mounted
    body = page.get_by_role("textbox", name="Body")  # the TipTap island
    body.click()
    page.get_by_role("button", name="Bold").click()
    body.press_sequentially("We launched.")
    page.get_by_role("button", name="Bold").click()
    body.press("Enter")
    body.press_sequentially("See you soon.")
    expect(page.get_by_role("button", name="Bold")).to_have_attribute("aria-pressed", "false")
    page.get_by_label("Audience").select_option(label="Segment: Pro")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    expect(page.locator(".body-editor-content strong")).to_have_text("We launched.")
    page.get_by_role("button", name="Run preflight").click()
    expect(page.locator("#preflight-result")).to_contain_text(f"{CONTACTS // 2} of {CONTACTS}")
    page.screenshot(path=shots / "broadcast.png", full_page=True)
    page.get_by_role("button", name="Schedule or send now").click()
    expect(page.locator("#stat-sent")).to_have_text(str(CONTACTS // 2), timeout=60_000)
    expect(page.locator("#broadcast-status")).to_have_text("sent", timeout=30_000)
    page.screenshot(path=shots / "broadcast-live.png", full_page=True)
    wait_for(lambda: sum(received(smtp).values()) >= CONTACTS // 2)
    assert {r for r, n in received(smtp).items() if n} == {
        f"u{i}@acme.test" for i in range(1, CONTACTS, 2)}

    # A sequence from the template flow in the flow editor: add a branch (its
    # missing legs show on it), undo; a trigger error shows on the trigger.
    page.get_by_role("link", name="Sequences").click()
    _settled(page)
    page.get_by_label("Name").fill("Onboarding")
    page.get_by_role("button", name="Start from the template flow").click()
    expect(page.locator(".flow-node")).to_have_count(5)
    page.get_by_role("button", name="+ Branch").click()
    expect(page.locator(".flow-node")).to_have_count(6)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#flow-message")).to_contain_text("Saved (revision 2)")
    expect(page.locator(".flow-node.flow-error")).to_have_count(1)
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".flow-node")).to_have_count(5)
    step = page.get_by_label("Step", exact=True)
    step.select_option("trigger")
    page.get_by_role("button", name="Add: Event property condition").click()
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#flow-message")).to_contain_text("Not saved: trigger.where[0].property")
    expect(page.locator(".flow-node.flow-trigger.flow-error")).to_have_count(1)
    page.get_by_role("button", name="Remove Event property condition 1").click()
    page.get_by_label("Exit when the contact does (event name)").fill("Paid")
    expect(page.locator(".flow-node.flow-trigger")).to_contain_text("exits on Paid")

    # The welcome email, chosen from the keyboard, gets its body in TipTap.
    welcome = page.locator(".react-flow__node", has_text="Welcome")
    welcome.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Email", exact=True)).to_be_visible()
    body = page.get_by_role("textbox", name="Email body")
    body.click()
    page.keyboard.press("Control+A")
    body.press_sequentially("Thanks for joining Acme. ")
    page.get_by_role("button", name="Bold").click()
    body.press_sequentially("Start with your first list.")
    page.get_by_role("button", name="Bold").click()

    # A branch after it, wired with the "Connect to…" selects (no mouse).
    page.get_by_role("button", name="+ Branch").click()
    expect(page.get_by_role("heading", name="Branch", exact=True)).to_be_visible()
    page.get_by_label('Connect "yes" to…').select_option("wait")
    page.get_by_label('Connect "no" to…').select_option("exit")
    branch_id = step.input_value()
    step.select_option("welcome")
    page.get_by_label("Connect to…").select_option(branch_id)
    expect(page.locator(".react-flow__edge")).to_have_count(6)
    page.get_by_role("button", name="Auto-layout").click()
    page.locator(".flow-node", has_text="Wait").first.click()
    page.get_by_label("Wait (number)").fill("2")
    expect(page.locator(".flow-node", has_text="2 days")).to_have_count(1)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#flow-message")).to_contain_text("Ready to publish")

    # Preview and test-send the email step as edited.
    step.select_option("welcome")
    page.get_by_role("button", name="Preview", exact=True).click()
    frame = page.frame_locator("#flow-preview-frame")
    expect(frame.locator("strong")).to_have_text("Start with your first list.")
    page.get_by_role("button", name="Send test").click()
    expect(page.locator("#flow-try-result")).to_contain_text(f"on its way to {owner}")
    page.screenshot(path=shots / "flow-editor.png", full_page=True)
    wait_for(lambda: any(b"[Test] Welcome" in m.data for m in smtp.messages
                         if owner in m.rcpt_tos))

    # Publish; an event triggers it and the email carries the TipTap body.
    page.get_by_role("button", name="Publish the saved draft").click()
    expect(page.get_by_text("Published as version 1.")).to_be_visible()
    before = len(smtp.messages)
    done = httpx.post(f"{server.base_url}/v1/track", json={"user_id": "u3", "event": "Signed Up"},
                      headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert done.status_code == 200, done.text
    wait_for(lambda: any(b"Welcome, u3@acme.test" in m.data for m in smtp.messages[before:]))
    sent = next(m.data for m in smtp.messages[before:] if b"Welcome, u3@acme.test" in m.data)
    assert "Thanks for joining Acme. Start with your first list." in _text_part(sent)

    # Invite a member; they accept from the emailed link.
    page.get_by_role("link", name="Team").click()
    expect(page).to_have_url(re.compile(r"/team$"))
    page.get_by_label("Email", exact=True).fill("member@acme.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent.")).to_be_visible()
    page.screenshot(path=shots / "team.png", full_page=True)
    member = _page(browser, server, width=390)
    member.goto(_invitation_link(smtp, "member@acme.test"))
    member.get_by_label("Choose a password").fill(PASSWORD)
    member.get_by_role("button", name="Accept the invitation").click()
    expect(member.locator("#result")).to_contain_text("as member")
    _sign_in(member, "member@acme.test", "/p/acme")
    expect(member.get_by_role("link", name="Contacts")).to_be_visible()
    expect(member.get_by_role("link", name="Project tokens")).to_have_count(0)
    expect(member.get_by_role("link", name="Team")).to_have_count(0)
    member.screenshot(path=shots / "overview-390px-member.png", full_page=True)
    member.goto("/p/acme/tokens")
    expect(member.get_by_text("needs the admin role")).to_be_visible()

    # Posting an admin action anyway, with a valid token: refused. Forged: refused.
    def post(path: str, token: str | None) -> int:
        status: int = member.evaluate(
            """async ([path, token]) => {
                 const headers = JSON.parse(document.body.getAttribute('hx-headers'));
                 const csrf = token ?? headers['X-CSRF-Token'];
                 const r = await fetch(path, {method: 'POST', headers: {'X-CSRF-Token': csrf,
                   'Content-Type': 'application/x-www-form-urlencoded'}, body: 'name=x'});
                 return r.status; }""", [path, token])
        return status

    member.goto("/p/acme")
    assert post("/p/acme/tokens", None) == 403
    assert post("/p/acme/segments", "0" * 64) == 403
    assert post("/projects", None) == 403
    page.goto("/p/acme/segments")
    expect(page.locator("table")).to_contain_text("Pro")
    expect(page.locator("table")).not_to_contain_text("x")

    # Another workspace's owner gets 404 on this project's URLs.
    other = "other@elsewhere.test"
    assert server.letter("admin", "bootstrap", "--email", other, "--workspace", "Elsewhere",
                         "--password", PASSWORD).returncode == 0
    stranger = _page(browser, server)
    _sign_in(stranger, other)
    for path in ("/p/acme", "/p/acme/contacts", "/p/acme/segments"):
        response = stranger.goto(path)
        assert response is not None and response.status == 404, path
    assert len(list(shots.glob("*.png"))) >= 9


PEOPLE = ("Email,First name,Plan,Notes,Status\n"
          "ada@acme.test,Ada,pro,likes tea,subscribed\n"
          "bob@acme.test,Bob,free,,unsubscribed\n"
          "cy@acme.test,Cy,pro,,subscribed\n"
          "not-an-address,Dee,free,,subscribed\n"
          "eve@acme.test,Eve,team,call back,opted out\n")


def test_import_wizard_and_export_download(server: LiveServer, browser: Any,
                                           shots: Path) -> None:
    """A CSV through the wizard (mapping changed, a list attached), its
    progress to the end, the contacts it made; then an export of a filter,
    downloaded and read."""
    owner = "owner@acme.test"
    done = server.letter("admin", "bootstrap", "--email", owner, "--workspace", "Acme",
                         "--password", PASSWORD, "--json")
    assert done.returncode == 0, done.stderr
    pat = {"Authorization": f"Bearer {json.loads(done.stdout)['token']}"}
    page = _page(browser, server)
    _sign_in(page, owner)
    page.get_by_label("Name").fill("Acme")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(r"/p/acme$"))
    made = httpx.post(f"{server.base_url}/v1/projects/acme/lists", json={"name": "Imported"},
                      headers=pat, timeout=30)
    assert made.status_code == 201, made.text

    # The wizard: choose the file, the suggested mapping, change two columns.
    # The wizard's script is held back until the file is chosen: on a slow
    # link a boosted navigation shows the form before its script runs.
    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_text("No import yet")).to_be_visible()
    held: list[Any] = []
    page.route("**/static/imports.js", lambda route: held.append(route))
    page.get_by_role("link", name="New import").first.click()
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": PEOPLE.encode()})
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the wizard's script was never asked for"
    held[0].continue_()
    page.unroute("**/static/imports.js")
    expect(page.locator("#file-facts")).to_contain_text("5 columns, comma-separated")
    expect(page.get_by_label("Import Email as")).to_have_value("email")
    expect(page.get_by_label("Import Status as")).to_have_value("status")
    expect(page.get_by_label("Trait name for First name")).to_have_value("first_name")
    page.get_by_label("Import Notes as").select_option("ignore")
    expect(page.get_by_label("Trait name for Notes")).to_be_hidden()
    page.get_by_label("Trait name for Plan").fill("tier")
    page.get_by_label("Imported", exact=True).check()
    page.screenshot(path=shots / "import-wizard.png", full_page=True)
    page.get_by_role("button", name="Start import").click()

    # The progress page polls to the end; the bad row is in the error report.
    expect(page).to_have_url(re.compile(r"/p/acme/imports/[0-9a-f-]{36}$"))
    expect(page.locator("#import-status")).to_have_text("completed", timeout=60_000)
    expect(page.locator("#import-created")).to_have_text("4")
    expect(page.locator("#import-errors")).to_have_text("1")
    report = httpx.get(page.locator("#error-report").get_attribute("href") or "", timeout=30)
    assert report.status_code == 200 and "not-an-address" in report.text
    page.screenshot(path=shots / "import-progress.png", full_page=True)
    page.get_by_role("link", name="See the contacts").click()
    expect(page.locator("#contacts-total")).to_have_text("4")
    page.get_by_label("List").select_option(label="Imported")
    expect(page.locator("#contacts-total")).to_have_text("4")
    page.get_by_role("link", name="eve@acme.test").click()
    expect(page.locator("#traits")).to_contain_text('"tier": "team"')
    expect(page.locator("#traits")).not_to_contain_text("call back")

    # Export the unsubscribed ones and download the file.
    page.get_by_role("link", name="Contacts").click()
    _settled(page)
    page.get_by_label("Status").select_option("unsubscribed")
    expect(page.locator("#contacts-total")).to_have_text("2")
    page.get_by_role("button", name="Export").click()
    expect(page).to_have_url(re.compile(r"/p/acme/exports/[0-9a-f-]{36}\?started=1$"))
    link = page.get_by_role("link", name="Download CSV")
    expect(link).to_be_visible(timeout=60_000)
    with page.expect_download() as got:
        link.click()
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text("utf-8"))))
    assert sorted((r["email"], r["status"], r["tier"], r["lists"]) for r in rows) == [
        ("bob@acme.test", "unsubscribed", "free", "Imported"),
        ("eve@acme.test", "unsubscribed", "team", "Imported")]
    page.get_by_role("link", name="All recent exports").click()
    expect(page.locator("#exports-table")).to_contain_text("unsubscribed")
    page.screenshot(path=shots / "exports.png", full_page=True)
