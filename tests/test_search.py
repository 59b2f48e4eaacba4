"""Search over the mirror: what it finds, the query language against the index, ranking, paging and upkeep.

Records enter through the apply path, as every writer's do, so these tests also
check that the index listener keeps up with each kind of write.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intercom_mirror.apply import (
    Source,
    apply_companies,
    apply_contacts,
    apply_conversation_details,
    apply_conversation_items,
    apply_deletion,
    apply_notes,
    apply_simple,
)
from intercom_mirror.models import Admin, Company, Contact, Conversation, ConversationPart, Note, StaffProfile, Tag
from intercom_mirror.search import backends, index_applied
from intercom_mirror.search.models import SearchEntry
from intercom_mirror.search.queries import (
    Cursor,
    conversation_filter,
    search_conversations,
    search_people,
)
from intercom_mirror.search.query import parse

T0 = 1_714_564_800  # 2024-05-01 12:00 UTC
DAY = 86_400


# --- payloads, applied as a sync would apply them -------------------------------------------------


def part(pid: str, body: str, *, author=("user", "u1"), at: int = T0 + 60, part_type: str = "comment") -> dict:
    return {
        "type": "conversation_part",
        "id": pid,
        "part_type": part_type,
        "body": body,
        "author": {"type": author[0], "id": author[1]},
        "created_at": at,
        "updated_at": at,
    }


def conversation(cid: str, body: str = "<p>Hello</p>", *, parts=(), subject="", customer="u1", created=T0, **extra):
    return {
        "type": "conversation",
        "id": cid,
        "created_at": created,
        "updated_at": created + 100,
        "state": "open",
        "open": True,
        "user": {"type": "user", "id": customer},
        "conversation_message": {
            "type": "conversation_message",
            "id": f"m{cid}",
            "subject": subject,
            "body": body,
            "author": {"type": "user", "id": customer},
        },
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": list(parts)},
        **extra,
    }


def contact(cid: str, name: str = "", email: str = "", **extra) -> dict:
    return {"type": "user", "id": cid, "name": name, "email": email, "updated_at": T0, **extra}


def add_conversations(*details: dict) -> None:
    apply_conversation_details(list(details), Source.DIRECT)


def found(text: str, user=None) -> list[str]:
    page = search_conversations(parse(text), user=user, size=50)
    return [hit.record.intercom_id for hit in page.hits]


def people(model, text: str) -> list[str]:
    return [hit.record.intercom_id for hit in search_people(model, parse(text), size=50).hits]


@pytest.fixture
def mirror(db):
    apply_simple(Admin, [{"type": "admin", "id": "a1", "name": "Ann Lefèvre", "email": "ann@corp.test"}], Source.LIST)
    apply_simple(Admin, [{"type": "admin", "id": "a2", "name": "Bob Stone", "email": "bob@corp.test"}], Source.LIST)
    apply_contacts(
        [
            contact(
                "u1",
                "Zoë Martin",
                "Zoe@Example.com",
                user_id="cust-881",
                phone="+33 6 12 34 56 78",
                custom_attributes={"plan": "Platinum", "favourite_colour": "vert émeraude", "seats": 42},
            ),
            contact("u2", "山田太郎", "taro@example.jp"),
            contact("u3", "فاطمة الزهراء", "fatima@example.ae"),
            contact("u4", "Élodie Durand", "elodie@acme.test"),
        ],  # fmt: skip
        Source.LIST,
    )
    apply_companies(
        [
            {
                "type": "company",
                "id": "co1",
                "company_id": "ACME-77",
                "name": "Société Lumière",
                "updated_at": T0,
                "custom_attributes": {"region": "Bretagne"},
            }
        ],  # fmt: skip
        Source.LIST,
    )
    add_conversations(
        conversation(
            "c1",
            "<p>I was charged twice, I need a <b>refund</b> please</p>",
            subject="Invoice question",
            parts=[
                part("p1", "<p>Sorry about that, which credit card did you use?</p>", author=("admin", "a1")),
                part("p2", "<p>The Visa one. My credit card ends in 4242.</p>", at=T0 + 120),
            ],
            assignee={"type": "admin", "id": "a1"},
        ),
        conversation(
            "c2",
            "<p>Refund for order 1234 via bank transfer</p>",
            customer="u4",
            created=T0 + 10 * DAY,
            state="closed",
            open=False,
            parts=[part("p3", "<p>Chargeback opened by the bank</p>", author=("user", "u4"))],
            assignee={"type": "admin", "id": "a2"},
        ),
        conversation("c3", "<p>こんにちは、山田太郎です。請求書について</p>", customer="u2", created=T0 - 10 * DAY),
        conversation("c4", "<p>مرحبا، أحتاج إلى استرداد</p>", customer="u3", state="snoozed"),
    )


# --- what it finds -----------------------------------------------------------------------------------


def test_it_finds_conversations_by_subject_opening_message_and_parts(mirror):
    assert found("invoice") == ["c1"]
    assert found("charged") == ["c1"]
    assert found("4242") == ["c1"]
    assert set(found("refund")) == {"c1", "c2"}


def test_it_finds_contacts_by_name_email_user_id_phone_and_attribute_values(mirror):
    for text in ("zoe", "Zoë Martin", "zoe@example.com", "cust-881", "+33 6 12", "platinum", "émeraude", "42"):
        assert people(Contact, text) == ["u1"], text


def test_it_finds_companies_by_name_and_company_id(mirror):
    for text in ("lumiere", "Société", "ACME-77", "acme", "bretagne"):
        assert people(Company, text) == ["co1"], text


def test_it_finds_a_contact_by_a_note(mirror):
    apply_notes([{"type": "note", "id": "n1", "body": "<p>Prefers calls after 6pm, speaks Breton</p>",
                  "created_at": T0, "user": {"type": "user", "id": "u4"}}], Source.DIRECT)  # fmt: skip
    page = search_people(Contact, parse("breton"))
    assert [h.record.intercom_id for h in page.hits] == ["u4"]
    assert page.hits[0].found_in == "a note" and "<mark>Breton</mark>" in page.hits[0].snippet


def tag(name: str, *records) -> Tag:
    """Tag records (links are written by the apply path's link step, which has no listener: none is needed)."""
    apply_simple(Tag, [{"type": "tag", "id": f"t-{name}", "name": name}], Source.LIST)
    row = Tag.objects.get(intercom_id=f"t-{name}")
    for record in records:
        record.tags.add(row)
    return row


def test_it_finds_records_carrying_a_tag_by_its_name(mirror):
    tag("Überfan", Conversation.objects.get(intercom_id="c2"), Contact.objects.get(intercom_id="u2"))
    tag("Gold account", Company.objects.get(intercom_id="co1"))
    assert found("uberfan") == ["c2"]
    assert people(Contact, "überfan") == ["u2"]
    assert people(Company, '"gold account"') == ["co1"]
    assert found("uberfan refund") == ["c2"]  # one word in the tag, the other in the text


def test_it_requires_every_word_somewhere_in_the_conversation(mirror):
    assert found("refund visa") == ["c1"]  # the opening message and the third part
    assert found("refund nowhere") == []


# --- the query language --------------------------------------------------------------------------------


def test_it_matches_words_by_prefix(mirror):
    assert set(found("refu")) == {"c1", "c2"}
    assert found("cred car") == ["c1"]
    assert people(Contact, "elo") == ["u4"]


def test_it_matches_a_phrase_exactly_and_in_order(mirror):
    assert found('"credit card"') == ["c1"]
    assert found('"card credit"') == []
    assert found('"credit car"') == []  # words of a phrase are whole words
    assert found('"bank transfer"') == ["c2"]


def test_it_excludes_a_conversation_containing_the_word_anywhere(mirror):
    assert set(found("refund")) == {"c1", "c2"}
    assert found("refund -chargeback") == ["c1"]  # "chargeback" is only in c2's reply
    assert found('refund -"credit card"') == ["c2"]
    assert sorted(people(Contact, "example -taro")) == ["u1", "u3"]


def test_it_filters_by_the_customers_email(mirror):
    assert found("from:zoe@example.com") == ["c1"]
    assert found("from:ZOE@EXAMPLE.COM refund") == ["c1"]
    assert found("from:elodie@acme.test refund") == ["c2"]


def test_it_filters_by_a_parts_author_email_and_by_a_domain(mirror):
    assert found("from:ann@corp.test") == ["c1"]  # Ann wrote a reply in c1
    assert sorted(found("from:example.jp")) == ["c3"]
    assert sorted(found("from:example")) == ["c1", "c3", "c4"]
    assert found("from:nobody@example.com") == []


def test_it_filters_by_tag(mirror):
    tag("VIP", Conversation.objects.get(intercom_id="c1"))
    assert found("tag:vip") == ["c1"]
    assert found("tag:vip refund") == ["c1"]
    assert set(found("refund -tag:VIP")) == {"c2"}
    assert found("tag:nosuchtag") == []


def test_it_filters_by_assignee_name_and_me(mirror, django_user_model):
    assert found("assignee:ann") == ["c1"]
    assert found('assignee:"Bob Stone"') == ["c2"]
    assert found("assignee:bob@corp.test") == ["c2"]
    user = django_user_model.objects.create_user("sam", "sam@x.test", "pw", is_staff=True)
    assert found("assignee:me", user) == []  # not linked to an admin
    StaffProfile.objects.update_or_create(user=user, defaults={"admin": Admin.objects.get(intercom_id="a2")})
    user = django_user_model.objects.get(pk=user.pk)  # as the next request would: a user keeps the profile it read
    assert found("assignee:me", user) == ["c2"]


def test_it_filters_by_state(mirror):
    assert found("state:closed") == ["c2"]
    assert found("state:snoozed") == ["c4"]
    assert sorted(found("state:open state:snoozed")) == ["c1", "c3", "c4"]


def test_it_filters_by_creation_date(mirror):
    assert sorted(found("after:2024-05-01")) == ["c1", "c2", "c4"]  # the day itself counts
    assert found("after:2024-05-02") == ["c2"]
    assert found("before:2024-05-01") == ["c3"]  # the day itself does not
    assert found("after:2024-05-01 before:2024-05-02 refund") == ["c1"]


def test_filters_of_conversations_leave_contacts_and_companies_out(mirror):
    assert people(Contact, "zoe state:open") == []
    assert people(Contact, "zoe") == ["u1"]


# --- other languages -----------------------------------------------------------------------------------


def test_it_matches_cjk_arabic_and_accented_words(mirror):
    assert found("山田") == ["c3"]
    assert found("太郎") == ["c3"]  # inside a run of CJK without spaces
    assert found("請求書") == ["c3"]
    assert found("مرحبا") == ["c4"]
    assert found("استرداد") == ["c4"]
    assert people(Contact, "太郎") == ["u2"]
    assert people(Contact, "الزهراء") == ["u3"]
    for text in ("zoe", "Zoë", "ZOË", "elodie", "Élodie"):
        assert people(Contact, text) in (["u1"], ["u4"]), text


# --- HTML -----------------------------------------------------------------------------------------------


def test_it_never_matches_or_shows_html_tags_or_attributes(mirror):
    add_conversations(
        conversation(
            "c9",
            '<p class="zebra" style="giraffe"><a href="https://okapi.example/x" title="tapir">Lovely</a> '
            "day</p><script>alert('pwnage')</script><img src=x onerror=\"quokka()\">&lt;b&gt;escaped&lt;/b&gt;",
        )
    )
    for hidden in ("zebra", "giraffe", "okapi", "tapir", "href", "script", "pwnage", "alert", "quokka", "onerror"):
        assert found(hidden) == [], hidden
    page = search_conversations(parse("lovely"), user=None)
    snippet = page.hits[0].snippet
    assert "<mark>Lovely</mark> day" in snippet
    assert "&lt;b&gt;escaped" in snippet  # text that looked like a tag, shown as text
    assert "<script" not in snippet and "<a" not in snippet and "<p" not in snippet and "<img" not in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_it_highlights_the_best_matching_part(mirror):
    hit = search_conversations(parse("chargeback"), user=None).hits[0]
    assert hit.record.intercom_id == "c2" and hit.found_in == "a later message"
    assert "<mark>Chargeback</mark> opened by the bank" in hit.snippet


# --- long conversations and upkeep ----------------------------------------------------------------------


def test_it_finds_a_word_only_in_the_300th_part(mirror):
    parts = [part(f"q{i}", f"<p>Routine update number {i}</p>", at=T0 + i) for i in range(1, 300)]
    parts.append(part("q300", "<p>The flux capacitor is misaligned</p>", at=T0 + 300))
    add_conversations(conversation("c300", parts=parts))
    hit = search_conversations(parse("capacitor"), user=None).hits[0]
    assert hit.record.intercom_id == "c300" and "<mark>capacitor</mark>" in hit.snippet


def test_a_new_reply_is_one_entry_written_not_the_whole_thread(mirror, monkeypatch):
    parts = [part(f"q{i}", f"<p>Message {i}</p>", at=T0 + i) for i in range(500)]
    add_conversations(conversation("c500", parts=parts))
    writes = spy_on_writes(monkeypatch)
    reply = part("q500", "<p>Finally fixed: it was the widget</p>", at=T0 + 1000)
    add_conversations(conversation("c500", parts=[*parts, reply], updated_at=T0 + 1000))
    assert writes == [[reply["id"]]]  # one statement with one entry: the 500 others are unchanged
    assert found("widget") == ["c500"]


def spy_on_writes(monkeypatch) -> list[list[str]]:
    """Record the parts (by Intercom id) each index write carries."""
    writes: list[list[str]] = []
    write = backends.write

    def spy(docs, replaced):
        if docs:
            pks = [d.row_id for d in docs if d.kind == SearchEntry.PART]
            parts = ConversationPart.objects.filter(pk__in=pks).values_list("intercom_id", flat=True)
            writes.append([*parts, *(f"kind {d.kind}" for d in docs if d.kind != SearchEntry.PART)])
        write(docs, replaced)

    monkeypatch.setattr(backends, "write", spy)
    return writes


def test_it_rewrites_no_entry_when_the_text_is_unchanged(mirror, monkeypatch):
    writes = spy_on_writes(monkeypatch)
    index_applied(Conversation, list(Conversation.objects.values_list("pk", flat=True)))
    index_applied(ConversationPart, list(ConversationPart.objects.values_list("pk", flat=True)))
    index_applied(Contact, list(Contact.objects.values_list("pk", flat=True)))
    assert writes == []


def test_it_follows_edits_and_emptied_text(mirror):
    apply_contacts([contact("u1", "Zoë Bernard", "zoe@example.com", updated_at=T0 + 5)], Source.DIRECT)
    assert people(Contact, "martin") == []
    assert people(Contact, "bernard") == ["u1"]
    add_conversations(conversation("c4", "", parts=[]))
    assert found("مرحبا") == []
    assert not SearchEntry.objects.filter(
        kind=SearchEntry.CONVERSATION, row_id=Conversation.objects.get(intercom_id="c4").pk
    ).exists()


# --- deleted records -------------------------------------------------------------------------------------


def test_it_leaves_deleted_records_out(mirror):
    apply_notes([{"type": "note", "id": "n1", "body": "<p>secret handshake</p>", "created_at": T0,
                  "user": {"type": "user", "id": "u1"}}], Source.DIRECT)  # fmt: skip
    assert people(Contact, "handshake") == ["u1"]
    apply_deletion(Note, ["n1"])
    assert people(Contact, "handshake") == []
    apply_deletion(Conversation, ["c1"])
    assert found("refund") == ["c2"]
    assert Conversation.objects.filter(conversation_filter("invoice", user=None)).count() == 0
    apply_deletion(Contact, ["u4"])
    assert people(Contact, "elodie") == []
    apply_deletion(Company, ["co1"])
    assert people(Company, "lumiere") == []


# --- ranking, paging and the inbox's narrowing -----------------------------------------------------------


def test_it_ranks_and_pages_by_keyset_without_overlap(mirror):
    add_conversations(*[conversation(f"k{i}", f"<p>keyset {'keyset ' * (i % 4)}page test {i}</p>") for i in range(25)])
    first = search_conversations(parse("keyset"), user=None, size=10)
    assert len(first.hits) == 10 and first.next_cursor
    ranks = [h.rank for h in first.hits]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[-1]
    seen = [h.record.intercom_id for h in first.hits]
    cursor = first.next_cursor
    while cursor:
        page = search_conversations(parse("keyset"), user=None, after=Cursor.parse(cursor), size=10)
        seen += [h.record.intercom_id for h in page.hits]
        cursor = page.next_cursor
    assert sorted(seen) == sorted(f"k{i}" for i in range(25))


def test_it_reads_only_cursors_it_wrote():
    assert Cursor.parse("0.5_12") == Cursor(0.5, 12)
    assert Cursor.parse(str(Cursor(1 / 3, 7))) == Cursor(1 / 3, 7)
    for junk in ("", "x", "nan_3", "inf_3", "1.0_x", None):
        assert Cursor.parse(junk) is None


def test_conversation_filter_narrows_a_queryset(mirror):
    matches = conversation_filter("refund -chargeback", user=None)
    assert list(Conversation.objects.filter(matches).values_list("intercom_id", flat=True)) == ["c1"]
    assert Conversation.objects.filter(conversation_filter("state:open", user=None)).count() == 2


def test_it_finds_a_record_written_through_every_kind_of_apply(mirror):
    apply_conversation_items([conversation("c7", "<p>webhook brought this marmalade</p>", parts=[part("p70", "<p>and a kumquat</p>")])], Source.WEBHOOK)  # fmt: skip
    assert found("marmalade") == ["c7"] and found("kumquat") == ["c7"]
    assert datetime.fromtimestamp(T0, UTC).year == 2024


def test_words_too_common_to_rank_come_newest_first_with_the_same_matches(mirror, monkeypatch):
    """PostgreSQL walks conversations by latest activity when the words match too many entries to rank."""
    from intercom_mirror.search import queries

    add_conversations(*[conversation(f"w{i}", f"<p>common words page {i}</p>", updated_at=T0 + i) for i in range(25)])
    queries_to_check = [
        "refund",
        "refund -chargeback",
        '"credit card"',
        "common page",
        "common -page",
        "tag:vip refund",
    ]
    tag("VIP", Conversation.objects.get(intercom_id="c1"))
    ranked = {q: sorted(found(q)) for q in queries_to_check}
    if not backends.is_postgres():
        assert not search_conversations(parse("common"), user=None).newest_first  # SQLite always ranks
        return
    monkeypatch.setattr(queries, "RANK_AT_MOST", -1)  # every query counts as too common
    for q in queries_to_check:
        page = search_conversations(parse(q), user=None, size=50)
        assert page.newest_first
        assert sorted(h.record.intercom_id for h in page.hits) == ranked[q], q
        moments = [(h.record.updated_at, h.record.pk) for h in page.hits]
        assert moments == sorted(moments, reverse=True), q
    seen, cursor = [], ""
    while True:  # keyset pages on (updated_at, id): no repeats, no gaps
        page = search_conversations(parse("common"), user=None, after=Cursor.parse(cursor), size=10)
        seen += [h.record.intercom_id for h in page.hits]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [f"w{i}" for i in reversed(range(25))]


def test_a_phrase_is_estimated_as_common_as_its_rarest_word(monkeypatch):
    """The planner multiplies word frequencies; words of a phrase go together, so its rarest word bounds it."""
    from intercom_mirror.search import queries

    asked = []

    def planner(kinds, text_queries):
        asked.append(list(text_queries))
        counts = {"credit": 50_000, "card": 40_000, "declin": 900}
        return [next((n for word, n in counts.items() if word in q), 10) for q in text_queries]

    monkeypatch.setattr(backends, "estimated_matches", planner)
    search = queries.Search(parse('"credit card" declin'))
    phrase_term, word_term = search.query.terms
    assert search.estimate(phrase_term) == 40_000  # "card", not a product of frequencies
    assert search.estimate(word_term) == 900
    assert search.driver == word_term
    assert len(asked) == 1 and len(asked[0]) == 3  # every word at once, in one query
    assert queries.Search(parse('"credit card"')).estimate(parse('"credit card"').terms[0]) == 40_000


def test_the_planner_estimates_every_word_in_one_query(mirror, django_assert_num_queries):
    """One EXPLAIN for all the words: each scalar subquery is an InitPlan with its own estimate."""
    if not backends.is_postgres():
        pytest.skip("the estimates are PostgreSQL's (SQLite always ranks)")
    with django_assert_num_queries(1):
        found = backends.estimated_matches([SearchEntry.CONVERSATION, SearchEntry.PART], ["'refund'", "'zzqqxx'"])
    assert len(found) == 2 and all(isinstance(n, int) and n >= 0 for n in found)


def test_a_newest_first_walk_stops_after_a_stretch_and_goes_on_from_there(
    mirror, monkeypatch, client, django_user_model
):
    """Words each common but rarely together: each page tests at most WALK_AT_MOST conversations, and says so."""
    from intercom_mirror.search import queries

    add_conversations(
        *[
            conversation(
                f"s{i}", f"<p>stretch {'walrus' if i in (3, 20) else 'other'} {i}</p>", updated_at=T0 + 10**8 + i
            )
            for i in range(25)
        ]
    )
    if not backends.is_postgres():
        return  # SQLite ranks every query
    monkeypatch.setattr(queries, "RANK_AT_MOST", -1)
    monkeypatch.setattr(queries, "WALK_AT_MOST", 5)
    pages, cursor = [], ""
    while True:
        page = search_conversations(parse("stretch walrus"), user=None, after=Cursor.parse(cursor), size=10)
        pages.append(page)
        cursor = page.next_cursor
        if not cursor:
            break
    found_ = [h.record.intercom_id for p in pages for h in p.hits]
    assert found_ == ["s20", "s3"]  # newest first, none twice, none missed
    assert len(pages) == 6  # 25 of them, 5 a page (the other conversations hold no "stretch")
    assert pages[0].searched_until == datetime.fromtimestamp(T0 + 10**8 + 20, UTC)  # s24 … s20 were searched
    assert pages[-1].searched_until is None

    user = django_user_model.objects.create_user("ann", password="x", is_staff=True)
    client.force_login(user)
    body = client.get("/search/", {"q": "stretch walrus", "in": "conversations"}).content.decode()
    assert "Searched the conversations active since" in body and "Search older conversations" in body
