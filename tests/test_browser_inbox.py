"""The inbox in a real browser (Playwright driving Debian's chromium): keyboard, roving focus, the pane, the help."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from intercom_mirror.models import Contact, Conversation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def unassigned(django_user_model):
    """A support-staff login (not a superuser) and three unassigned open conversations, newest first c2, c1, c0."""
    cache.clear()
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    # get_or_create: a transactional test flushes the tables, the migration's group with them.
    user.groups.add(Group.objects.get_or_create(name="Support staff")[0])
    Contact.objects.create(intercom_id="u1", role="user", name="Zoe Customer", email="zoe@example.com")
    for n in range(3):
        Conversation.objects.create(
            intercom_id=f"c{n}", state="open", customer_id="u1", body=f"<p>Message {n}</p>",
            created_at=T0, updated_at=T0 + timedelta(minutes=n),
        )  # fmt: skip
    yield ["c2", "c1", "c0"]
    cache.clear()


def focused_row(page) -> str | None:
    return page.evaluate("document.activeElement.closest('li[data-id]')?.dataset.id ?? null")


def test_it_moves_through_the_list_by_keyboard_opens_a_conversation_and_shows_the_help(live_server, page, unassigned):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "password-sam")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/inbox/unassigned/")
    assert page.locator("#list-title").inner_text() == "Unassigned"

    # Roving tabindex: exactly one row is in the tab order.
    assert page.locator('[data-row-link][tabindex="0"]').count() == 1
    assert page.locator('[data-row-link][tabindex="-1"]').count() == 2

    page.keyboard.press("j")
    assert focused_row(page) == "c2"
    page.keyboard.press("j")
    assert focused_row(page) == "c1"
    page.keyboard.press("ArrowDown")
    assert focused_row(page) == "c0"
    page.keyboard.press("k")
    assert focused_row(page) == "c1"
    assert page.locator('li[data-id="c1"] [data-row-link]').get_attribute("tabindex") == "0"

    # Typing in the search box never fires a shortcut; "/" gets there.
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "inbox-search"
    page.keyboard.type("jk")
    assert page.input_value("#inbox-search") == "jk" and focused_row(page) is None
    page.locator('li[data-id="c1"] [data-row-link]').focus()

    # Enter opens the conversation into the right pane (htmx) with the pane as its target.
    with page.expect_response(lambda r: r.url.endswith("/conversations/c1/")) as response:
        page.keyboard.press("Enter")
    assert response.value.request.headers.get("hx-target") == "conversation-pane"
    if response.value.status == 200:  # the conversation page answers with its pane
        page.locator("#conversation-pane .pane-empty").wait_for(state="detached")
        assert page.locator("#conversation-pane").count() == 1  # filled, not replaced
        page.wait_for_url(f"{live_server.url}/conversations/c1/")  # hx-push-url
        assert page.locator("#list-title").inner_text() == "Unassigned"  # the list is still there

    # "?" shows the list of shortcuts; Escape closes it.
    page.locator('li[data-id="c1"] [data-row-link]').focus()
    page.keyboard.press("?")
    help_dialog = page.locator("#keyboard-help")
    assert help_dialog.is_visible()
    assert "Next conversation" in help_dialog.inner_text()
    page.keyboard.press("Escape")
    assert not help_dialog.is_visible()


def test_single_key_shortcuts_can_be_switched_off(live_server, page, unassigned):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "password-sam")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/inbox/unassigned/")
    page.click("text=Keyboard shortcuts")
    page.click("text=Turn single-key shortcuts off")
    page.wait_for_url(f"{live_server.url}/inbox/unassigned/")
    assert page.get_attribute("body", "data-shortcuts") == "off"
    page.keyboard.press("j")
    assert focused_row(page) is None
    # The arrow keys still move inside the list.
    page.locator('li[data-id="c2"] [data-row-link]').focus()
    page.keyboard.press("ArrowDown")
    assert focused_row(page) == "c1"
