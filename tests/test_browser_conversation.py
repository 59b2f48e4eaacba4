"""The conversation page in a real browser (Playwright driving Debian's chromium), against a sandbox over HTTP."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from intercom_mirror import sync
from intercom_mirror.api import IntercomClient
from intercom_mirror.models import Admin, Conversation, ConversationPart, StaffProfile, Team

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

HOSTILE = '<p>Hi<script>window.pwned=1</script></p><img src=x onerror="window.pwned=1">'
PIXEL = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


@pytest.fixture
def workspace(live_sandbox):
    """The live sandbox mirrored into the database, over HTTP like in production."""
    with IntercomClient.from_settings() as client:
        sync.sync_all(full=True, client=client)
    return live_sandbox


@pytest.fixture
def support_user(django_user_model, workspace):
    """A staff user, not a superuser, in "Support staff" and linked to the first admin."""
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    group, _ = Group.objects.get_or_create(name="Support staff")  # transactional tests flush migration data
    user.groups.add(group)
    StaffProfile.objects.update_or_create(user=user, defaults={"admin": Admin.objects.live().first()})
    return user


@pytest.fixture
def logged_in(live_server, page, support_user):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "password-sam")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.problems = problems  # from here on: the pages under test
    problems.clear()
    return page


def an_open_conversation(workspace) -> Conversation:
    for conv in Conversation.objects.filter(state="open").order_by("intercom_id"):
        if conv.customer_id in workspace.workspace.users:
            return conv
    raise AssertionError("no open conversation with a user")


def test_it_replies_assigns_to_a_team_snoozes_and_closes(live_server, logged_in, workspace):
    page = logged_in
    conv = an_open_conversation(workspace)
    sandboxed = workspace.workspace.conversations[conv.intercom_id]
    admin = Admin.objects.live().first()
    page.goto(f"{live_server.url}/conversations/{conv.intercom_id}/")
    page.fill("#composer-body", "Fixed on our side, sorry for the wait!")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#conversation-live .message-admin", has_text="Fixed on our side").wait_for()
    assert page.input_value("#composer-body") == ""
    assert page.evaluate("document.activeElement.id") == "composer-body"  # ready for the next message
    assert any(p.body and "Fixed on our side" in p.body for p in sandboxed.parts)

    team = Team.objects.live().order_by("name").first()
    page.select_option("#assignee", team.intercom_id)
    page.get_by_role("button", name="Assign", exact=True).click()
    page.locator(".event", has_text=f"Assigned to {team.name} by {admin.name}").wait_for()
    assert sandboxed.assignee == ("team", team.intercom_id)

    page.click("#snooze-menu summary")
    page.get_by_role("button", name="Tomorrow 9:00").click()
    page.locator(".event", has_text="Snoozed until").wait_for()
    assert sandboxed.state == "snoozed"
    assert page.evaluate("document.getElementById('snooze-menu').open") is False  # folded away after use

    page.get_by_role("button", name="Close", exact=True).click()
    page.locator(".event", has_text=f"Closed by {admin.name}").wait_for()
    page.get_by_role("button", name="Reopen", exact=True).wait_for()
    assert sandboxed.state == "closed"
    assert page.problems == []


def test_a_hostile_body_runs_nothing_and_images_wait_for_a_click(live_server, logged_in, workspace):
    page = logged_in
    conv = an_open_conversation(workspace)
    Conversation.objects.filter(pk=conv.pk).update(body=HOSTILE)
    ConversationPart.objects.create(
        conversation=conv,
        intercom_id="hostile-1",
        part_type="comment",
        author_type="user",
        author_intercom_id=conv.customer_id,
        body=HOSTILE + '<p><img src="https://tracker.example/pixel.gif" alt="pixel"></p>',
        created_at=conv.created_at,
    )
    fetched = []

    def pixel(route):
        fetched.append(route.request.url)
        route.fulfill(status=200, content_type="image/gif", body=PIXEL)

    page.route("https://tracker.example/**", pixel)
    page.goto(f"{live_server.url}/conversations/{conv.intercom_id}/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.pwned") is None
    assert fetched == []  # no tracking pixel on page view
    page.get_by_text("Load image from tracker.example").click()
    page.locator("img.loaded-image").wait_for()
    assert fetched == ["https://tracker.example/pixel.gif"]
    assert page.evaluate("window.pwned") is None
    assert [p for p in page.problems if "pwned" in p or "Refused to execute" in p] == []


def test_the_composer_keeps_its_text_while_the_thread_refreshes(live_server, logged_in, workspace):
    page = logged_in
    conv = an_open_conversation(workspace)
    page.goto(f"{live_server.url}/conversations/{conv.intercom_id}/")
    page.click("label[for=mode-note]")
    assert page.evaluate("document.activeElement.id") == "composer-body"
    assert page.locator("label[for=composer-body]").inner_text() == "Note"  # the textarea is named by the mode
    page.keyboard.type("Half-written note")
    ConversationPart.objects.create(
        conversation=conv,
        intercom_id="new-customer-part",
        part_type="comment",
        author_type="user",
        author_intercom_id=conv.customer_id,
        body="<p>Are you there?</p>",
        created_at=conv.updated_at,
    )
    # What the 10 s poll does, now: GET the live region with its fingerprint and swap it.
    url = page.get_attribute("#conversation-live", "hx-get")
    page.evaluate(f"htmx.ajax('GET', '{url}', {{target: '#conversation-live', swap: 'outerHTML'}})")
    page.locator(".message-customer", has_text="Are you there?").wait_for()
    assert page.input_value("#composer-body") == "Half-written note"
    assert page.is_checked("#mode-note")
    assert page.problems == []


def wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_pane_works_inside_another_page(live_server, logged_in, workspace):
    """Loaded into a page that has neither thread.css nor thread.js (the inbox), the pane brings both."""
    page = logged_in
    conv = an_open_conversation(workspace)
    ConversationPart.objects.create(
        conversation=conv,
        intercom_id="note-in-pane",
        part_type="note",
        author_type="admin",
        author_intercom_id=Admin.objects.live().first().intercom_id,
        body='<p>A note <img src="https://tracker.example/pane.gif"></p>',
        created_at=conv.updated_at,
    )
    page.route(
        "https://tracker.example/**", lambda route: route.fulfill(status=200, content_type="image/gif", body=PIXEL)
    )
    assert page.evaluate("window.threadJsLoaded") is None  # the home page
    page.evaluate("document.querySelector('main').innerHTML = '<div id=\"conversation-pane\"></div>'")
    page.evaluate(f"htmx.ajax('GET', '/conversations/{conv.intercom_id}/', {{target: '#conversation-pane'}})")
    note = page.locator("#part-note-in-pane")
    note.wait_for()
    # Not page.wait_for_function: when its first try comes too early it polls by eval() inside
    # the page, which our CSP forbids. page.evaluate and expect() work from outside the page.
    wait_until(lambda: page.evaluate("window.threadJsLoaded") is True)
    # The pane's thread.css loads after the note is in the page: wait until it applies (notes are yellow).
    expect(note).to_have_css("background-color", "rgb(255, 248, 197)")
    note.get_by_text("Load image from tracker.example").click()
    note.locator("img.loaded-image").wait_for()  # thread.js swapped the link for the image
    assert page.problems == []


def test_show_earlier_messages_keeps_the_readers_place(live_server, logged_in, workspace):
    """A long thread opens at its latest 100 parts; "Show earlier messages" adds 100 above, in place, and the poll keeps them."""
    page = logged_in
    conv = an_open_conversation(workspace)
    ConversationPart.objects.filter(conversation=conv).delete()
    ConversationPart.objects.bulk_create(
        ConversationPart(
            conversation=conv,
            intercom_id=f"long-{i}",
            part_type="comment",
            author_type="user",
            author_intercom_id=conv.customer_id,
            body=f"<p>Message number {i}</p>",
            created_at=conv.created_at + timedelta(minutes=i + 1),
        )
        for i in range(180)
    )
    page.goto(f"{live_server.url}/conversations/{conv.intercom_id}/")
    parts = page.locator("#conversation-live .thread > li[id^='part-long-']")
    expect(parts).to_have_count(100)
    expect(parts.first).to_have_id("part-long-80")
    # The reader scrolls to the top of what is shown, and asks for more.
    page.locator("#part-long-80").scroll_into_view_if_needed()
    expect(page.locator("#part-long-80")).to_be_in_viewport()
    page.get_by_role("link", name="Show earlier messages").click()
    expect(parts).to_have_count(180)
    # The whole thread now: its opening message too.
    expect(page.locator("#conversation-live .thread > li.message")).to_have_count(181)
    expect(page.get_by_role("link", name="Show earlier messages")).to_have_count(0)
    expect(page.locator("#part-long-80")).to_be_in_viewport()  # still in view: the earlier ones came above it
    expect(page.locator("#part-long-0")).not_to_be_in_viewport()
    poll = page.get_attribute("#conversation-live", "hx-get")
    assert poll.endswith("&parts=200")  # the 10 s poll renders what the reader opened, not 100
    page.evaluate(f"htmx.ajax('GET', '{poll}', {{target: '#conversation-live', swap: 'outerHTML'}})")
    expect(parts).to_have_count(180)
    assert page.problems == []
