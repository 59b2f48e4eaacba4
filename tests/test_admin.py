"""The admin: view-only pages of the mirror, with names, sanitised bodies and constant queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intercom_mirror import sync
from intercom_mirror.models import (
    Admin,
    Company,
    Contact,
    Conversation,
    ConversationPart,
    Note,
    Segment,
    SyncRun,
    SyncState,
    Tag,
    Team,
    WebhookDelivery,
)

MODELS = [
    Admin, Team, Tag, Segment, Company, Contact, Conversation, ConversationPart, Note, SyncState, SyncRun,
    WebhookDelivery,
]  # fmt: skip
CHANGELISTS = [f"/admin/intercom_mirror/{model._meta.model_name}/" for model in MODELS]
HOSTILE = '<p>Hi <b>there</b></p><script>alert(1)</script><img src="https://x.test/a.png" onerror="alert(2)">'
LONG = "Maximiliana Featherstonehaugh-Cholmondeley " * 5  # names stay within CharField(255) on PostgreSQL
T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def make_mirror(start: int = 0, stop: int = 3, *, long: bool = False) -> dict[type, object]:
    """Create rows in every mirrored model (indices start..stop) and return the first row of each."""
    text = LONG if long else ""
    email = ("x" * 80 + "@example.com") if long else ""
    first: dict[type, object] = {}

    def keep(row):
        first.setdefault(type(row), row)
        return row

    for i in range(start, stop):
        admin = keep(Admin.objects.create(intercom_id=f"a{i}", name=f"{text}Ada Admin {i}", email=f"ada{i}@x.test"))
        team = keep(Team.objects.create(intercom_id=f"t{i}", name=f"{text}Tier Two {i}"))
        team.admins.add(admin)
        tag = keep(Tag.objects.create(intercom_id=f"tag{i}", name=f"{text}VIP {i}"))
        keep(Segment.objects.create(intercom_id=f"s{i}", name=f"{text}Active {i}", person_type="user"))
        company = keep(Company.objects.create(intercom_id=f"co{i}", name=f"{text}Acme {i}", plan=f"{text}Pro"))
        contact = keep(
            Contact.objects.create(
                intercom_id=f"c{i}", role=Contact.USER, name="" if long and i == 0 else f"{text}Carla Contact {i}",
                email=email or f"carla{i}@x.test", updated_at=T0 + timedelta(minutes=i),
                raw={"id": f"c{i}", "name": "<b>raw</b>"},
            )
        )  # fmt: skip
        contact.tags.add(tag)
        contact.companies.add(company)
        conversation = keep(
            Conversation.objects.create(
                intercom_id=f"conv{i}", customer=contact, assignee_admin=admin, assignee_team=team,
                subject=f"{text}Subject {i}" if i % 2 else "", body=HOSTILE + text,
                author_type="user", author_intercom_id=contact.intercom_id, updated_at=T0 + timedelta(minutes=i),
            )
        )  # fmt: skip
        keep(
            ConversationPart.objects.create(
                intercom_id=f"p{i}", conversation=conversation, part_type="comment",
                body=f"<p>{text}Latest reply {i}</p><script>alert(3)</script>", author_type="admin",
                author_intercom_id=admin.intercom_id, assigned_to_type="team", assigned_to_intercom_id=team.intercom_id,
                created_at=T0 + timedelta(minutes=i),
            )
        )  # fmt: skip
        ConversationPart.objects.create(
            intercom_id=f"q{i}", conversation=conversation, part_type="comment", body=f"<p>Question {i}</p>",
            author_type="user", author_intercom_id=contact.intercom_id, created_at=T0 - timedelta(minutes=1),
        )  # fmt: skip
        keep(Note.objects.create(intercom_id=f"n{i}", contact=contact, author=admin, body=HOSTILE + text))
        keep(SyncRun.objects.create(resource="contacts", kind=SyncRun.FULL, errors=text))
        keep(SyncState.objects.create(resource=f"resource{i} {text}"[:32], locked_by=text[:64]))
        keep(WebhookDelivery.objects.create(notification_id=f"notif{i}", topic="user.created", outcome=text or "ok"))
    return first


def change_url(row) -> str:
    return f"/admin/intercom_mirror/{row._meta.model_name}/{row.pk}/change/"


@pytest.fixture
def synced(sandbox, settings):
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    return sandbox


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "password-root")
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url", CHANGELISTS)
def test_it_lists_every_mirrored_model(synced, superuser_client, url):
    assert superuser_client.get(url).status_code == 200


@pytest.mark.django_db
def test_it_searches_contacts_by_email(synced, superuser_client):
    contact = Contact.objects.exclude(email="").first()
    response = superuser_client.get("/admin/intercom_mirror/contact/", {"q": contact.email})
    assert contact.email in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", CHANGELISTS)
def test_it_lists_without_a_query_per_row(superuser_client, url):
    make_mirror(0, 2)
    superuser_client.get(url)  # warm the session and content type caches
    with CaptureQueriesContext(connection) as few:
        assert superuser_client.get(url).status_code == 200
    make_mirror(2, 30)
    with CaptureQueriesContext(connection) as many:
        assert superuser_client.get(url).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many]


@pytest.mark.django_db
def test_it_keeps_synced_fields_read_only(superuser_client):
    contact = make_mirror()[Contact]
    page = superuser_client.get(change_url(contact)).content.decode()
    assert 'name="email"' not in page
    assert 'name="_save"' not in page
    response = superuser_client.post(change_url(contact), {"email": "edited@example.com", "name": "Edited"})
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.email != "edited@example.com"
    assert superuser_client.get("/admin/intercom_mirror/contact/add/").status_code == 403
    assert superuser_client.get(f"/admin/intercom_mirror/contact/{contact.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_it_names_customers_and_assignees_on_conversations(superuser_client):
    rows = make_mirror()
    page = superuser_client.get("/admin/intercom_mirror/conversation/").content.decode()
    assert f'<a href="{change_url(rows[Contact])}">Carla Contact 0</a>' in page
    assert f'<a href="{change_url(rows[Admin])}">Ada Admin 0</a>' in page
    assert f'<a href="{change_url(rows[Team])}">Tier Two 0</a>' in page
    detail = superuser_client.get(change_url(rows[Conversation])).content.decode()
    assert f'<a href="{change_url(rows[Contact])}">Carla Contact 0</a>' in detail
    assert f'<a href="{change_url(rows[Team])}">Tier Two 0</a>' in detail


@pytest.mark.django_db
def test_it_names_authors_and_assignees_of_parts_and_notes(superuser_client):
    rows = make_mirror()
    parts = superuser_client.get("/admin/intercom_mirror/conversationpart/").content.decode()
    assert f'<a href="{change_url(rows[Admin])}">Ada Admin 0</a>' in parts  # author_type admin
    assert f'<a href="{change_url(rows[Contact])}">Carla Contact 0</a>' in parts  # author_type user
    assert f'<a href="{change_url(rows[Team])}">Tier Two 0</a>' in parts  # assigned to a team
    notes = superuser_client.get("/admin/intercom_mirror/note/").content.decode()
    assert f'<a href="{change_url(rows[Contact])}">Carla Contact 0</a>' in notes
    assert f'<a href="{change_url(rows[Admin])}">Ada Admin 0</a>' in notes
    detail = superuser_client.get(change_url(rows[ConversationPart])).content.decode()
    assert f'<a href="{change_url(rows[Admin])}">Ada Admin 0</a>' in detail


@pytest.mark.django_db
def test_it_shows_the_id_of_a_person_not_mirrored_yet(superuser_client):
    rows = make_mirror(0, 1)
    Conversation.objects.update(customer_id="c-missing")
    ConversationPart.objects.update(author_type="bot", author_intercom_id="b-missing")
    assert "c-missing (not mirrored)" in superuser_client.get(change_url(rows[Conversation])).content.decode()
    assert "bot b-missing" in superuser_client.get("/admin/intercom_mirror/conversationpart/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Conversation, ConversationPart, Note])
def test_it_renders_bodies_sanitised(superuser_client, model):
    page = superuser_client.get(change_url(make_mirror()[model])).content.decode()
    assert "<script>" not in page.split('id="content"')[1]
    assert "alert(" not in page
    assert "onerror" not in page
    if model is not ConversationPart:
        assert '<p>Hi <b>there</b></p><img src="https://x.test/a.png">' in page


@pytest.mark.django_db
def test_it_renders_the_parts_of_a_conversation_sanitised(superuser_client):
    page = superuser_client.get(change_url(make_mirror()[Conversation])).content.decode()
    assert "<p>Latest reply 0</p>" in page
    assert "alert(3)" not in page


@pytest.mark.django_db
def test_it_shows_bodies_as_plain_text_excerpts_in_changelists(superuser_client):
    make_mirror(0, 1, long=True)
    notes = superuser_client.get("/admin/intercom_mirror/note/").content.decode()
    cell = re.search(r'<th class="field-body_excerpt"><a [^>]*>(.*?)</a>', notes).group(1)
    assert cell.startswith("Hi there Maximiliana")
    assert cell.endswith("…")
    assert len(cell) == 60
    assert "alert" not in notes


@pytest.mark.django_db
def test_it_shows_the_subject_or_else_the_last_message(superuser_client):
    make_mirror(0, 2)
    Conversation.objects.create(intercom_id="bare", body="<p>Only &amp; opening</p>")
    page = superuser_client.get("/admin/intercom_mirror/conversation/").content.decode()
    assert "Subject 1" in page  # conv1 has a subject
    assert "Latest reply 0" in page  # conv0 has none: its latest part
    assert "Question 0" not in page
    assert "Only &amp;amp; opening" not in page
    assert "Only &amp; opening" in page  # no parts: the opening message, unescaped once then escaped again


@pytest.mark.django_db
def test_it_shows_and_filters_contacts_by_tag(superuser_client):
    make_mirror(0, 2)
    page = superuser_client.get("/admin/intercom_mirror/contact/").content.decode()
    assert '<td class="field-tag_names">VIP 0</td>' in page
    vip1 = Tag.objects.get(name="VIP 1")
    filtered = superuser_client.get("/admin/intercom_mirror/contact/", {"tag": vip1.pk}).content.decode()
    assert "Carla Contact 1" in filtered
    assert "Carla Contact 0" not in filtered


@pytest.mark.django_db
def test_it_pretty_prints_raw_json_escaped(superuser_client):
    page = superuser_client.get(change_url(make_mirror()[Contact])).content.decode()
    assert (
        '<pre class="mirror-json">{\n  &quot;id&quot;: &quot;c0&quot;,\n  &quot;name&quot;: &quot;&lt;b&gt;raw' in page
    )


@pytest.mark.django_db
def test_it_resyncs_selected_conversations_from_intercom(synced, superuser_client, monkeypatch):
    monkeypatch.setattr(sync, "make_client", lambda **kw: synced.new_client())
    conversation = Conversation.objects.first()
    Conversation.objects.filter(pk=conversation.pk).update(subject="stale")
    response = superuser_client.post(
        "/admin/intercom_mirror/conversation/",
        {"action": "resync_conversation", "_selected_action": [conversation.pk]},
        follow=True,
    )
    assert "Resynced 1" in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.subject != "stale"


SCREENSHOTS = Path("/tmp/admin-screenshots")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_fits_every_changelist_on_a_1400px_screen(live_server, page, django_user_model):
    make_mirror(0, 12, long=True)
    user = django_user_model.objects.create_superuser("root", "root@example.com", "password-root")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password-root")
    page.click("input[type=submit]")
    SCREENSHOTS.mkdir(exist_ok=True)
    for url in CHANGELISTS:
        page.goto(f"{live_server.url}{url}")
        assert page.locator("#result_list tbody tr").count() > 0, url
        page.screenshot(path=str(SCREENSHOTS / f"{url.split('/')[-2]}.png"))
        widths = page.evaluate(
            """() => ({
                page: document.documentElement.scrollWidth,
                table: document.querySelector('#result_list').scrollWidth,
                room: document.querySelector('.results').clientWidth,
            })"""
        )
        # The results box scrolls sideways on its own: the table must fit it, not just the page.
        assert widths["page"] <= 1400, (url, widths)
        assert widths["table"] <= widths["room"], (url, widths)
