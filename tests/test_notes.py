"""The notes pass: every contact's notes, users and leads, resumable, staff first."""

from __future__ import annotations

import pytest

from intercom_mirror import sync
from intercom_mirror.models import Contact, Conversation, Note, SyncState
from intercom_mirror.sync import notes
from tests.mirror_compare import assert_notes_match
from tests.sandbox_fixtures import make_sandbox

BEFORE_NOTES = ["admins", "teams", "tags", "segments", "companies", "users", "leads", "conversations"]


@pytest.fixture
def sb():
    sandbox = make_sandbox(users=60, leads=15, conversations=20)
    sync.sync_all(full=True, only=BEFORE_NOTES, client=sandbox.client, sleep=sandbox.clock.sleep)
    return sandbox


def notes_pass(sb, *, full: bool = True):
    return sync.sync("notes", full=full, client=sb.client, sleep=sb.clock.sleep)


def add_note(sb, contact_id: str, body: str) -> dict:
    return sb.client.create_note({"body": body, "user": {"id": contact_id}})


@pytest.mark.django_db
def test_a_full_pass_mirrors_the_notes_of_users_and_leads(sb):
    lead = Contact.objects.filter(role="lead").first()
    note = add_note(sb, lead.intercom_id, "Called about pricing")
    run = notes_pass(sb)
    assert run.status == "ok", run.errors
    assert Note.objects.get(intercom_id=str(note["id"])).contact_id == lead.intercom_id
    assert Note.objects.filter(contact__role="user").exists()
    assert_notes_match(sb.client)
    # One request per contact (none has more than a page of notes here).
    assert run.api_requests == Contact.objects.live().count()


@pytest.mark.django_db
def test_it_reads_customers_of_open_conversations_first(sb, monkeypatch):
    order: list[str] = []
    real = notes.read_notes
    # Batches go in order; within one, requests run a few at a time.
    monkeypatch.setattr(notes, "read_notes", lambda ctx, ids: order.extend(ids) or real(ctx, ids))
    notes_pass(sb)
    waiting = set(Conversation.objects.live().filter(state="open").values_list("customer_id", flat=True))
    waiting &= set(Contact.objects.live().values_list("intercom_id", flat=True))
    assert waiting and set(order[: len(waiting)]) == waiting
    last_seen = dict(Contact.objects.filter(intercom_id__in=order).values_list("intercom_id", "last_request_at"))
    seen = [last_seen[i] for i in order[len(waiting) :] if last_seen[i]]
    assert seen == sorted(seen, reverse=True)  # then the most recently seen


@pytest.mark.django_db
def test_a_pass_that_crashed_resumes_where_it_stopped(sb, monkeypatch):
    total = Contact.objects.live().count()
    real, batches = notes.read_notes, {"n": 0}

    def crash_after_two_batches(ctx, ids):
        if batches["n"] == 2:
            raise RuntimeError("worker killed")
        batches["n"] += 1
        real(ctx, ids)

    monkeypatch.setattr(notes, "read_notes", crash_after_two_batches)
    assert notes_pass(sb).status == "failed"
    assert SyncState.objects.get(resource="notes").full_pass_started_at is not None
    done_before = Contact.objects.filter(notes_synced_at__isnull=False).count()
    assert 0 < done_before < total
    monkeypatch.setattr(notes, "read_notes", real)

    run = notes_pass(sb)

    assert run.status == "ok", run.errors
    assert f"{done_before} contacts already read" in run.notes
    assert run.api_requests == total - done_before
    assert SyncState.objects.get(resource="notes").full_pass_started_at is None
    assert_notes_match(sb.client)


@pytest.mark.django_db
def test_an_incremental_pass_reads_the_notes_of_contacts_that_changed(sb):
    notes_pass(sb)
    sb.clock.advance(600)
    user = Contact.objects.filter(role="user").first()
    note = add_note(sb, user.intercom_id, "Wants a refund")
    sb.client.create_user({"id": user.intercom_id, "name": "Changed"})
    sb.clock.advance(60)
    sync.sync("users", client=sb.client, sleep=sb.clock.sleep)
    run = notes_pass(sb, full=False)
    assert run.kind == "incremental" and run.status == "ok"
    assert Note.objects.filter(intercom_id=str(note["id"])).exists()
    assert run.api_requests < Contact.objects.count()


@pytest.mark.django_db
def test_a_note_deleted_in_intercom_is_flagged(sb):
    notes_pass(sb)
    note = Note.objects.first()
    sb.app.workspace.notes.pop(note.intercom_id)
    notes.refresh_notes(sb.client, note.contact_id)
    note.refresh_from_db()
    assert note.deleted_at is not None


@pytest.mark.django_db
def test_opening_a_contacts_notes_refreshes_them(sb):
    lead = Contact.objects.filter(role="lead").first()
    note = add_note(sb, lead.intercom_id, "Met at the conference")
    shown = notes.refresh_notes(sb.client, lead.intercom_id)
    assert str(note["id"]) in {n.intercom_id for n in shown}
    assert Contact.objects.get(pk=lead.pk).notes_synced_at is not None


@pytest.mark.django_db
def test_the_pass_can_be_turned_off(sb, settings):
    settings.SYNC_NOTES = False
    run = notes_pass(sb)
    assert (run.status, run.api_requests) == ("ok", 0)
    assert "turned off" in run.notes


@pytest.mark.django_db
def test_the_notes_of_a_deleted_contact_are_flagged_with_it(sb):
    notes_pass(sb)
    note = Note.objects.filter(contact__role="user").first()
    sb.client.archive_user(id=note.contact_id)
    sb.clock.advance(60)
    sync.sync_all(full=True, client=sb.client, sleep=sb.clock.sleep)
    note.refresh_from_db()
    assert note.deleted_at is not None
    assert_notes_match(sb.client)
