"""A contact's page, from a hand-made mirror: what it shows, escaping and sanitising, redirects, query count."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.contacts.attributes import typed
from intercom_mirror.models import Admin, Company, Contact, Conversation, Note, Segment, StaffProfile, Tag

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_intercom(monkeypatch):
    """These pages never wait on Intercom: the regions that ask it are loaded apart, and tested elsewhere."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ann(db):
    return Admin.objects.create(intercom_id="a1", name="Ann Admin", email="ann@corp.test")


@pytest.fixture
def sam_client(client, django_user_model, ann):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    StaffProfile.objects.create(user=user, admin=ann)
    client.force_login(user)
    return client


@pytest.fixture
def ada(ann):
    contact = Contact.objects.create(
        intercom_id="u1",
        role="user",
        name="Ada Lovelace",
        email="ada@example.com",
        user_id="ADA-1",
        phone="+44 20 7946 0000",
        city="London",
        country="United Kingdom",
        created_at=T0,
        signed_up_at=T0,
        last_request_at=T0 + timedelta(days=3),
        session_count=1234,
        custom_attributes={
            "trial_ends_at": 1767225600,  # 2026-01-01 00:00 UTC
            "renewal_date": 1767225600,
            "seats": 12,
            "homepage": "https://ada.example/notes",
            "beta_user": True,
            "score": 1767225600,
            "js": "javascript:alert(1)",
            "nested": {"a": [1, 2]},
            "empty": None,
        },
    )
    contact.companies.add(Company.objects.create(intercom_id="co1", company_id="1001", name="Analytical Engines"))
    contact.tags.add(Tag.objects.create(intercom_id="t1", name="VIP"))
    contact.segments.add(Segment.objects.create(intercom_id="s1", name="Active"))
    Conversation.objects.create(intercom_id="c1", customer_id="u1", subject="Help with the engine", state="open")
    Conversation.objects.create(intercom_id="c2", customer_id="u1", body="<p>Second <b>one</b></p>", state="closed")
    Note.objects.create(
        intercom_id="n1",
        contact_id="u1",
        author_id="a1",
        body='<p>Met at <b>the</b> fair</p><script>alert("x")</script><a href="javascript:alert(1)">link</a>',
        created_at=T0,
    )
    return contact


@pytest.mark.django_db
def test_it_shows_attributes_companies_tags_segments_conversations_and_notes(sam_client, ada):
    html = sam_client.get("/contacts/u1/").content.decode()
    for text in ("Ada Lovelace", "ada@example.com", "ADA-1", "+44 20 7946 0000", "London, United Kingdom", "1,234"):
        assert text in html, text
    assert 'href="/companies/co1/"' in html and "Analytical Engines" in html
    assert "VIP" in html and "Active" in html
    assert 'href="/conversations/c1/"' in html and "Help with the engine" in html
    assert 'href="/conversations/c2/"' in html and "Second one" in html  # the body as plain text
    assert "Met at <b>the</b> fair" in html and "Ann Admin" in html
    # The regions that ask Intercom load on their own, after the page.
    assert 'hx-get="/contacts/u1/events/" hx-trigger="load"' in html
    assert 'hx-get="/contacts/u1/notes/" hx-trigger="load"' in html


@pytest.mark.django_db
def test_custom_attributes_are_typed(sam_client, ada):
    html = sam_client.get("/contacts/u1/").content.decode()
    attrs = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", html))
    assert attrs["trial_ends_at"] == '<time datetime="2026-01-01T00:00:00+00:00">1 Jan 2026, 00:00</time>'
    assert "1 Jan 2026" in attrs["renewal_date"]
    assert attrs["score"] == "1767225600"  # an integer, not under a date key
    assert attrs["seats"] == "12" and attrs["beta_user"] == "Yes"
    assert attrs["homepage"] == (
        '<a href="https://ada.example/notes" target="_blank" rel="noopener noreferrer nofollow">https://ada.example/notes</a>'
    )
    assert attrs["js"] == "javascript:alert(1)"  # text, never a link
    assert attrs["nested"] == "<code>{&quot;a&quot;: [1, 2]}</code>"
    assert "empty" not in attrs


def test_typed_values():
    assert typed("created_at", 0).kind == "number"  # 0 is no date
    assert typed("x_at", 10**15).kind == "number"  # far beyond year 9999
    assert typed("x_date", 1700000000.0).kind == "date"
    assert typed("link", {"url": "https://example.com/a"}).kind == "url"
    assert typed("total", {"amount": 3499, "currency": "eur"}).value == "34.99 EUR"
    assert typed("bad", "https://exa mple.com").kind == "text"


@pytest.mark.django_db
def test_untrusted_text_is_escaped_and_note_html_sanitised(sam_client, ann):
    evil = '<img src=x onerror="alert(1)">'
    contact = Contact.objects.create(
        intercom_id="u9", role="user", name=evil, email=f"{evil}@x.test", custom_attributes={evil: evil}
    )
    contact.tags.add(Tag.objects.create(intercom_id="t9", name=evil))
    Note.objects.create(intercom_id="n9", contact_id="u9", body=f"<p>ok</p>{evil}<script>alert(2)</script>")
    html = sam_client.get("/contacts/u9/").content.decode()
    assert "onerror" not in html.replace("onerror=&quot;", "")
    assert "<script>alert(2)" not in html and "alert(2)" not in html
    assert "&lt;img src=x" in html


@pytest.mark.django_db
def test_a_merged_lead_redirects_to_the_user_it_was_merged_into(sam_client, ann):
    Contact.objects.create(intercom_id="u1", role="user", name="Ada")
    Contact.objects.create(intercom_id="l1", role="lead", deleted_at=timezone.now(), merged_into_id="l2")
    Contact.objects.create(intercom_id="l2", role="user", deleted_at=timezone.now(), merged_into_id="u1")
    response = sam_client.get("/contacts/l1/")
    assert response.status_code == 302 and response["Location"] == "/contacts/u1/"


@pytest.mark.django_db
def test_a_deleted_contact_is_shown_read_only_and_an_unknown_one_is_not_found(sam_client, ann):
    Contact.objects.create(intercom_id="u1", role="user", name="Gone", deleted_at=timezone.now())
    html = sam_client.get("/contacts/u1/").content.decode()
    assert "no longer exists in Intercom" in html
    assert re.search(r'<button type="submit" class="primary" disabled>Add note', html)
    assert sam_client.get("/contacts/nobody/").status_code == 404


@pytest.mark.django_db
def test_a_lead_offers_conversion_prefilled_and_users_sharing_its_email_first(sam_client, ann):
    Contact.objects.create(intercom_id="l1", role="lead", email="Pat@Example.com", user_id="anon-uuid")
    Contact.objects.create(intercom_id="u1", role="user", name="Pat Same", email="pat@example.com")
    Contact.objects.create(intercom_id="u2", role="user", name="Pat Other", email="pat.other@example.com")
    html = sam_client.get("/contacts/l1/").content.decode()
    assert 'id="convert-user-id" name="user_id" value="anon-uuid"' in html
    assert 'id="convert-email" name="email" value="Pat@Example.com"' in html
    assert re.search(r'name="into" value="u1" checked', html)  # same email, any case: first and chosen
    assert 'value="u2"' not in html
    # The search finds more; those sharing the email stay first.
    response = sam_client.get("/contacts/l1/?merge_q=pat", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="merge-candidates")
    found = re.findall(r'name="into" value="([^"]+)"', response.content.decode())
    assert found == ["u1", "u2"] and "<html" not in response.content.decode()


@pytest.mark.django_db
def test_a_user_shows_no_conversion(sam_client, ada):
    html = sam_client.get("/contacts/u1/").content.decode()
    assert "Convert to user" not in html and "Merge into user" not in html


@pytest.mark.django_db
def test_a_user_not_linked_to_an_admin_reads_but_cannot_write(client, staff_user, ada):
    client.force_login(staff_user)
    html = client.get("/contacts/u1/").content.decode()
    assert "not linked to an Intercom admin" in html
    assert re.search(r'<textarea id="note-body"[^>]* disabled>', html)
    response = client.post("/contacts/u1/tags/", {"action": "tag", "name": "VIP2"}, HTTP_HX_REQUEST="true")
    assert "not linked to an Intercom admin" in response.content.decode()


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_however_much_the_contact_holds(sam_client, ann, django_assert_max_num_queries):
    def fill(contact_id: str, role: str, n: int) -> None:
        contact = Contact.objects.create(intercom_id=contact_id, role=role, email=f"{contact_id}@example.com")
        for i in range(n):
            contact.tags.add(Tag.objects.create(intercom_id=f"{contact_id}-t{i}", name=f"Tag {i}"))
            contact.companies.add(Company.objects.create(intercom_id=f"{contact_id}-co{i}", name=f"Co {i}"))
            contact.segments.add(Segment.objects.create(intercom_id=f"{contact_id}-s{i}", name=f"Seg {i}"))
            Conversation.objects.create(intercom_id=f"{contact_id}-c{i}", customer_id=contact_id)
            Note.objects.create(
                intercom_id=f"{contact_id}-n{i}", contact_id=contact_id, author_id="a1", body="<p>x</p>"
            )
            Contact.objects.create(intercom_id=f"{contact_id}-same{i}", role="user", email=f"{contact_id}@example.com")

    fill("small", "lead", 1)
    fill("large", "lead", 30)
    with CaptureQueriesContext(connection) as small:
        sam_client.get("/contacts/small/")
    with django_assert_max_num_queries(len(small)) as large:
        html = sam_client.get("/contacts/large/").content.decode()
    assert html.count('href="/conversations/large-c') == 30 and html.count('class="note"') == 30
    # Measured: 14. Session, user, the contact, staff profile ×3 (view, context processor), companies, tags,
    # segments, conversations, open actions, notes (with their authors), queued notes, users sharing the email.
    assert len(large) == len(small) <= 14
