"""The inbox: folders and their counts, states, sorts, keyset paging, rows, access, preferences."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.inbox.queries import SORTS, folder_counts, open_groups, page_of, snippet
from intercom_mirror.models import (
    Admin,
    Contact,
    Conversation,
    ConversationPart,
    ConversationViewer,
    StaffProfile,
    Tag,
    Team,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # folder counts and teams are cached
    yield
    cache.clear()


@pytest.fixture
def workspace(db):
    ann = Admin.objects.create(intercom_id="a1", name="Ann Admin", email="ann@corp.test")
    Admin.objects.create(intercom_id="a2", name="Bob Admin", email="bob@corp.test")
    Team.objects.create(intercom_id="t1", name="Billing")
    Team.objects.create(intercom_id="t2", name="Tech")
    Contact.objects.create(intercom_id="u1", role="user", name="Zoe Customer", email="zoe@example.com")
    Contact.objects.create(intercom_id="l1", role="lead", name="", email="lead@example.com")
    return ann


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


def conv(n: int, **fields) -> Conversation:
    fields = {
        "intercom_id": f"c{n}",
        "state": "open",
        "customer_id": "u1",
        "created_at": T0 + timedelta(minutes=n),
        "updated_at": T0 + timedelta(hours=1, minutes=n),
        "body": f"<p>Opening {n}</p>",
        **fields,
    }
    return Conversation.objects.create(**fields)


def ids(response) -> list[str]:
    return re.findall(r'name="ids" value="([^"]+)"', response.content.decode())


# --- access ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_redirects_anonymous_users_to_the_login_page(client):
    for url in ("/inbox/", "/inbox/all/", "/inbox/bulk/", "/inbox/preferences/"):
        response = client.get(url) if "bulk" not in url and "pref" not in url else client.post(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


@pytest.mark.django_db
def test_it_refuses_a_user_who_is_not_staff(client, django_user_model, workspace):
    user = django_user_model.objects.create_user("visitor", "v@example.com", "pw")
    client.force_login(user)
    response = client.get("/inbox/all/")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_it_lets_support_staff_in(sam_client, sam):
    assert not sam.is_superuser
    conv(1)
    response = sam_client.get("/inbox/all/")
    assert response.status_code == 200
    assert ids(response) == ["c1"]


@pytest.mark.django_db
def test_it_opens_your_inbox_when_linked_else_unassigned(sam_client, client, staff_user, workspace):
    assert sam_client.get("/inbox/")["Location"] == "/inbox/mine/"
    client.force_login(staff_user)  # no admin with alice's email
    assert client.get("/inbox/")["Location"] == "/inbox/unassigned/"
    response = client.get("/inbox/mine/")
    assert response.status_code == 200 and "not linked to an Intercom admin" in response.content.decode()


# --- folders -------------------------------------------------------------------------------------


@pytest.fixture
def spread(workspace):
    """Open conversations in every folder, plus a closed, a snoozed and a deleted one."""
    conv(1, assignee_admin_id="a1")
    conv(2, assignee_admin_id="a1", assignee_team_id="t1")
    conv(3, assignee_admin_id="a2")
    conv(4)  # unassigned
    conv(5, assignee_team_id="t1")
    conv(6, assignee_team_id="t2")
    conv(7, state="closed")
    conv(8, state="snoozed", snoozed_until=timezone.now() + timedelta(hours=5))
    conv(9, deleted_at=timezone.now())  # gone from Intercom


@pytest.mark.django_db
@pytest.mark.parametrize(
    "folder, expected",
    [
        ("mine", {"c1", "c2"}),
        ("unassigned", {"c4"}),
        ("all", {"c1", "c2", "c3", "c4", "c5", "c6"}),
        ("team-t1", {"c2", "c5"}),
        ("team-t2", {"c6"}),
    ],
)
def test_each_folder_lists_its_open_conversations(sam_client, spread, folder, expected):
    response = sam_client.get(f"/inbox/{folder}/")
    assert response.status_code == 200
    assert set(ids(response)) == expected


@pytest.mark.django_db
def test_an_unknown_folder_or_team_is_not_found(sam_client, spread):
    assert sam_client.get("/inbox/nope/").status_code == 404
    assert sam_client.get("/inbox/team-t9/").status_code == 404


@pytest.mark.django_db
def test_it_shows_every_folder_with_its_open_count(sam_client, spread):
    html = sam_client.get("/inbox/all/").content.decode()
    counts = dict(re.findall(r'<span class="folder-name">([^<]+)</span>\s*<span class="folder-count">(\d+)', html))
    assert counts == {"Your inbox": "2", "Unassigned": "1", "All": "6", "Billing": "2", "Tech": "1"}


@pytest.mark.django_db
def test_it_counts_every_folder_in_one_query(spread, workspace):
    with CaptureQueriesContext(connection) as queries:
        groups = open_groups()
    assert len(queries) == 1
    assert folder_counts(groups, workspace) == {"mine": 2, "unassigned": 1, "all": 6, "team-t1": 2, "team-t2": 1}
    assert folder_counts(groups, None)["mine"] == 0


@pytest.mark.django_db
def test_the_folders_partial_answers_the_poll_alone_from_the_cache(sam_client, spread, django_assert_max_num_queries):
    sam_client.get("/inbox/all/")  # warms the counts' cache
    Conversation.objects.filter(intercom_id="c4").update(assignee_admin_id="a1")
    # session, user, the staff profile (the view once, the context processor twice): the counts are cached
    with django_assert_max_num_queries(5) as queries:
        response = sam_client.get("/inbox/all/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox-folders")
    html = response.content.decode()
    assert '<h2 class="pane-title">Inbox</h2>' in html and "conversation-list" not in html
    assert not any("intercom_mirror_conversation" in q["sql"] for q in queries.captured_queries)
    cache.clear()
    with django_assert_max_num_queries(7):  # the same, plus the grouped count and the teams' names
        response = sam_client.get("/inbox/all/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox-folders")
    html = response.content.decode()
    assert re.search(r"Your inbox</span>\s*<span class=\"folder-count\">3", html)  # fresh once the cache expired


# --- states, sorts, search ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("state, expected", [("open", ["c1"]), ("snoozed", ["c2"]), ("closed", ["c3"])])
def test_it_filters_by_state(sam_client, workspace, state, expected):
    conv(1)
    conv(2, state="snoozed", snoozed_until=T0 + timedelta(days=1))
    conv(3, state="closed")
    assert ids(sam_client.get(f"/inbox/all/?state={state}")) == expected


@pytest.mark.django_db
def test_a_junk_state_or_sort_falls_back_to_the_default(sam_client, workspace):
    conv(1)
    conv(2)
    assert ids(sam_client.get("/inbox/all/?state=bogus&sort=bogus&after=junk")) == ["c2", "c1"]


@pytest.fixture
def sortable(workspace):
    """Conversations whose order differs under each sort."""
    conv(1, created_at=T0, updated_at=T0 + timedelta(hours=3), waiting_since=T0 + timedelta(hours=2))
    conv(2, created_at=T0 + timedelta(hours=1), updated_at=T0 + timedelta(hours=5), waiting_since=None)
    conv(3, created_at=T0 + timedelta(hours=2), updated_at=T0 + timedelta(hours=4), waiting_since=T0)
    conv(4, created_at=T0 - timedelta(hours=1), updated_at=T0 + timedelta(hours=2), waiting_since=None)
    conv(5, created_at=T0 + timedelta(hours=3), updated_at=T0 + timedelta(hours=6), waiting_since=T0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sort, expected",
    [
        ("latest", ["c5", "c2", "c3", "c1", "c4"]),  # updated_at, newest first
        # waiting longest first; equal waiting_since by created_at; not waiting ("now") last, by created_at
        ("waiting", ["c3", "c5", "c1", "c4", "c2"]),
        ("newest", ["c5", "c3", "c2", "c1", "c4"]),
        ("oldest", ["c4", "c1", "c2", "c3", "c5"]),
    ],
)
def test_it_sorts(sam_client, sortable, sort, expected):
    assert ids(sam_client.get(f"/inbox/all/?sort={sort}")) == expected


@pytest.mark.django_db
def test_it_searches_by_name_email_or_subject_prefix_case_insensitively(sam_client, workspace):
    conv(1, customer_id="u1")  # Zoe Customer, zoe@example.com
    conv(2, customer_id="l1")  # lead@example.com
    conv(3, customer_id=None, subject="Refund please")
    index_conversations()
    assert ids(sam_client.get("/inbox/all/?q=zoe")) == ["c1"]
    assert ids(sam_client.get("/inbox/all/?q=LEAD@")) == ["c2"]
    assert ids(sam_client.get("/inbox/all/?q=refund")) == ["c3"]
    assert ids(sam_client.get("/inbox/all/?q=customer")) == []  # the start of a name, not any word of it


def index_conversations() -> None:
    """Index rows made here directly (the apply path's listener does it for synced rows)."""
    from intercom_mirror.search.index import index_applied

    index_applied(Contact, list(Contact.objects.values_list("pk", flat=True)))
    index_applied(Conversation, list(Conversation.objects.values_list("pk", flat=True)))
    index_applied(ConversationPart, list(ConversationPart.objects.values_list("pk", flat=True)))


@pytest.mark.django_db
def test_the_search_box_searches_every_part_within_the_folder_and_state(sam_client, workspace):
    """The box narrows the current folder and state with the search page's language, over every part."""
    convs = [conv(1, customer_id="u1"), conv(2, customer_id="l1"), conv(3, customer_id="u1", state="closed")]
    for n, body in [(1, "<p>The <strong>carburettor</strong> is broken</p>"), (2, "<p>my carburettor again</p>"),
                    (3, "<p>carburettor, closed case</p>")]:  # fmt: skip
        ConversationPart.objects.create(
            intercom_id=f"p{n}", conversation=convs[n - 1], part_type="comment", body=body,
            author_type="user", created_at=T0 + timedelta(hours=2), updated_at=T0 + timedelta(hours=2),
        )  # fmt: skip
    index_conversations()
    assert sorted(ids(sam_client.get("/inbox/all/?q=carbur"))) == ["c1", "c2"]  # a prefix, in parts; open only
    assert ids(sam_client.get("/inbox/all/?q=carbur&state=closed")) == ["c3"]
    assert ids(sam_client.get('/inbox/all/?q="carburettor is broken"')) == ["c1"]
    assert ids(sam_client.get("/inbox/all/?q=carburettor -again")) == ["c1"]
    assert ids(sam_client.get("/inbox/all/?q=carburettor from:lead@example.com")) == ["c2"]
    assert ids(sam_client.get("/inbox/all/?q=strong")) == []  # tags and attributes of the HTML are not words


@pytest.mark.django_db
def test_the_search_box_searches_a_stretch_of_the_folder_per_page_and_says_so(sam_client, workspace, monkeypatch):
    """Each page tests at most SEARCH_STRETCH conversations in the folder's order; "Next page" goes on from there."""
    from dashboard.inbox import queries

    monkeypatch.setattr(queries, "SEARCH_STRETCH", 5)
    for n in range(1, 13):  # c12 is the latest activity, c1 the oldest
        conv(n, customer_id="u1", subject="Quokka sighting" if n in (2, 11) else f"Other {n}",
             updated_at=T0 + timedelta(minutes=n))  # fmt: skip
    index_conversations()
    first = sam_client.get("/inbox/all/?q=quokka").content.decode()
    assert ids_in(first) == ["c11"]  # c12 … c8 were searched
    assert "1 of the next 5" in first
    assert walk(sam_client, "/inbox/all/?q=quokka") == ["c11", "c2"]  # no repeats, none missed, in order
    # A stretch that holds the rest of the folder counts its matches, past a full page.
    monkeypatch.setattr(queries, "SEARCH_STRETCH", 100)
    for n in range(13, 71):
        conv(n, customer_id="u1", subject="Quokka herd", updated_at=T0 + timedelta(minutes=n))
    index_conversations()
    page = sam_client.get("/inbox/all/?q=quokka").content.decode()
    assert len(ids_in(page)) == 50 and "60 conversations" in page and "Select all 60 matching" in page
    # Without the search box, the same folder is one page with its whole count.
    assert "70 conversations" in sam_client.get("/inbox/all/").content.decode()


def ids_in(html: str) -> list[str]:
    return re.findall(r'name="ids" value="([^"]+)"', html)


# --- keyset paging ---------------------------------------------------------------------------------


def walk(client, url: str) -> list[str]:
    """Follow the "Next page" links to the end; return every id in order."""
    seen: list[str] = []
    for _ in range(20):
        html = client.get(url).content.decode()
        seen += re.findall(r'name="ids" value="([^"]+)"', html)
        found = re.search(r'<a href="([^"]+)" rel="next">', html)
        if not found:
            return seen
        url = found.group(1).replace("&amp;", "&")
        assert "after=" in url and "offset" not in url
    raise AssertionError("too many pages")


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(SORTS))
def test_paging_has_no_repeats_and_no_gaps_with_equal_timestamps(sam_client, workspace, sort):
    # 130 conversations sharing a handful of timestamps (and some without waiting_since), so
    # only the id tiebreaker orders them within a timestamp.
    for n in range(130):
        stamp = T0 + timedelta(hours=n % 4)
        conv(n, created_at=stamp, updated_at=stamp, waiting_since=None if n % 3 == 0 else stamp)
    seen = walk(sam_client, f"/inbox/all/?sort={sort}")
    expected = list(Conversation.objects.order_by(*SORTS[sort].order_by()).values_list("intercom_id", flat=True))
    assert len(seen) == 130 and len(set(seen)) == 130
    assert seen == expected


@pytest.mark.django_db
def test_paging_is_stable_while_new_conversations_arrive(sam_client, workspace):
    for n in range(60):
        conv(n, updated_at=T0)
    first = sam_client.get("/inbox/all/").content.decode()
    next_url = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    conv(100, updated_at=T0 + timedelta(days=1))  # new activity lands on top of page one
    second = ids(sam_client.get(next_url))
    assert len(ids_of(first)) == 50 and len(second) == 10
    assert set(ids_of(first)).isdisjoint(second) and len(set(ids_of(first)) | set(second)) == 60


def ids_of(html: str) -> list[str]:
    return re.findall(r'name="ids" value="([^"]+)"', html)


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(SORTS))
def test_paging_walks_every_row_once_whatever_timestamps_are_missing(workspace, sort):
    import random

    rng = random.Random(5)
    stamps = [None, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    for n in range(40):
        conv(n, created_at=rng.choice(stamps), updated_at=rng.choice(stamps), waiting_since=rng.choice(stamps))
    expected = list(Conversation.objects.order_by(*SORTS[sort].order_by()).values_list("intercom_id", flat=True))
    seen, cursor = [], ""
    for _ in range(40):
        page = page_of(Conversation.objects.all(), SORTS[sort], cursor, size=3)
        seen += [r.intercom_id for r in page.rows]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == expected


# --- rows --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_row_shows_customer_snippet_wait_assignee_tags_unread_snooze_and_viewers(
    sam_client, workspace, django_user_model
):
    now = timezone.now()
    c = conv(
        1, customer_id="l1", assignee_team_id="t1", read=False, state="snoozed",
        waiting_since=now - timedelta(hours=3, minutes=5), snoozed_until=now + timedelta(days=2),
    )  # fmt: skip
    c.tags.add(Tag.objects.create(intercom_id="g1", name="vip"))
    ConversationPart.objects.create(
        intercom_id="p1", conversation=c, part_type="comment", body="<p>Latest &amp; greatest</p>",
        author_type="user", created_at=now - timedelta(minutes=1),
    )  # fmt: skip
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw", is_staff=True, first_name="Bob")
    stale = django_user_model.objects.create_user("old", "old@example.com", "pw", is_staff=True)
    ConversationViewer.objects.create(user=bob, conversation_intercom_id="c1", seen_at=now - timedelta(seconds=5))
    ConversationViewer.objects.create(user=stale, conversation_intercom_id="c1", seen_at=now - timedelta(minutes=5))
    html = sam_client.get("/inbox/all/?state=snoozed").content.decode()
    row = html[html.index('data-id="c1"') :]
    assert "lead@example.com" in row and 'role-lead">Lead<' in row
    assert "Latest &amp; greatest" in row  # the last part, as text (escaped again by the template)
    assert "waiting 3 h" in row
    assert 'class="row-assignee">Billing<' in row
    assert 'class="row-tag">vip<' in row
    assert 'class="unread-dot"' in row
    assert "snoozed until" in row
    assert "Bob viewing" in row and "old" not in row.split("conv-meta")[1].split("</li>")[0]


@pytest.mark.django_db
def test_a_row_never_shows_its_own_user_as_viewing(sam_client, sam, workspace):
    conv(1)
    ConversationViewer.objects.create(user=sam, conversation_intercom_id="c1", seen_at=timezone.now())
    html = sam_client.get("/inbox/all/").content.decode()
    assert "viewing" not in html.split('data-id="c1"')[1]


@pytest.mark.django_db
def test_a_snippet_is_plain_text_and_never_raw_html(sam_client, workspace):
    conv(
        1, body='<script>window.pwned=1</script><p>Hello <b>there</b> &lt;friend&gt;</p><img src=x onerror="alert(1)">'
    )
    html = sam_client.get("/inbox/all/").content.decode()
    row = html[html.index('data-id="c1"') :]
    assert "Hello there &lt;friend&gt;" in row
    assert "<script>window.pwned" not in html and "onerror" not in html and "pwned" not in html
    assert snippet("<script>x()</script><style>p{}</style>Hi") == "Hi"
    assert snippet("<p>Steps:</p><ol><li>Log out</li><li>Clear<br>cache</li></ol>") == "Steps: Log out Clear cache"
    assert snippet("word " * 60).endswith("…") and len(snippet("word " * 60)) <= 121


@pytest.mark.django_db
def test_untrusted_names_and_subjects_are_escaped(sam_client, workspace):
    Contact.objects.filter(intercom_id="u1").update(name='<img src=x onerror="alert(1)">Eve')
    conv(1)
    html = sam_client.get("/inbox/all/").content.decode()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Eve" in html and "<img src=x" not in html


@pytest.mark.django_db
def test_a_row_links_to_the_conversation_with_and_without_htmx(sam_client, workspace):
    conv(1)
    html = sam_client.get("/inbox/all/").content.decode()
    assert 'href="/conversations/c1/"' in html
    assert 'hx-get="/conversations/c1/" hx-target="#conversation-pane" hx-swap="innerHTML" hx-push-url="true"' in html
    assert '<div id="conversation-pane">' in html and "Select a conversation" in html


@pytest.mark.django_db
def test_the_list_partial_answers_its_poll_alone(sam_client, workspace):
    for n in range(3):
        conv(n)
    response = sam_client.get("/inbox/all/?sort=oldest", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="conversation-list")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="conversation-list" hx-get="/inbox/all/?sort=oldest"')
    assert ids_of(html) == ["c0", "c1", "c2"] and "inbox-folders" not in html and "<html" not in html
    assert response["Vary"] and "HX-Target" in response["Vary"]


def fill(n: int) -> None:
    """n conversations, each with a part, two tags and a viewer: everything a row can show."""
    tags = [Tag.objects.get_or_create(intercom_id=f"g{i}", defaults={"name": f"tag{i}"})[0] for i in range(2)]
    from django.contrib.auth.models import User

    viewer, _ = User.objects.get_or_create(username="viewer", defaults={"is_staff": True})
    now = timezone.now()
    for i in range(n):
        c = conv(1000 + i + Conversation.objects.count(), assignee_admin_id="a2", waiting_since=now)
        c.tags.add(*tags)
        ConversationPart.objects.create(
            intercom_id=f"p{c.pk}", conversation=c, part_type="comment", body="<p>hi</p>", created_at=now
        )
        ConversationViewer.objects.create(user=viewer, conversation_intercom_id=c.intercom_id, seen_at=now)


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_with_5_or_60_rows(sam_client, workspace, django_assert_max_num_queries):
    fill(5)
    with CaptureQueriesContext(connection) as small:
        sam_client.get("/inbox/all/")
    fill(55)
    cache.clear()  # both measured with the folder counts and teams not cached (the worst case)
    with django_assert_max_num_queries(len(small)) as large:
        html = sam_client.get("/inbox/all/").content.decode()
    assert len(ids_of(html)) == 50
    # Measured: 12. Session, user, staff profile ×3 (view, context processor), counts, teams, rows (customer,
    # assignee and last message joined in), the total, tags, viewers, admins for the Assign menu.
    assert len(large) == len(small) <= 12
    next_url = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    cache.clear()
    with django_assert_max_num_queries(len(small)):  # a deeper page: the same
        assert len(ids(sam_client.get(next_url))) == 10


# --- preferences ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_staff_user_switches_single_key_shortcuts_off_and_on(sam_client, sam, workspace):
    html = sam_client.get("/inbox/all/").content.decode()
    assert 'data-shortcuts="on"' in html and 'id="keyboard-help"' in html
    response = sam_client.post("/inbox/preferences/", {"keyboard_shortcuts": "off", "next": "/inbox/all/?state=closed"})
    assert response["Location"] == "/inbox/all/?state=closed"
    sam.staff_profile.refresh_from_db()
    assert sam.staff_profile.keyboard_shortcuts is False
    html = sam_client.get("/inbox/all/").content.decode()
    assert 'data-shortcuts="off"' in html and "Turn single-key shortcuts on" in html
    sam_client.post("/inbox/preferences/", {"keyboard_shortcuts": "on"})
    sam.staff_profile.refresh_from_db()
    assert sam.staff_profile.keyboard_shortcuts is True


@pytest.mark.django_db
def test_preferences_never_redirect_off_site(sam_client, workspace):
    response = sam_client.post("/inbox/preferences/", {"keyboard_shortcuts": "off", "next": "https://evil.test/"})
    assert response["Location"] == "/inbox/"
    assert sam_client.get("/inbox/preferences/").status_code == 405


@pytest.mark.django_db
def test_it_stops_counting_a_long_list_at_the_cap(sam_client, monkeypatch):
    from dashboard.inbox import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    for n in range(5):
        conv(n)
    html = sam_client.get("/inbox/all/").content.decode()
    assert "more than 3 conversations" in html and "Select all more than 3 matching" in html
    assert len(ids(sam_client.get("/inbox/all/"))) == 5  # the rows are all there
    conv(9, state="closed")
    assert "1 conversation<" in sam_client.get("/inbox/all/?state=closed").content.decode()


def test_a_stretch_is_bounded_on_the_sort_column_unless_nulls_are_in_it():
    from dashboard.inbox.queries import SORTS

    early, late = Conversation(updated_at=T0), Conversation(updated_at=T0 + timedelta(days=1))
    assert SORTS["latest"].up_to(late, early) == Q(updated_at__gte=T0)  # newest first: down to the stretch's end
    assert SORTS["oldest"].up_to(Conversation(created_at=T0), Conversation(created_at=T0 + timedelta(days=1))) == Q(
        created_at__lte=T0 + timedelta(days=1)
    )
    waiting = SORTS["waiting"]  # NULLs last: a stretch that reaches them has no bound
    assert waiting.up_to(Conversation(waiting_since=T0), Conversation(waiting_since=None)) == Q()
