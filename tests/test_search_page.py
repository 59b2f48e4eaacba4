"""The search page: staff only, grouped results with links, escaped snippets, errors, keyset pages."""

from __future__ import annotations

import re

import pytest

from intercom_mirror.apply import Source, apply_contacts
from tests.test_search import add_conversations, contact, conversation, part


@pytest.fixture
def records(db):
    apply_contacts([contact("u1", "Zoë Martin", "zoe@example.com")], Source.LIST)
    add_conversations(
        conversation(
            "c1",
            '<p onclick="steal()">Where is my <b>parcel</b>? &lt;script&gt;alert(1)&lt;/script&gt;</p>',
            subject="Parcel & delivery",
            parts=[part("p1", "<p>Your parcel left the depot</p>", author=("admin", "a1"))],
        ),
        *[conversation(f"k{i}", f"<p>tracking number {i}</p>") for i in range(30)],
    )


def test_it_sends_anonymous_users_to_the_login_page(client, db):
    response = client.get("/search/?q=x")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_it_refuses_users_who_are_not_staff(client, django_user_model, db):
    user = django_user_model.objects.create_user("nemo", "nemo@example.com", "pw", is_staff=False)
    client.force_login(user)
    response = client.get("/search/?q=x")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_it_shows_an_empty_form_without_a_query(staff_client, db):
    response = staff_client.get("/search/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="search"' in body and "No conversations match" not in body


def test_it_groups_results_and_links_each_record(staff_client, records):
    body = staff_client.get("/search/?q=zoe").content.decode()
    assert '<a class="hit-title" href="/contacts/u1/">Zoë Martin</a>' in body
    body = staff_client.get("/search/?q=parcel").content.decode()
    assert '<a class="hit-title" href="/conversations/c1/">Parcel &amp; delivery</a>' in body
    assert "No contacts match." in body and "No companies match." in body


def test_it_shows_snippets_escaped_with_only_the_marks_as_html(staff_client, records):
    body = staff_client.get("/search/?q=parcel").content.decode()
    snippets = re.findall(r'<p class="hit-snippet">(.*?)</p>', body, re.S)
    assert snippets and "<mark>parcel</mark>" in snippets[0]
    assert "&lt;script&gt;alert(1)&lt;/script" in snippets[0]  # text that looked like a tag, escaped
    for snippet in snippets:
        assert "onclick" not in snippet and "<b>" not in snippet and "<script" not in snippet
        assert re.sub(r"</?mark>|<span class=\"found-in\">[^<]*</span>", "", snippet).count("<") == 0


def test_it_has_no_inline_scripts_or_styles(staff_client, records):
    body = staff_client.get("/search/?q=parcel").content.decode()
    assert "<style" not in body and " style=" not in body
    assert not re.search(r"<script(?![^>]*\ssrc=)", body)
    assert not re.search(r"\son[a-z]+=", body)


def test_it_reports_query_errors(staff_client, records):
    body = staff_client.get("/search/?q=state:pending+parcel").content.decode()
    assert "state:pending is not a state" in body
    assert "/conversations/c1/" in body


def test_it_shows_conversations_only_under_conversation_filters(staff_client, records):
    body = staff_client.get("/search/?q=zoe+state:open").content.decode()
    assert "only conversations are shown" in body and 'id="group-contacts"' not in body


def test_it_pages_a_group_by_keyset(staff_client, records):
    body = staff_client.get("/search/?q=tracking").content.decode()
    more = re.search(r'<p class="search-more"><a href="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert "in=conversations" in more and "after=" in more
    seen = set(re.findall(r'href="/conversations/(k\d+)/"', body))
    assert len(seen) == 10
    url = more
    while url:
        page = staff_client.get(url).content.decode()
        ids = set(re.findall(r'href="/conversations/(k\d+)/"', page))
        assert not ids & seen
        seen |= ids
        assert 'id="group-contacts"' not in page
        found = re.search(r'<p class="search-more"><a href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert len(seen) == 30


def test_it_ignores_a_forged_cursor(staff_client, records):
    response = staff_client.get("/search/?q=tracking&in=conversations&after=');drop table x;--")
    assert response.status_code == 200 and response.content.decode().count('href="/conversations/k') == 25
