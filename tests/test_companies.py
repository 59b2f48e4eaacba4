"""The companies list: access, search, filters, sorts, keyset paging, rows, query count."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext

from dashboard.companies.queries import SORTS
from intercom_mirror.models import Admin, Company, Segment, StaffProfile, Tag

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "company-list"}


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # the plans filter is cached
    yield
    cache.clear()


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


def company(n: int, **fields) -> Company:
    fields = {"intercom_id": f"co{n}", "company_id": f"{1000 + n}", "name": f"Company {n:03d}", **fields}
    return Company.objects.create(**fields)


def names(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<td class="name"><a href="/companies/[^/]+/">([^<]*)</a>', html)


def next_url(response) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next"', response.content.decode())
    return found and found.group(1).replace("&amp;", "&")


def walk(client, url: str) -> list[list[str]]:
    """Follow "Next page" from url to the end; return the names on each page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(names(response))
        url = next_url(response)
        assert len(pages) < 50, "paging does not end"
    return pages


# --- access ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_redirects_anonymous_users_to_the_login_page(client):
    company(1)
    for url in ("/companies/", "/companies/co1/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    response = client.post("/companies/co1/tags/", {"action": "tag", "name": "VIP"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Tag.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_user_who_is_not_staff(client, django_user_model):
    company(1)
    client.force_login(django_user_model.objects.create_user("visitor", "v@example.com", "pw"))
    for url in ("/companies/", "/companies/co1/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


@pytest.mark.django_db
def test_it_lets_support_staff_in(sam_client, sam):
    assert not sam.is_superuser
    company(1, name="Acme")
    response = sam_client.get("/companies/")
    assert response.status_code == 200 and names(response) == ["Acme"]
    assert "1 company" in response.content.decode()


@pytest.mark.django_db
def test_it_lists_only_live_companies(sam_client):
    company(1, name="Alive")
    company(2, name="Gone", deleted_at=T0)
    assert names(sam_client.get("/companies/")) == ["Alive"]


# --- search and filters ------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_searches_name_and_company_id_by_prefix_case_insensitively(sam_client):
    company(1, name="Acme Ltd", company_id="X-1")
    company(2, name="Northwind", company_id="ACM-7")
    company(3, name="The Acme Group", company_id="3")  # "acme" inside the name: not a prefix
    assert names(sam_client.get("/companies/?q=acm")) == ["Acme Ltd", "Northwind"]
    assert names(sam_client.get("/companies/?q=ACME")) == ["Acme Ltd"]
    assert names(sam_client.get("/companies/?q=x-")) == ["Acme Ltd"]
    html = sam_client.get("/companies/?q=zzz").content.decode()
    assert "No companies match these filters." in html and "0 companies match" in html


@pytest.mark.django_db
def test_it_filters_by_tag_segment_and_plan(sam_client):
    vip, other = Tag.objects.create(intercom_id="t1", name="VIP"), Tag.objects.create(intercom_id="t2", name="Other")
    seg = Segment.objects.create(intercom_id="s1", name="Active")
    a = company(1, name="A", plan="Pro")
    b = company(2, name="B", plan="Pro")
    c = company(3, name="C", plan="Free")
    a.tags.add(vip, other)
    c.tags.add(vip)
    b.segments.add(seg)
    c.segments.add(seg)
    assert names(sam_client.get("/companies/?tag=t1")) == ["A", "C"]
    assert names(sam_client.get("/companies/?segment=s1")) == ["B", "C"]
    assert names(sam_client.get("/companies/?plan=Pro")) == ["A", "B"]
    assert names(sam_client.get("/companies/?tag=t1&segment=s1&plan=Free")) == ["C"]
    html = sam_client.get("/companies/?plan=Pro").content.decode()
    assert '<option value="Pro" selected>Pro</option>' in html and '<option value="Free">Free</option>' in html
    assert '<option value="t1">VIP</option>' in html and '<option value="s1">Active</option>' in html


@pytest.mark.django_db
def test_it_ignores_junk_parameters(sam_client):
    company(1, name="A")
    for query in ("sort=bogus", "tag=%3Cscript%3E", "after=!!!", "after=W1siYSJdLDFd", "q=" + "x" * 500):
        response = sam_client.get(f"/companies/?{query}")
        assert response.status_code == 200 and names(response) == ["A"], query


# --- sorts ------------------------------------------------------------------------------------


@pytest.fixture
def sortable(db):
    company(1, name="beta", user_count=5, monthly_spend=10.5, last_request_at=T0)
    company(2, name="Alpha", user_count=None, monthly_spend=None, last_request_at=None)
    company(3, name="gamma", user_count=50, monthly_spend=0, last_request_at=T0 + timedelta(days=1))
    company(4, name="Delta", user_count=5, monthly_spend=99.25, last_request_at=T0 - timedelta(days=3))


@pytest.mark.django_db
def test_it_sorts_by_name_case_insensitively(sam_client, sortable):
    assert names(sam_client.get("/companies/")) == ["Alpha", "beta", "Delta", "gamma"]


@pytest.mark.django_db
def test_it_sorts_by_users_spend_and_last_seen_with_unknowns_last(sam_client, sortable):
    # Ties go by id, in the sort's direction.
    assert names(sam_client.get("/companies/?sort=users")) == ["gamma", "Delta", "beta", "Alpha"]
    assert names(sam_client.get("/companies/?sort=spend")) == ["Delta", "beta", "gamma", "Alpha"]
    assert names(sam_client.get("/companies/?sort=last_seen")) == ["gamma", "beta", "Delta", "Alpha"]


@pytest.mark.django_db
def test_the_rows_show_every_column(sam_client):
    co = company(1, name="Acme", company_id="ac-9", plan="Premium", user_count=12, monthly_spend=1234.5)
    co.last_request_at = T0
    co.save()
    co.tags.add(Tag.objects.create(intercom_id="t1", name="VIP"))
    html = sam_client.get("/companies/").content.decode()
    row = html[html.index("<tbody>") : html.index("</tbody>")]
    for text in (
        "Acme",
        "ac-9",
        "Premium",
        ">12<",
        "1,234.50",
        f'datetime="{T0.isoformat()}"',
        '<span class="tag">VIP</span>',
    ):
        assert text in row, text


@pytest.mark.django_db
def test_it_escapes_untrusted_text(sam_client):
    co = company(1, name="<script>alert(1)</script>", plan='"><img src=x onerror=alert(2)>')
    co.tags.add(Tag.objects.create(intercom_id="t1", name="<b>bold</b>"))
    html = sam_client.get("/companies/").content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<b>bold</b>" not in html


# --- keyset paging -----------------------------------------------------------------------------


@pytest.fixture
def many(db):
    """130 companies with ties and unknowns in every sortable column."""
    for n in range(130):
        company(
            n,
            name=("acme" if n % 10 == 0 else f"Company {n:03d}"),
            user_count=None if n % 7 == 0 else n % 4,
            monthly_spend=None if n % 9 == 0 else float(n % 5) * 12.5,
            last_request_at=None if n % 6 == 0 else T0 + timedelta(hours=n % 3),
        )


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(SORTS))
def test_it_pages_every_sort_by_keyset_without_gaps_or_repeats(sam_client, many, sort):
    pages = walk(sam_client, f"/companies/?sort={sort}")
    assert [len(p) for p in pages] == [50, 50, 30]
    expected = Company.objects.annotate(name_key=Lower("name")).order_by(*SORTS[sort].order_by())
    assert [name for page in pages for name in page] == list(expected.values_list("name", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["users", "spend", "last_seen"])
def test_paging_goes_on_through_the_unknowns_when_they_fill_pages(sam_client, sort):
    for n in range(120):  # 30 known values (with ties), then 90 unknowns: two page breaks among them
        known = n < 30
        company(
            n,
            user_count=n % 4 if known else None,
            monthly_spend=float(n % 3) if known else None,
            last_request_at=T0 + timedelta(hours=n % 5) if known else None,
        )
    pages = walk(sam_client, f"/companies/?sort={sort}")
    assert [len(p) for p in pages] == [50, 50, 20]
    expected = Company.objects.annotate(name_key=Lower("name")).order_by(*SORTS[sort].order_by())
    assert [name for page in pages for name in page] == list(expected.values_list("name", flat=True))


@pytest.mark.django_db
def test_paging_keeps_the_filters_and_offers_the_first_page(sam_client, many):
    first = sam_client.get("/companies/?q=company&sort=users")
    url = next_url(first)
    assert "q=company" in url and "sort=users" in url and "after=" in url
    second = sam_client.get(url).content.decode()
    assert "First page" in second and "117 companies match" in second


@pytest.mark.django_db
def test_a_page_is_read_without_offset(sam_client, many):
    with CaptureQueriesContext(connection) as queries:
        url = next_url(sam_client.get("/companies/?sort=spend"))
        sam_client.get(url)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "OFFSET" not in sql.upper() and "LIMIT 51" in sql


@pytest.mark.django_db
def test_htmx_gets_the_list_region_only(sam_client, many):
    html = sam_client.get("/companies/?sort=users", **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="company-list">') and "<html" not in html
    assert len(names_of(html)) == 50


def names_of(html: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/companies/[^/]+/">([^<]*)</a>', html)


# --- query count ---------------------------------------------------------------------------------


def fill(n: int) -> None:
    tags = [Tag.objects.create(intercom_id=f"t{i}", name=f"Tag {i}") for i in range(3)]
    segment = Segment.objects.create(intercom_id="s1", name="Seg")
    for i in range(n):
        co = company(i, plan=f"Plan {i % 4}", user_count=i, monthly_spend=i * 1.5, last_request_at=T0)
        co.tags.add(*tags[: 1 + i % 3])
        co.segments.add(segment)


def queries_for(client, url: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?sort=users", "?sort=last_seen&tag=t1&plan=Plan+1&q=comp"])
def test_the_query_count_does_not_grow_with_the_rows(sam_client, django_assert_max_num_queries, query):
    fill(5)
    small = queries_for(sam_client, f"/companies/{query}")
    Company.objects.all().delete()
    Tag.objects.all().delete()
    Segment.objects.all().delete()
    fill(100)
    cache.clear()
    with django_assert_max_num_queries(small):
        response = sam_client.get(f"/companies/{query}")
    assert response.status_code == 200 and len(names(response)) == (50 if "plan" not in query else 17)
    assert small <= 10


@pytest.mark.django_db
def test_counts_stop_at_the_cap(sam_client, monkeypatch):
    from dashboard.companies import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    for n in range(8):
        company(n)
    html = sam_client.get("/companies/").content.decode()
    assert "more than 5 companies" in html and len(names_of(html)) == 8
    assert "5 companies" in sam_client.get("/companies/?q=company+00").content.decode()
