"""The contacts pages in a real browser (Playwright driving Debian's chromium), against a sandbox over HTTP,
as a staff user who is not a superuser, linked to an Intercom admin."""

from __future__ import annotations

import re
import threading

import pytest
from django.contrib.auth.models import Group

from intercom_mirror import sync
from intercom_mirror.api import IntercomClient
from intercom_mirror.models import Admin, Contact, Conversation, StaffProfile
from intercom_mirror.sandbox import SandboxApp, generate_workspace
from tests.conftest import TEST_TOKEN
from tests.helpers import served

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def workspace(settings):
    """Like conftest's live_sandbox, with 120 users (a filter must choose 120 contacts), mirrored over HTTP."""
    workspace = generate_workspace(seed=11, users=120, leads=20, conversations=30)
    app = SandboxApp(workspace, token=TEST_TOKEN, rate_limit=None)  # the notes pass alone spends 140 requests
    with served(app) as base_url:
        settings.INTERCOM_API_BASE = base_url
        with IntercomClient.from_settings() as client:
            sync.sync_all(full=True, client=client)
        yield app


@pytest.fixture
def page_as_sam(live_server, page, django_user_model, workspace):
    """A browser logged in as sam ("Support staff", acting as the first admin); collects CSP violations and errors."""
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    group, _ = Group.objects.get_or_create(name="Support staff")  # transactional tests flush migration data
    user.groups.add(group)
    StaffProfile.objects.update_or_create(user=user, defaults={"admin": Admin.objects.live().first()})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"{page.url}: {m.text}") if "Content Security Policy" in m.text else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "password-sam")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    problems.clear()  # from here on: the pages under test (the login page is not one of them)
    page.problems = problems
    return page


def sandbox_tags(workspace, contact_id: str) -> set[str]:
    ws = workspace.workspace
    contact = ws.users.get(contact_id) or ws.leads.get(contact_id)
    return {ws.tags[t].name for t in contact.tag_ids}


def test_it_searches_a_contact(live_server, page_as_sam, workspace):
    page = page_as_sam
    target = Contact.objects.live().filter(role="user").exclude(email="").order_by("email").last()
    page.goto(f"{live_server.url}/contacts/")
    assert page.locator("input[name=ids]").count() == 50
    page.fill("#contacts-q", target.email[:-4].upper())  # a prefix, in the wrong case
    page.locator("#contact-list .count", has_text=re.compile(r"^1 contact$")).wait_for()
    assert "q=" in page.url  # the address follows the filters
    page.get_by_role("link", name=target.display_name, exact=True).click()
    page.wait_for_url(f"{live_server.url}/contacts/{target.intercom_id}/")
    assert page.locator("h1").inner_text().startswith(target.display_name)
    page.locator("#events:not([hx-trigger])").wait_for()  # the events region loaded on its own
    assert "Loading recent events" not in page.locator("#events").inner_text()
    assert page.problems == []


def test_it_tags_and_untags_a_contact(live_server, page_as_sam, workspace):
    page = page_as_sam
    contact = Contact.objects.live().filter(role="user").first()
    page.goto(f"{live_server.url}/contacts/{contact.intercom_id}/")
    page.fill("#contact-tag", "Browser VIP")
    page.get_by_role("button", name="Create tag “Browser VIP”").click()  # picking an option submits the form
    page.locator("#contact-tags .tag", has_text="Browser VIP").wait_for()
    assert "Browser VIP" in sandbox_tags(workspace, contact.intercom_id)

    page.get_by_role("button", name="Untag Browser VIP").click()
    page.locator("#contact-tags .tag", has_text="Browser VIP").wait_for(state="detached")
    assert "Browser VIP" not in sandbox_tags(workspace, contact.intercom_id)
    # The tag exists now: typing part of it offers it, and no longer offers to create it.
    page.fill("#contact-tag", "browser")
    options = page.locator("#contact-tag-options")
    # Wait for the answer to this query, told by its "Create tag “browser”" (no tag is named exactly that): the field's
    # focus asks too, at once and with the field empty, and its answer (every tag, no "Create") may come first.
    options.locator('.tag-create[data-tag="browser"]').wait_for()
    assert options.locator("button.tag-option:not(.tag-create)").all_inner_texts() == ["Browser VIP"]
    assert options.locator('.tag-create[data-tag="Browser VIP"]').count() == 0
    assert page.problems == []


def run_when(go: threading.Event):
    """Return a stand-in for async_task that runs the task on a thread once `go` is set, as a q2 worker would pick
    it up a moment later: the page shows its progress and polls in the meantime."""
    from django.db import connection
    from django.utils.module_loading import import_string

    def run_later(func: str, *args, **options) -> None:
        def run() -> None:
            try:
                if go.wait(30):
                    import_string(func)(*args)
            finally:
                connection.close()

        threading.Thread(target=run, daemon=True).start()

    return run_later


def test_it_bulk_tags_120_contacts_chosen_by_a_filter_and_shows_the_summary(
    live_server, page_as_sam, workspace, monkeypatch
):
    from dashboard.contacts import bulk

    worker_go = threading.Event()
    monkeypatch.setattr(bulk, "async_task", run_when(worker_go))
    page = page_as_sam
    page.goto(f"{live_server.url}/contacts/")
    page.get_by_label("Users").check()  # the role filter: the 120 users, not the 20 leads
    page.locator("#contact-list", has_text="Select all 120 matching").wait_for()
    page.get_by_label("Select all 120 matching").check()
    page.fill("#bulk-tag", "Spring campaign")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Tag", exact=True).click()
    page.locator("#bulk-status progress").wait_for()  # the worker has not started yet: a progress bar
    worker_go.set()
    summary = page.locator("#bulk-status .summary")
    summary.wait_for(timeout=30_000)
    assert summary.inner_text().startswith("120 contacts tagged “Spring campaign”")
    users = workspace.workspace.users
    assert all("Spring campaign" in sandbox_tags(workspace, i) for i in users)
    assert not any("Spring campaign" in sandbox_tags(workspace, i) for i in workspace.workspace.leads)
    page.locator("#contact-list .tag", has_text="Spring campaign").first.wait_for()  # the list reloaded
    assert page.problems == []


def test_it_merges_a_lead_into_a_user_and_the_conversation_follows(live_server, page_as_sam, workspace):
    page = page_as_sam
    conversation = Conversation.objects.filter(customer__role="lead").first()
    lead = conversation.customer
    user = Contact.objects.live().filter(role="user").exclude(email="").first()
    page.goto(f"{live_server.url}/contacts/{lead.intercom_id}/")
    page.fill("#merge-q", user.email)
    page.locator("#merge-candidates label", has_text=user.email).click()
    page.get_by_role("button", name="Merge into user…").click()
    dialog = page.locator("#confirm-dialog")
    dialog.get_by_text("The lead is deleted in Intercom").wait_for()
    dialog.get_by_role("button", name="Merge", exact=True).click()
    page.wait_for_url(f"{live_server.url}/contacts/{user.intercom_id}/")
    assert "was merged into this user" in page.locator(".messages").inner_text()
    page.locator(f'a[href="/conversations/{conversation.intercom_id}/"]').wait_for()
    assert lead.intercom_id not in workspace.workspace.leads
    assert user.intercom_id in workspace.workspace.conversations[conversation.intercom_id].customers
    page.goto(f"{live_server.url}/contacts/{lead.intercom_id}/")  # the lead's old address leads to the user
    page.wait_for_url(f"{live_server.url}/contacts/{user.intercom_id}/")
    assert page.problems == []


def test_it_adds_a_note(live_server, page_as_sam, workspace):
    page = page_as_sam
    contact = Contact.objects.live().filter(role="lead").first()
    page.goto(f"{live_server.url}/contacts/{contact.intercom_id}/")
    page.fill("#note-body", "Asked for a demo <next week>")
    page.get_by_role("button", name="Add note").click()
    page.locator("#notes-list .note", has_text="Asked for a demo <next week>").wait_for()
    assert page.input_value("#note-body") == ""
    notes = [n for n in workspace.workspace.notes.values() if n.contact_id == contact.intercom_id]
    assert any("Asked for a demo" in n.body for n in notes)
    page.reload()
    page.locator("#notes-list .note", has_text="Asked for a demo <next week>").wait_for()
    assert page.problems == []
