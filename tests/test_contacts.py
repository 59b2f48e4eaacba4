"""The contacts list: access, roles, search, filters, sorts, keyset paging, rows, constant query count."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.contacts.queries import SORTS, Cursor, Filters, matching, page_of
from intercom_mirror.models import Admin, Company, Contact, Conversation, Segment, StaffProfile, Tag

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def workspace(db):
    return Admin.objects.create(intercom_id="a1", name="Ann Admin", email="ann@corp.test")


@pytest.fixture
def sam(django_user_model, workspace):
    """A staff user, not a superuser, in "Support staff", acting as Ann."""
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    StaffProfile.objects.create(user=user, admin=workspace)
    return user


@pytest.fixture
def sam_client(client, sam):
    client.force_login(sam)
    return client


def person(n: int, **fields) -> Contact:
    fields = {
        "intercom_id": f"u{n}",
        "role": "user",
        "name": f"Person {n:03d}",
        "email": f"person{n}@example.com",
        "user_id": f"uid-{n}",
        "created_at": T0 + timedelta(minutes=n),
        "last_request_at": T0 + timedelta(hours=n),
        **fields,
    }
    return Contact.objects.create(**fields)


def ids(response) -> list[str]:
    return re.findall(r'name="ids" value="([^"]+)"', response.content.decode())


def next_link(response) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next"', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else None


# --- access ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_redirects_anonymous_users_to_the_login_page(client):
    for url in ("/contacts/", "/contacts/u1/", "/contacts/u1/events/", "/contacts/u1/notes/", "/tags/autocomplete/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    for url in ("/contacts/bulk/", "/contacts/u1/tags/", "/contacts/u1/notes/", "/contacts/u1/convert/"):
        response = client.post(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


@pytest.mark.django_db
def test_it_refuses_a_user_who_is_not_staff(client, django_user_model, workspace):
    client.force_login(django_user_model.objects.create_user("visitor", "v@example.com", "pw"))
    response = client.get("/contacts/")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_it_lets_support_staff_in(sam_client, sam):
    assert not sam.is_superuser
    person(1)
    response = sam_client.get("/contacts/")
    assert response.status_code == 200 and ids(response) == ["u1"]


# --- roles, search, filters ---------------------------------------------------------------------


@pytest.fixture
def people(workspace):
    person(1, name="Ada Lovelace", email="ada@analytical.test", user_id="ADA-1")
    person(2, name="Grace Hopper", email="grace@navy.test", user_id="g-2")
    person(3, role="lead", name="", email="lead.ada@prospect.test", user_id="anon-3", last_request_at=None)
    person(4, name="Alan Turing", email="alan@bletchley.test", deleted_at=timezone.now())  # gone from Intercom
    person(5, name="Linus", email="linus@kernel.test", user_id="ada-lookalike")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, expected",
    [
        ("", {"u1", "u2", "u3", "u5"}),
        ("role=user", {"u1", "u2", "u5"}),
        ("role=lead", {"u3"}),
        ("role=junk", {"u1", "u2", "u3", "u5"}),  # junk falls back to all
    ],
)
def test_it_lists_users_and_leads(sam_client, people, query, expected):
    assert set(ids(sam_client.get(f"/contacts/?{query}"))) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    "q, expected",
    [
        ("ada", {"u1", "u5"}),  # name "Ada…", user_id "ada-lookalike"
        ("ADA@", {"u1"}),  # email prefix, any case
        ("Grace", {"u2"}),
        ("g-2", {"u2"}),
        ("lead.", {"u3"}),
        ("lovelace", set()),  # a prefix, not a substring
        ("navy", set()),
        ("alan", set()),  # deleted
        ("%", set()),  # LIKE wildcards are literal
        ("_", set()),
    ],
)
def test_it_searches_email_name_and_user_id_by_prefix_case_insensitively(sam_client, people, q, expected):
    assert set(ids(sam_client.get("/contacts/", {"q": q}))) == expected


@pytest.mark.django_db
def test_it_filters_by_tag_segment_and_company(sam_client, people):
    vip = Tag.objects.create(intercom_id="t1", name="VIP")
    Tag.objects.create(intercom_id="t2", name="Churned")
    trial = Segment.objects.create(intercom_id="s1", name="Trial")
    acme = Company.objects.create(intercom_id="co1", company_id="1001", name="Acme Ltd")
    Contact.objects.get(intercom_id="u1").tags.add(vip)
    Contact.objects.get(intercom_id="u3").tags.add(vip)
    Contact.objects.get(intercom_id="u2").segments.add(trial)
    Contact.objects.get(intercom_id="u5").companies.add(acme)

    assert set(ids(sam_client.get("/contacts/?tag=t1"))) == {"u1", "u3"}
    assert set(ids(sam_client.get("/contacts/?tag=t1&role=user"))) == {"u1"}
    assert set(ids(sam_client.get("/contacts/?tag=t2"))) == set()
    assert set(ids(sam_client.get("/contacts/?segment=s1"))) == {"u2"}
    for company in ("co1", "1001", "acme ltd"):  # Intercom id, company_id, or name in any case
        assert set(ids(sam_client.get("/contacts/", {"company": company}))) == {"u5"}, company
    assert ids(sam_client.get("/contacts/?company=nobody")) == []


@pytest.mark.django_db
def test_it_filters_by_last_seen(sam_client, workspace):
    now = timezone.now()
    person(1, last_request_at=now - timedelta(days=2))
    person(2, last_request_at=now - timedelta(days=20))
    person(3, last_request_at=now - timedelta(days=60))
    person(4, last_request_at=now - timedelta(days=200))
    person(5, last_request_at=None)
    expected = {
        "7": {"u1"},
        "30": {"u1", "u2"},
        "90": {"u1", "u2", "u3"},
        "never": {"u5"},
        "": {f"u{i}" for i in range(1, 6)},
    }
    for seen, wanted in expected.items():
        assert set(ids(sam_client.get("/contacts/", {"seen": seen}))) == wanted, seen


# --- sorts and paging ---------------------------------------------------------------------------------


@pytest.fixture
def sortable(workspace):
    person(1, name="Carol", created_at=T0 + timedelta(days=1), last_request_at=T0 + timedelta(days=3))
    person(2, name="Alice", created_at=T0 + timedelta(days=3), last_request_at=None)
    person(3, name="", created_at=T0 + timedelta(days=2), last_request_at=T0 + timedelta(days=9))
    person(4, name="Bob", created_at=None, last_request_at=T0 + timedelta(days=5))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sort, expected",
    [
        ("last_seen", ["u3", "u4", "u1", "u2"]),  # most recently seen first, never seen last
        ("created", ["u2", "u3", "u1", "u4"]),  # newest first, unknown last
        ("name", ["u2", "u4", "u1", "u3"]),  # by name, nameless last
    ],
)
def test_it_sorts(sam_client, sortable, sort, expected):
    assert ids(sam_client.get(f"/contacts/?sort={sort}")) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(SORTS))
@pytest.mark.parametrize("cap", [10_000, 10], ids=["few-sorted", "many-by-index"])
def test_paging_walks_every_contact_once_whatever_values_are_equal_or_missing(
    sam_client, workspace, sort, cap, monkeypatch
):
    from dashboard.contacts import queries

    monkeypatch.setattr(queries, "COUNT_CAP", cap)  # both plans: matches sorted, or read in the index's order
    for n in range(1, 131):
        person(
            n,
            name=["", "Same Name", f"Name {n % 7}"][n % 3],
            created_at=None if n % 5 == 0 else T0 + timedelta(hours=n % 4),
            last_request_at=None if n % 4 == 0 else T0 + timedelta(hours=n % 3),
        )
    url, seen, pages = f"/contacts/?sort={sort}&size=25", [], 0
    while url:
        response = sam_client.get(url)
        seen += ids(response)
        url, pages = next_link(response), pages + 1
    assert pages == 6
    assert seen == expected_order(sort)


def expected_order(sort: str) -> list[str]:
    """Return every live contact's id in the sort's order, computed in Python: with a value, then without."""
    s = SORTS[sort]
    rows = list(Contact.objects.live().values("id", "intercom_id", s.column))
    with_value = [r for r in rows if r[s.column] not in (None, "")]
    without = [r for r in rows if r[s.column] in (None, "")]
    with_value.sort(key=lambda r: (r[s.column], r["id"]), reverse=s.descending)
    without.sort(key=lambda r: r["id"], reverse=s.descending)
    return [r["intercom_id"] for r in with_value + without]


@pytest.mark.django_db
def test_a_page_follows_the_sort_order_across_the_value_and_no_value_rows(workspace):
    for n in range(1, 41):
        person(n, last_request_at=None if n > 30 else T0 + timedelta(hours=n))
    sort, cursor, seen = SORTS["last_seen"], "", []
    while True:
        page = page_of(matching(Filters()), sort, cursor, 25)
        seen += [row.intercom_id for row in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [f"u{n}" for n in range(30, 0, -1)] + [f"u{n}" for n in range(40, 30, -1)]


@pytest.mark.django_db
def test_page_size_is_chosen_by_the_user(sam_client, workspace):
    for n in range(1, 121):
        person(n)
    assert len(ids(sam_client.get("/contacts/"))) == 50
    assert len(ids(sam_client.get("/contacts/?size=25"))) == 25
    assert len(ids(sam_client.get("/contacts/?size=100"))) == 100
    assert len(ids(sam_client.get("/contacts/?size=7"))) == 50  # not offered: the default


@pytest.mark.django_db
def test_a_junk_cursor_starts_at_the_first_page(sam_client, workspace):
    for n in range(1, 4):
        person(n)
    for cursor in ("junk", "!!!", Cursor("2024-01-01", 3).encode(SORTS["name"]), "W251bGwsIngiXQ"):
        assert ids(sam_client.get("/contacts/", {"cursor": cursor})) == ["u3", "u2", "u1"]


@pytest.mark.django_db
def test_the_count_stops_at_the_cap(workspace, monkeypatch):
    from dashboard.contacts import queries

    for n in range(1, 8):
        person(n)
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    page = page_of(matching(Filters()), SORTS["last_seen"], "", 25)
    assert (page.total, page.more, len(page.rows)) == (5, True, 7)


# --- rows --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_row_shows_name_email_role_companies_tags_last_seen_and_open_conversations(sam_client, workspace):
    ada = person(1, name="Ada Lovelace", email="ada@example.com", last_request_at=timezone.now() - timedelta(hours=3))
    ada.companies.add(Company.objects.create(intercom_id="co1", name="Analytical Engines"))
    ada.tags.add(Tag.objects.create(intercom_id="t1", name="VIP"))
    for n, state in enumerate(["open", "open", "closed", "snoozed"]):
        Conversation.objects.create(intercom_id=f"c{n}", customer_id="u1", state=state)
    Conversation.objects.create(intercom_id="c9", customer_id="u1", state="open", deleted_at=timezone.now())
    person(2, role="lead", name="", email="", user_id="", pseudonym="Grey Fox", last_request_at=None)

    html = sam_client.get("/contacts/").content.decode()

    row = html[html.index('value="u1"') :].split("</tr>")[0]
    assert 'href="/contacts/u1/"' in row and "Ada Lovelace" in row and "ada@example.com" in row
    assert "User" in row and "Analytical Engines" in row and 'href="/companies/co1/"' in row and "VIP" in row
    assert "3\xa0hours ago" in row or "3 hours ago" in row
    assert re.search(r'<td class="num">2</td>', row)  # two open, not closed, snoozed or deleted
    lead_row = html[html.index('value="u2"') :].split("</tr>")[0]
    assert "Grey Fox" in lead_row and "Lead" in lead_row and "Never" in lead_row


@pytest.mark.django_db
def test_untrusted_names_are_escaped(sam_client, workspace):
    person(1, name='<script>alert("x")</script>', email="<b>@x.test")
    html = sam_client.get("/contacts/").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html and "<b>@" not in html


@pytest.mark.django_db
def test_the_list_region_answers_htmx_alone(sam_client, workspace):
    person(1)
    response = sam_client.get("/contacts/?q=person", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="contact-list")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="contact-list"') and "<html" not in html
    assert ids(response) == ["u1"]
    assert 'value="person"' in html  # the filters "Select all matching" acts on


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_with_5_or_100_rows(sam_client, workspace, django_assert_max_num_queries):
    def fill(first: int, last: int) -> None:
        tag = Tag.objects.create(intercom_id=f"t{first}", name=f"Tag {first}")
        company = Company.objects.create(intercom_id=f"co{first}", name=f"Company {first}")
        for n in range(first, last + 1):
            contact = person(n)
            contact.tags.add(tag)
            contact.companies.add(company)
            Conversation.objects.create(intercom_id=f"c{n}", customer_id=contact.intercom_id, state="open")

    fill(1, 5)
    with CaptureQueriesContext(connection) as small:
        assert len(ids(sam_client.get("/contacts/?size=100&tag=t1"))) == 5
    fill(6, 130)
    with django_assert_max_num_queries(len(small)) as large:
        response = sam_client.get("/contacts/?size=100&tag=t6")
    assert len(ids(response)) == 100
    # Measured: 11 for the small page, 10 for the large one. Session, user, staff profile (read once for the
    # view and the context processor), the tag's key, tags and segments for the filters, rows with a last seen
    # (open conversations counted in a subquery), rows never seen (only read when the first kind runs out on
    # the page), companies, tags, the capped count.
    assert len(large) <= len(small) <= 11
    with django_assert_max_num_queries(len(small)):  # the last page: the same
        assert len(ids(sam_client.get(next_link(response)))) == 25
