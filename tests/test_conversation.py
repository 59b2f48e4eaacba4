"""The conversation page: the thread and its parts, the customer sidebar, regions for htmx, polling, presence."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from intercom_mirror import sync
from intercom_mirror.actions import core
from intercom_mirror.models import (
    Admin,
    Company,
    Contact,
    Conversation,
    ConversationPart,
    ConversationViewer,
    Segment,
    StaffProfile,
    Tag,
    Team,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


# --- fixtures shared by the tests/test_conversation*.py files ----------------------------


@pytest.fixture
def support_user(django_user_model):
    """A staff user who is not a superuser, in the "Support staff" group."""
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    return user


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def mirror(sandbox, monkeypatch):
    """The sandbox's workspace mirrored, and the actions' clients pointed at the sandbox."""
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    monkeypatch.setattr(core, "web_client", lambda: sandbox.new_client(max_retries=1))
    monkeypatch.setattr(core, "worker_client", sandbox.new_client)
    return sandbox


@pytest.fixture
def linked(support_user):
    """Link the support user to an Intercom admin (the first live one), so they may write."""
    admin = Admin.objects.live().first() or Admin.objects.create(intercom_id="a1", name="Alice Admin")  # make_people's
    StaffProfile.objects.update_or_create(user=support_user, defaults={"admin": admin})
    return admin


def make_people() -> None:
    Admin.objects.update_or_create(intercom_id="a1", defaults={"name": "Alice Admin", "email": "alice@corp.example"})
    Admin.objects.create(intercom_id="a2", name="Bob Admin", email="bob@corp.example")
    Team.objects.create(intercom_id="t1", name="Billing")
    jane = Contact.objects.create(
        intercom_id="c1",
        role="user",
        name="Jane Customer",
        email="jane@example.com",
        city="Lyon",
        country="France",
        custom_attributes={"plan": "<b>pro</b>", "seats": 3, "flags": {"beta": True}},
    )
    jane.companies.add(Company.objects.create(intercom_id="co1", name="Acme SARL"))
    jane.tags.add(Tag.objects.create(intercom_id="tag1", name="VIP"))
    jane.segments.add(Segment.objects.create(intercom_id="s1", name="Active"))


def part(conv: Conversation, n: int, part_type: str, author: tuple[str, str], body: str = "", **extra) -> None:
    raw = {"id": f"{conv.intercom_id}-{n}", "part_type": part_type, **extra.pop("raw", {})}
    ConversationPart.objects.create(
        conversation=conv,
        intercom_id=f"{conv.intercom_id}-{n}",
        part_type=part_type,
        body=body,
        author_type=author[0],
        author_intercom_id=author[1],
        created_at=T0 + timedelta(minutes=n),
        raw=raw,
        **extra,
    )


def make_conversation(intercom_id: str = "900", **fields) -> Conversation:
    values = {
        "customer_id": "c1",
        "state": "open",
        "body": "<p>Hello, my invoice is wrong</p>",
        "author_type": "user",
        "author_intercom_id": "c1",
        "created_at": T0,
        "updated_at": T0 + timedelta(hours=1),
        "raw": {"id": intercom_id, "customers": [{"type": "user", "id": "c1"}]},
        **fields,
    }
    return Conversation.objects.create(intercom_id=intercom_id, **values)


def make_thread(intercom_id: str = "900", **fields) -> Conversation:
    """Return a conversation with one part of every kind, by Jane (customer), Alice and Bob (admins)."""
    conv = make_conversation(intercom_id, **fields)
    part(conv, 1, "comment", ("user", "c1"), "<p>Any news?</p>")
    part(conv, 2, "comment", ("admin", "a1"), "<p>Looking into it.</p>")
    part(conv, 3, "note", ("admin", "a2"), "<p>Refund approved internally</p>")
    part(conv, 4, "assignment", ("admin", "a1"), assigned_to_type="team", assigned_to_intercom_id="t1")
    part(conv, 5, "close", ("admin", "a2"))
    part(conv, 6, "open", ("admin", "a1"))
    part(conv, 7, "snoozed", ("admin", "a1"))
    part(conv, 8, "comment", ("bot", ""), "<p>Operator here</p>")
    return conv


def make_long_thread(n: int, intercom_id: str = "901") -> Conversation:
    """Return a conversation of n parts, each customer message by a different contact and each reply by a different admin."""
    conv = make_conversation(intercom_id)
    for i in range(n):
        if i % 3 == 0:
            Contact.objects.create(intercom_id=f"cx{intercom_id}-{i}", role="user", name=f"Customer {i}")
            part(conv, i, "comment", ("user", f"cx{intercom_id}-{i}"), f"<p>message {i}</p>")
        elif i % 3 == 1:
            Admin.objects.create(intercom_id=f"ax{intercom_id}-{i}", name=f"Admin {i}")
            part(conv, i, "comment", ("admin", f"ax{intercom_id}-{i}"), f"<p>reply {i}</p>")
        else:
            part(conv, i, "assignment", ("admin", "a1"), assigned_to_type="team", assigned_to_intercom_id="t1")
    return conv


def page_of(client, conv: Conversation, **headers) -> str:
    response = client.get(f"/conversations/{conv.intercom_id}/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def text_of(page: str) -> str:
    """Return the page's text with tags removed and whitespace collapsed (for reading sentences)."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


# --- the thread ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_every_kind_of_part_in_order(support_client):
    make_people()
    conv = make_thread(state="snoozed", snoozed_until=T0 + timedelta(days=1))
    page = page_of(support_client, conv)
    text = text_of(page)
    order = [
        "Hello, my invoice is wrong",
        "Any news?",
        "Looking into it.",
        "Refund approved internally",
        "Assigned to Billing by Alice Admin",
        "Closed by Bob Admin",
        "Reopened by Alice Admin",
        "Snoozed until Tue 3 Nov, 09:00 by Alice Admin",
        "Operator here",
    ]
    positions = [text.index(sentence) for sentence in order]
    assert positions == sorted(positions)
    assert 'class="message message-customer" id="part-900-1"' in page
    assert 'class="message message-admin" id="part-900-2"' in page
    assert 'class="message message-note" id="part-900-3"' in page
    assert 'class="message message-bot" id="part-900-8"' in page
    assert '<span class="note-label">Note</span>' in page
    assert "Jane Customer" in text and "Bob Admin" in text


@pytest.mark.django_db
def test_it_says_snoozed_without_a_time_for_an_earlier_snooze(support_client):
    make_people()
    conv = make_thread()  # open again: its snooze is over, and v1 parts do not say until when
    assert "Snoozed by Alice Admin" in text_of(page_of(support_client, conv))


@pytest.mark.django_db
def test_it_shows_attachments_as_links_and_drops_unsafe_ones(support_client):
    make_people()
    conv = make_conversation(
        raw={
            "customers": [{"type": "user", "id": "c1"}],
            "conversation_message": {"attachments": [{"name": "invoice.pdf", "url": "https://up.example/i.pdf"}]},
        }
    )
    part(
        conv,
        1,
        "comment",
        ("user", "c1"),
        "<p>see</p>",
        raw={"attachments": [{"name": "x.js", "url": "javascript:alert(1)"}]},
    )
    page = page_of(support_client, conv)
    assert (
        '<a href="https://up.example/i.pdf" target="_blank" rel="noopener noreferrer nofollow">📎 invoice.pdf</a>'
        in page
    )
    assert "📎 x.js" in page
    assert "javascript:" not in page


@pytest.mark.django_db
def test_it_shows_every_customer_of_a_group_conversation(support_client):
    make_people()
    Contact.objects.create(intercom_id="c2", role="lead", name="Lee Lead")
    conv = make_conversation(raw={"customers": [{"type": "user", "id": "c1"}, {"type": "lead", "id": "c2"}]})
    assert "with Jane Customer, Lee Lead" in text_of(page_of(support_client, conv))


@pytest.mark.django_db
def test_it_says_when_parts_are_missing(support_client):
    make_people()
    conv = make_conversation(parts_total=742, parts_synced=500)
    assert "Intercom returned 500 of 742 parts" in page_of(support_client, conv)


@pytest.mark.django_db
def test_it_does_not_mention_missing_parts_when_none_are(support_client):
    make_people()
    conv = make_conversation(parts_total=3, parts_synced=3)
    assert "Intercom returned" not in page_of(support_client, conv)


@pytest.mark.django_db
def test_it_shows_the_header(support_client):
    make_people()
    conv = make_thread(assignee_team_id="t1", read=False)
    conv.tags.add(Tag.objects.create(intercom_id="tag2", name="billing-issue"))
    text = text_of(page_of(support_client, conv))
    assert "Conversation with Jane Customer" in text
    assert "Open" in text and "Unread" in text and "Assigned to Billing" in text and "billing-issue" in text
    assert "← Inbox" in text


@pytest.mark.django_db
def test_it_answers_404_for_a_conversation_not_in_the_mirror(support_client):
    assert support_client.get("/conversations/404404/").status_code == 404


# --- the customer sidebar ----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_customer(support_client):
    make_people()
    conv = make_thread()
    make_conversation("902", subject="Older question", updated_at=T0 - timedelta(days=3))
    make_conversation("903", customer_id="someone-else")
    page = page_of(support_client, conv)
    sidebar = page[page.index('<aside class="customer-sidebar"') :]
    text = text_of(sidebar)
    for fact in ("Jane Customer", "jane@example.com", "User", "Lyon, France", "Acme SARL", "VIP", "Active"):
        assert fact in text
    assert "<dt>plan</dt><dd>&lt;b&gt;pro&lt;/b&gt;</dd>" in sidebar  # custom attributes are escaped
    assert "<dt>seats</dt><dd>3</dd>" in sidebar
    assert "<dt>flags</dt><dd>{&quot;beta&quot;: true}</dd>" in sidebar
    assert 'href="/conversations/902/"' in sidebar and "Older question" in sidebar
    assert "/conversations/903/" not in sidebar
    assert "“Tag” tags the customer" in text


@pytest.mark.django_db
def test_it_says_when_the_customer_is_not_mirrored(support_client):
    make_people()
    conv = make_conversation(customer_id="c-unknown")
    assert "customer is not in the mirror yet" in page_of(support_client, conv)


@pytest.mark.django_db
def test_a_long_thread_shows_its_latest_parts_and_opens_earlier_ones_on_request(support_client, linked):
    make_people()
    conv = make_long_thread(250, "907")  # parts 907-0 … 907-249, a minute apart
    page = page_of(support_client, conv)
    shown = re.findall(r'id="part-907-(\d+)"', page)
    assert [int(i) for i in shown] == list(range(150, 250))  # the latest 100, in order
    assert 'id="part-opening"' not in page  # the opening message is earlier still
    more = re.search(r'<a href="(/conversations/907/\?parts=200#part-907-150)"\s+hx-get="([^"]+)"', page)
    assert more and "Show earlier messages" in page
    assert more.group(2) == "/conversations/907/live/?parts=200"

    # The plain link: the page with 200 parts, the poll asking for as many.
    page = page_of_url(support_client, more.group(1))
    assert [int(i) for i in re.findall(r'id="part-907-(\d+)"', page)] == list(range(50, 250))
    assert "/conversations/907/live/?v=" in page and "&amp;parts=200" in page
    # htmx: the live region alone, with 300 parts, then the whole thread and no link.
    live = support_client.get("/conversations/907/live/?parts=300", HTTP_HX_REQUEST="true").content.decode()
    assert len(re.findall(r'id="part-907-(\d+)"', live)) == 250 and 'id="part-opening"' in live
    assert "Show earlier messages" not in live


@pytest.mark.django_db
def test_the_parts_asked_for_are_bounded_and_junk_is_ignored(support_client, linked):
    from dashboard.conversations.thread import MAX_SHOWN, WINDOW, shown_parts

    assert [shown_parts(v) for v in (None, "", "junk", "-5", "1", "100", "101", "250")] == [
        WINDOW, WINDOW, WINDOW, WINDOW, WINDOW, WINDOW, 2 * WINDOW, 3 * WINDOW,
    ]  # fmt: skip
    assert shown_parts("99999999") == MAX_SHOWN
    make_people()
    make_long_thread(3, "908")
    assert 'id="part-opening"' in page_of_url(support_client, "/conversations/908/?parts=junk")


def page_of_url(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- query counts ------------------------------------------------------------------------------


def count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as queries:
        fn()
    return len(queries)


@pytest.mark.django_db
def test_the_thread_costs_the_same_queries_for_5_or_100_parts(support_client, linked, django_assert_max_num_queries):
    make_people()
    small, big = make_long_thread(5, "905"), make_long_thread(100, "906")
    live = "/conversations/{}/live/"
    for conv in (small, big):  # the first view of each inserts the viewer's presence row
        support_client.get(live.format(conv.intercom_id))
    queries = count_queries(lambda: support_client.get(live.format(small.intercom_id)))
    assert queries <= 13
    with django_assert_max_num_queries(queries):
        response = support_client.get(live.format(big.intercom_id))
    assert "reply 97" in response.content.decode() and "Customer 99" in response.content.decode()


@pytest.mark.django_db
def test_the_page_and_sidebar_cost_the_same_queries_however_big_the_customer(
    support_client, linked, django_assert_max_num_queries
):
    make_people()
    small = make_long_thread(5, "907")
    big = make_long_thread(100, "908")
    for conv in (small, big):  # the first view of each inserts the viewer's presence row
        support_client.get(f"/conversations/{conv.intercom_id}/")
    queries = count_queries(lambda: support_client.get(f"/conversations/{small.intercom_id}/"))
    assert queries <= 20
    jane = Contact.objects.get(intercom_id="c1")
    for i in range(30):
        make_conversation(f"99{i:02}")
        jane.tags.add(Tag.objects.create(intercom_id=f"tag-{i}", name=f"tag {i}"))
        jane.companies.add(Company.objects.create(intercom_id=f"co-{i}", name=f"Company {i}"))
        jane.segments.add(Segment.objects.create(intercom_id=f"s-{i}", name=f"Segment {i}"))
    with django_assert_max_num_queries(queries):
        page = page_of(support_client, big)
    assert "Company 29" in page and "tag 29" in page and "Segment 29" in page


@pytest.mark.django_db
def test_the_sidebar_alone_costs_four_queries():
    from django.template.loader import render_to_string

    from dashboard.conversations.customer import sidebar_context
    from dashboard.conversations.thread import get_conversation

    make_people()
    make_thread()
    for i in range(10):
        make_conversation(f"98{i:02}")
    conv = get_conversation("900")

    def render():
        render_to_string("dashboard/conversation/detail.html#sidebar", {"conversation": conv, **sidebar_context(conv)})

    # companies, tags, segments, other conversations (the customer comes with the conversation)
    assert count_queries(render) == 4


# --- regions for htmx, polling -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_returns_the_pane_alone_to_the_inbox(support_client):
    make_people()
    conv = make_thread()
    page = page_of(support_client, conv, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="conversation-pane")
    assert "<html" not in page and 'id="conversation-live"' in page and 'id="composer"' in page
    assert "customer-sidebar" in page
    assert "/static/css/thread.css" in page and "/static/js/thread.js" in page  # the pane brings its own
    response = support_client.get(f"/conversations/{conv.intercom_id}/", HTTP_HX_REQUEST="true")
    assert "<html" in response.content.decode()  # another target gets the whole page
    assert "HX-Target" in response["Vary"]


@pytest.mark.django_db
def test_the_poll_answers_204_until_something_changes(support_client):
    make_people()
    conv = make_thread()
    url = f"/conversations/{conv.intercom_id}/live/"
    first = support_client.get(url, HTTP_HX_REQUEST="true")
    assert first.status_code == 200
    body = first.content.decode()
    assert 'id="composer"' not in body  # the composer is never polled
    digest = re.search(r"live/\?v=([0-9a-f]+)", body).group(1)
    assert support_client.get(url, {"v": digest}, HTTP_HX_REQUEST="true").status_code == 204
    part(conv, 50, "comment", ("user", "c1"), "<p>Hello again</p>")
    changed = support_client.get(url, {"v": digest}, HTTP_HX_REQUEST="true")
    assert changed.status_code == 200 and "Hello again" in changed.content.decode()


@pytest.mark.django_db
def test_the_poll_stops_when_the_conversation_is_gone(support_client):
    response = support_client.get("/conversations/404404/live/", HTTP_HX_REQUEST="true")
    assert response.status_code == 286


# --- presence --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_teammates_who_have_the_conversation_open(support_client, support_user, django_user_model):
    make_people()
    conv = make_thread()
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw", is_staff=True, first_name="Bob")
    carol = django_user_model.objects.create_user("carol", "carol@example.com", "pw", is_staff=True)
    ConversationViewer.objects.create(user=bob, conversation_intercom_id=conv.intercom_id)
    stale = timezone.now() - timedelta(seconds=31)
    ConversationViewer.objects.create(user=carol, conversation_intercom_id=conv.intercom_id, seen_at=stale)
    page = support_client.get(f"/conversations/{conv.intercom_id}/live/").content.decode()
    assert "Bob is also here" in page
    assert "carol" not in page
    mine = ConversationViewer.objects.get(user=support_user, conversation_intercom_id=conv.intercom_id)
    assert timezone.now() - mine.seen_at < timedelta(seconds=5)


@pytest.mark.django_db
def test_each_poll_refreshes_the_viewers_row(support_client, support_user):
    make_people()
    conv = make_thread()
    ConversationViewer.objects.create(
        user=support_user, conversation_intercom_id=conv.intercom_id, seen_at=timezone.now() - timedelta(minutes=5)
    )
    support_client.get(f"/conversations/{conv.intercom_id}/live/", {"v": "x"})
    row = ConversationViewer.objects.get(user=support_user)
    assert timezone.now() - row.seen_at < timedelta(seconds=5)
    assert ConversationViewer.objects.count() == 1


# --- who may see it ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_needs_a_staff_login(client, django_user_model):
    make_people()
    conv = make_thread()
    for url in (f"/conversations/{conv.intercom_id}/", f"/conversations/{conv.intercom_id}/live/"):
        assert client.get(url)["Location"].startswith("/login/")
    for url in ("send", "act"):
        response = client.post(f"/conversations/{conv.intercom_id}/{url}/", {"body": "hi"})
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(django_user_model.objects.create_user("nostaff", password="pw"))
    assert client.get(f"/conversations/{conv.intercom_id}/")["Location"].startswith("/login/")


@pytest.mark.django_db
def test_a_user_without_an_admin_can_read_but_not_write(support_client):
    make_people()
    conv = make_thread()
    page = page_of(support_client, conv)
    assert "Your account is not linked to an Intercom admin" in page
    assert re.search(r'<textarea id="composer-body" name="body" rows="4" disabled>', page)
    assert re.search(r'value="close" data-shortcut="e" disabled>Close</button>', page)
    assert re.search(r'<select id="assignee" name="assignee" data-shortcut="a" disabled>', page)


@pytest.mark.django_db
def test_it_marks_the_controls_for_the_keyboard(support_client, linked):
    make_people()
    conv = make_thread()
    page = page_of(support_client, conv)
    for key, name in (("r", "reply"), ("n", "note")):
        assert re.search(
            rf'<input type="radio" name="mode" value="{name}" id="mode-{name}" data-shortcut="{key}"', page
        )
    assert (
        'data-shortcut="a"' in page
        and 'data-shortcut="e"' in page
        and '<summary data-shortcut="s">Snooze</summary>' in page
    )
    assert "Your account is not linked" not in page
    for name in (
        ">Reply</label>",
        ">Note</label>",
        ">Send</button>",
        ">Assign</button>",
        ">Close</button>",
        ">Tag</button>",
    ):
        assert name in page


def test_it_labels_entry_times_as_the_date_filter_would():
    from django.template.defaultfilters import date

    from dashboard.conversations.thread import Entry, label_times

    moments = [T0 + timedelta(days=37 * i, seconds=4001 * i, microseconds=13 * i) for i in range(12)]
    entries = [Entry("admin", "Ann", moment) for moment in moments] + [Entry("event", "Ann", None)]
    label_times(entries)
    assert [(e.iso, e.when) for e in entries[:-1]] == [(date(m, "c"), date(m, "D j M, H:i")) for m in moments]
    assert (entries[-1].iso, entries[-1].when) == ("", "")


@pytest.mark.django_db
def test_a_search_result_opens_its_thread_at_the_part_that_matched(support_client, linked):
    from django.core.management import call_command

    make_people()
    make_long_thread(250, "909")
    ConversationPart.objects.filter(intercom_id="909-31").update(body="<p>the zanzibar invoice</p>")
    call_command("intercom_search_rebuild", verbosity=0)
    results = page_of_url(support_client, "/search/?q=zanzibar")
    link = re.search(r'<a class="hit-title" href="(/conversations/909/\?match=(\d+))"', results)
    assert link and int(link.group(2)) == ConversationPart.objects.get(intercom_id="909-31").pk
    response = support_client.get(link.group(1))
    # 219 parts from 909-31 to the end: the page shows the latest 300, scrolled to the match.
    assert response.status_code == 302 and response.url == "/conversations/909/?parts=300#part-909-31"
    assert 'id="part-909-31"' in page_of_url(support_client, response.url)
    # A pointer to nothing (deleted, another conversation's, junk) opens the page as it is.
    elsewhere = make_long_thread(1, "910").parts.get().pk
    for junk in ("junk", "0", str(elsewhere)):
        assert support_client.get(f"/conversations/909/?match={junk}").url == "/conversations/909/"
