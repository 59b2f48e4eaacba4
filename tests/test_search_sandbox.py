"""Search over a mirror filled by a full sync of the sandbox, and kept current by a staff reply and a webhook."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from intercom_mirror import sync
from intercom_mirror.actions import core, do_note_conversation, do_reply_conversation
from intercom_mirror.models import Admin, Contact, Conversation, StaffProfile
from intercom_mirror.search.models import SearchEntry
from intercom_mirror.search.queries import search_conversations, search_people
from intercom_mirror.search.query import parse
from tests.sandbox_fixtures import make_sandbox


@pytest.fixture
def sb(db, monkeypatch):
    sandbox = make_sandbox(users=30, leads=8, conversations=12)
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    monkeypatch.setattr(core, "web_client", lambda: sandbox.new_client(max_retries=1))
    return sandbox


@pytest.fixture
def alice(django_user_model, sb):
    user = django_user_model.objects.create_user("alice", "alice@example.com", "pw", is_staff=True)
    StaffProfile.objects.create(user=user, admin=Admin.objects.live().order_by("id").first())
    return user


def found(text: str, user=None) -> list[str]:
    return [hit.record.intercom_id for hit in search_conversations(parse(text), user=user, size=50).hits]


def open_conversation(sb) -> str:
    return next(c.id for c in sb.app.workspace.conversations.values() if c.state == "open")


def test_a_full_sync_indexes_every_conversation_part_contact_and_company(sb):
    assert (
        SearchEntry.objects.filter(kind=SearchEntry.CONVERSATION).count()
        == Conversation.objects.exclude(subject="", body="").count()
    )
    assert SearchEntry.objects.filter(kind=SearchEntry.PART).exists()
    contact = Contact.objects.live().exclude(name="").order_by("id").first()
    surname = contact.name.split()[-1]
    assert contact.intercom_id in [h.record.intercom_id for h in search_people(Contact, parse(surname), size=50).hits]


def test_a_staff_reply_is_searchable_as_soon_as_it_is_sent(sb, alice):
    conversation = open_conversation(sb)
    assert found("unusualword") == []
    action = do_reply_conversation(conversation, "Here is an unusualword for you", acting_user=alice)
    assert action.state == "done"
    assert found("unusualword") == [conversation]
    assert found(f"unusualword from:{alice.staff_profile.admin.email}") == [conversation]
    hit = search_conversations(parse("unusualw"), user=alice).hits[0]
    assert "<mark>unusualword</mark>" in hit.snippet and hit.found_in == "a later message"


def test_a_staff_note_is_searchable_and_assignee_me_narrows(sb, alice):
    conversation = open_conversation(sb)
    do_note_conversation(conversation, "Internal: escalate to the pangolin team", acting_user=alice)
    assert found("pangolin") == [conversation]
    mine = set(
        Conversation.objects.live()
        .filter(assignee_admin_id=alice.staff_profile.admin_id)
        .values_list("intercom_id", flat=True)
    )
    assert set(found("assignee:me", alice)) == mine


def test_the_rebuild_command_restores_an_emptied_index(sb):
    reference = sorted(found("refund")), sorted(found("business days")), SearchEntry.objects.count()
    assert reference[0] and reference[1]
    SearchEntry.objects.all().delete()  # on SQLite the FTS5 index now points at nothing: the rebuild repairs it
    out = StringIO()
    call_command("intercom_search_rebuild", stdout=out)
    assert (sorted(found("refund")), sorted(found("business days")), SearchEntry.objects.count()) == reference
    assert "conversation parts: " in out.getvalue()


def test_the_rebuild_command_drops_entries_of_vanished_rows_and_can_start_empty(sb):
    reference = SearchEntry.objects.count()
    conversation = Conversation.objects.filter(parts__isnull=False).first()
    conversation.parts.all().delete()  # gone from the mirror without the apply path (an admin's delete)
    left = SearchEntry.objects.filter(kind=SearchEntry.PART, owner_id=conversation.pk).count()
    assert left
    call_command("intercom_search_rebuild", stdout=StringIO())
    assert SearchEntry.objects.count() == reference - left
    call_command("intercom_search_rebuild", "--clear", stdout=StringIO())
    assert SearchEntry.objects.count() == reference - left
    assert found("refund")


def test_it_finds_a_long_conversation_by_a_word_only_in_its_300th_part(db, client, staff_user):
    """The demo's check (`make demo`, search "QX…"): search reaches every part of a long thread."""
    from intercom_mirror.models import ConversationPart
    from intercom_mirror.sandbox.generate import LANDMARK_PART, landmark_word

    sandbox = make_sandbox(users=20, leads=5, conversations=100)  # 100 conversations: two are over 500 parts
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    long_ones = [c for c in sandbox.app.workspace.conversations.values() if len(c.parts) >= LANDMARK_PART]
    assert long_ones
    client.force_login(staff_user)
    checked = 0
    for conversation in long_ones:
        word = landmark_word(conversation.id)
        parts = list(
            ConversationPart.objects.filter(conversation__intercom_id=conversation.id).order_by("created_at", "id")
        )
        holding = [i + 1 for i, part in enumerate(parts) if word in part.body]
        if not holding:
            continue  # its 300th part is an event (no text): nothing to find
        assert holding == [LANDMARK_PART]
        assert found(word) == [conversation.id]
        assert found(word.lower()[:-1]) == [conversation.id]  # a prefix, in the other case
        page = client.get("/search/", {"q": word}).content.decode()
        assert f"/conversations/{conversation.id}/" in page
        assert f"<mark>{word}</mark>" in page
        checked += 1
    assert checked
