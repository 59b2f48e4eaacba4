"""A company's page: attributes, typed custom attributes, tags and segments, users (keyset-paged), open conversations,
tag and untag against the sandbox, escaping, query count."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.companies.queries import typed_attributes
from intercom_mirror import sync
from intercom_mirror.actions import core, process_queued_actions
from intercom_mirror.models import Admin, Company, Contact, Conversation, Segment, StaffAction, StaffProfile, Tag
from tests.sandbox_fixtures import make_sandbox

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sam(django_user_model, db):
    """A staff user, not a superuser, in "Support staff", acting as Ann."""
    ann = Admin.objects.create(intercom_id="a1", name="Ann Admin", email="ann@corp.test")
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    StaffProfile.objects.create(user=user, admin=ann)
    return user


@pytest.fixture
def sam_client(client, sam):
    client.force_login(sam)
    return client


def acme(**fields) -> Company:
    fields = {
        "intercom_id": "co1",
        "company_id": "acme-1",
        "name": "Acme",
        "plan": "Premium",
        "monthly_spend": 2500.0,
        "session_count": 77,
        "user_count": 3,
        "size": 85,
        "website": "https://acme.example",
        "industry": "Widgets",
        "created_at": T0,
        "last_request_at": T0 + timedelta(days=2),
        **fields,
    }
    return Company.objects.create(**fields)


def user(n: int, co: Company, **fields) -> Contact:
    fields = {
        "intercom_id": f"u{n}",
        "role": "user",
        "name": f"User {n:03d}",
        "email": f"user{n}@example.com",
        "last_request_at": T0 + timedelta(minutes=n),
        **fields,
    }
    contact = Contact.objects.create(**fields)
    contact.companies.add(co)
    return contact


def conversation(n: int, customer: Contact, **fields) -> Conversation:
    fields = {
        "intercom_id": f"c{n}",
        "customer_id": customer.intercom_id,
        "state": "open",
        "subject": f"Question {n}",
        "updated_at": T0,
        **fields,
    }
    return Conversation.objects.create(**fields)


def user_names(html: str) -> list[str]:
    table = html[html.index('id="company-users"') : html.index("</section>", html.index('id="company-users"'))]
    return re.findall(r'<td class="name"><a href="/contacts/[^"]+/">([^<]+)</a>', table)


def next_url(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next"', html)
    return found and found.group(1).replace("&amp;", "&")


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_attributes_tags_and_segments(sam_client):
    co = acme()
    co.tags.add(Tag.objects.create(intercom_id="t1", name="VIP"))
    co.segments.add(Segment.objects.create(intercom_id="s1", name="Big spenders"))
    Tag.objects.create(intercom_id="t2", name="Unrelated")
    html = sam_client.get("/companies/co1/").content.decode()
    for text in ("<h1>Acme</h1>", "acme-1", "Premium", "2,500", "Widgets", ">85<", ">77<", "1 May 2024"):
        assert text in html, text
    assert '<a href="https://acme.example" rel="noopener noreferrer nofollow" target="_blank">' in html
    tags = html[html.index('id="company-tags"') : html.index("</section>", html.index('id="company-tags"'))]
    assert "VIP" in tags and 'aria-label="Untag VIP"' in tags and "Unrelated" not in tags
    # The Tag field suggests existing tags as the user types, and tags at once when one is picked.
    assert 'hx-get="/tags/autocomplete/"' in tags and "data-submit-on-pick" in tags
    assert '<script src="/static/js/contacts.js" defer></script>' in html
    assert '<li class="segment">Big spenders</li>' in html


@pytest.mark.django_db
def test_it_404s_for_an_unknown_or_deleted_company(sam_client):
    acme(deleted_at=T0)
    assert sam_client.get("/companies/co1/").status_code == 404
    assert sam_client.get("/companies/nope/").status_code == 404


def test_custom_attributes_are_typed():
    rows = {
        a.name: (a.kind, a.value)
        for a in typed_attributes(
            {
                "trial_ends_at": 1714564800,
                "renewal_date": "2025-01-31",
                "synced": "2024-05-01T12:00:00Z",
                "homepage": "https://example.com/x?y=1",
                "bad_link": "javascript:alert(1)",
                "paid": True,
                "seats": 12,
                "mrr": 99.5,
                "region": "EMEA",
                "nested": {"a": [1, 2]},
                "empty": "",
                "nothing": None,
            }
        )
    }
    assert rows["trial_ends_at"] == ("datetime", datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    assert rows["renewal_date"][0] == "date" and str(rows["renewal_date"][1]) == "2025-01-31"
    assert rows["synced"] == ("datetime", datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    assert rows["homepage"] == ("url", "https://example.com/x?y=1")
    assert rows["bad_link"] == ("text", "javascript:alert(1)")
    assert rows["paid"] == ("bool", True) and rows["seats"] == ("number", 12) and rows["mrr"] == ("number", 99.5)
    assert rows["region"] == ("text", "EMEA") and rows["nested"] == ("json", '{"a": [1, 2]}')
    assert "empty" not in rows and "nothing" not in rows
    assert list(rows) == sorted(rows, key=str.lower)


@pytest.mark.django_db
def test_custom_attributes_render_typed_and_escaped(sam_client):
    acme(
        name="<script>alert(1)</script>",
        website="javascript:alert(2)",
        custom_attributes={
            "trial_ends_at": 1714564800,
            "homepage": "https://example.com/?a=<b>",
            "bad_link": "javascript:alert(3)",
            "<i>name</i>": "<img src=x onerror=alert(4)>",
            "paid": False,
        },
    )
    html = sam_client.get("/companies/co1/").content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html and "<img src=x" not in html and "<i>name</i>" not in html
    assert "&lt;img src=x onerror=alert(4)&gt;" in html and "&lt;i&gt;name&lt;/i&gt;" in html
    assert '<time datetime="2024-05-01T12:00:00+00:00">1 May 2024, 12:00</time>' in html
    assert (
        '<a href="https://example.com/?a=&lt;b&gt;" rel="noopener noreferrer nofollow" target="_blank">'
        "https://example.com/?a=&lt;b&gt;</a>"
    ) in html
    assert "<dt>paid</dt>\n        <dd>No</dd>" in html


# --- users and their open conversations ---------------------------------------------------------


@pytest.mark.django_db
def test_it_pages_the_users_by_keyset_last_seen_first(sam_client):
    co = acme()
    for n in range(60):
        user(n, co, last_request_at=None if n % 10 == 0 else T0 + timedelta(minutes=n % 20))
    other = Company.objects.create(intercom_id="co2", name="Other")
    user(99, other)
    Contact.objects.create(intercom_id="gone", role="user", name="Gone", deleted_at=T0).companies.add(co)
    pages, url = [], "/companies/co1/"
    while url:
        html = sam_client.get(url).content.decode()
        pages.append(user_names(html))
        url = next_url(html)
    assert [len(p) for p in pages] == [25, 25, 10]
    expected = Contact.objects.filter(companies=co, deleted_at=None).order_by(
        F("last_request_at").desc(nulls_last=True), "-id"
    )
    assert [n for p in pages for n in p] == [c.name for c in expected]
    assert "60 in the mirror · Intercom counts 3" in html
    assert "First page" in html


@pytest.mark.django_db
def test_htmx_gets_the_users_region_only(sam_client):
    co = acme()
    for n in range(30):
        user(n, co)
    html = sam_client.get("/companies/co1/", HTTP_HX_TARGET="company-users", **HTMX).content.decode()
    assert html.lstrip().startswith('<section id="company-users"') and "<html" not in html
    assert len(user_names(html)) == 25


@pytest.mark.django_db
def test_it_lists_the_open_conversations_of_its_users(sam_client):
    co = acme()
    ann = Admin.objects.get(intercom_id="a1")
    zoe, bob = user(1, co, name="Zoe"), user(2, co, name="Bob")
    outsider = Contact.objects.create(intercom_id="x1", role="user", name="Outsider")
    conversation(1, zoe, subject="Waiting a day", waiting_since=T0 - timedelta(days=1), assignee_admin=ann)
    conversation(2, bob, subject="Waiting an hour", waiting_since=T0 - timedelta(hours=1))
    conversation(3, zoe, subject="Answered")
    conversation(4, zoe, subject="Closed one", state="closed")
    conversation(5, bob, subject="Snoozed one", state="snoozed")
    conversation(6, outsider, subject="Not theirs")
    html = sam_client.get("/companies/co1/").content.decode()
    section = html[html.index('id="open-title"') : html.index('id="company-users"')]
    subjects = re.findall(r'<a href="/conversations/(c\d+)/">([^<]+)</a>', section)
    assert subjects == [("c1", "Waiting a day"), ("c2", "Waiting an hour"), ("c3", "Answered")]
    assert "Ann Admin" in section and "Unassigned" in section and "not waiting" in section
    users = html[html.index('id="company-users"') :]
    assert re.search(r"Zoe</a></td>.*?<td class=\"num\">2</td>", users, re.S)  # two open: not the closed one
    assert re.search(r"Bob</a></td>.*?<td class=\"num\">1</td>", users, re.S)
    assert '<a href="/contacts/u1/">Zoe</a>' in section


def fill(n_users: int) -> None:
    co = acme(custom_attributes={"a": 1, "b_at": 1714564800})
    tags = [Tag.objects.create(intercom_id=f"t{i}", name=f"Tag {i}") for i in range(3)]
    co.tags.add(*tags)
    co.segments.add(Segment.objects.create(intercom_id="s1", name="Seg"))
    for n in range(n_users):
        contact = user(n, co)
        for k in range(2):
            conversation(n * 10 + k, contact, waiting_since=T0 if k else None)


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_users_or_conversations(sam_client, django_assert_max_num_queries):
    fill(3)
    with CaptureQueriesContext(connection) as small:
        sam_client.get("/companies/co1/")
    for model in (Conversation, Contact, Company, Tag, Segment):
        model.objects.all().delete()
    fill(80)
    with django_assert_max_num_queries(len(small)):
        html = sam_client.get("/companies/co1/").content.decode()
    assert len(user_names(html)) == 25 and "the 50 waiting longest" in html
    with django_assert_max_num_queries(len(small)):
        sam_client.get(next_url(html))
    assert len(small) <= 14


# --- tag and untag, against the sandbox ---------------------------------------------------------------


@pytest.fixture
def sb(monkeypatch, db):
    sandbox = make_sandbox(users=150, leads=10, conversations=10)
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    monkeypatch.setattr(core, "web_client", lambda: sandbox.new_client(max_retries=1))
    return sandbox


@pytest.fixture
def linked(django_user_model, sb):
    user = django_user_model.objects.create_user("lin", "lin@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    StaffProfile.objects.create(user=user, admin=Admin.objects.live().order_by("id").first())
    return user


def sandbox_tags(sb, company_id: str) -> set[str]:
    ws = sb.app.workspace
    return {ws.tags[t].name for t in ws.companies[company_id].tag_ids if t in ws.tags}


def tags_region(html: str) -> str:
    start = html.index('id="company-tags"')
    return html[start : html.index("</section>", start)]


@pytest.mark.django_db
def test_tag_and_untag_a_company_against_the_sandbox(client, sb, linked):
    client.force_login(linked)
    co = Company.objects.live().order_by("id").first()
    url = f"/companies/{co.intercom_id}/tags/"
    html = client.post(url, {"action": "tag", "name": "Renewal Q3"}, **HTMX).content.decode()
    assert html.lstrip().startswith('<section id="company-tags"')
    assert "Tagged “Renewal Q3”." in html and 'aria-label="Untag Renewal Q3"' in html
    assert "Renewal Q3" in sandbox_tags(sb, co.intercom_id)
    assert co.tags.filter(name="Renewal Q3").exists()
    assert StaffAction.objects.get().summary().startswith("lin tagged")
    # Untag by another case: Intercom's names are case-insensitive.
    html = client.post(url, {"action": "untag", "name": "renewal q3"}, **HTMX).content.decode()
    assert "Removed the tag “renewal q3”." in html and "Untag Renewal Q3" not in html
    assert not any(t.lower() == "renewal q3" for t in sandbox_tags(sb, co.intercom_id))
    assert not co.tags.filter(name__iexact="renewal q3").exists()


@pytest.mark.django_db
def test_the_tag_form_works_without_javascript(client, sb, linked):
    client.force_login(linked)
    co = Company.objects.live().order_by("id").first()
    response = client.post(f"/companies/{co.intercom_id}/tags/", {"action": "tag", "name": "No JS"})
    assert response.status_code == 302 and response["Location"] == f"/companies/{co.intercom_id}/#company-tags"
    page = client.get(response["Location"]).content.decode()
    assert "Tagged “No JS”." in page and 'aria-label="Untag No JS"' in page
    assert "No JS" in sandbox_tags(sb, co.intercom_id)
    # Refused: the page again, saying why, with the name still in the field.
    sb.app.faults.fail_next(1, 422)
    response = client.post(f"/companies/{co.intercom_id}/tags/", {"action": "tag", "name": "Kept name"})
    page = response.content.decode()
    assert response.status_code == 200 and "Intercom refused this:" in page and "<h1>" in page
    assert re.search(r'<input type="text" id="company-tag-name" name="name" value="Kept name"', page)


@pytest.mark.django_db
def test_a_tag_sent_while_intercom_is_down_is_queued_then_applied(client, sb, linked):
    client.force_login(linked)
    co = Company.objects.live().order_by("id").first()
    sb.app.faults.fail_next(10, 503)
    html = client.post(f"/companies/{co.intercom_id}/tags/", {"action": "tag", "name": "Later"}, **HTMX)
    html = html.content.decode()
    assert "will be added when it does (queued, not lost)" in html
    assert "Tag “Later”:" in html and "waiting for Intercom (queued)" in html
    sb.app.faults.clear()
    StaffAction.objects.update(next_attempt_at=timezone.now())
    assert process_queued_actions(client=sb.new_client(max_retries=1))["done"] == 1
    assert "Later" in sandbox_tags(sb, co.intercom_id)
    page = client.get(f"/companies/{co.intercom_id}/").content.decode()
    assert 'aria-label="Untag Later"' in page and "waiting for Intercom" not in page


@pytest.mark.django_db
def test_junk_and_refusals_are_explained(client, sb, linked, django_user_model):
    client.force_login(linked)
    co = Company.objects.live().order_by("id").first()
    url = f"/companies/{co.intercom_id}/tags/"
    html = client.post(url, {"action": "tag", "name": "   "}, **HTMX).content.decode()
    assert "Give the tag a name." in html and not StaffAction.objects.exists()
    html = client.post(url, {"action": "explode", "name": "x"}, **HTMX).content.decode()
    assert "notice-error" in html and not StaffAction.objects.exists()
    assert client.post("/companies/nope/tags/", {"action": "tag", "name": "x"}).status_code == 404
    # A staff user linked to no admin: the form is off, and a post says why.
    loner = django_user_model.objects.create_user("loner", "loner@example.com", "pw", is_staff=True)
    client.force_login(loner)
    page = client.get(f"/companies/{co.intercom_id}/").content.decode()
    region = tags_region(page)
    assert '<button type="submit" disabled>Tag</button>' in region and "tagging is off" in region
    assert re.search(r'<input type="text" id="company-tag-name"[^>]* disabled>', region)
    html = client.post(url, {"action": "tag", "name": "VIP"}, **HTMX).content.decode()
    assert "not linked to an Intercom admin" in html and 'value="VIP"' in html  # the name typed is kept
    assert not StaffAction.objects.exists()
