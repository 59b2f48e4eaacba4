"""Actions on contacts, companies and admins, against the sandbox: the sandbox's state and the mirror agree."""

from __future__ import annotations

import pytest

from intercom_mirror import sync
from intercom_mirror.actions import (
    core,
    do_add_note_contact,
    do_convert_lead,
    do_merge_lead,
    do_set_admin_away,
    do_tag_company,
    do_tag_contact,
    do_tag_contacts,
)
from intercom_mirror.models import Admin, Company, Contact, Conversation, Note, StaffAction, StaffProfile
from tests.sandbox_fixtures import make_sandbox


@pytest.fixture
def sb(monkeypatch):
    sandbox = make_sandbox(users=150, leads=20, conversations=20)
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    monkeypatch.setattr(core, "web_client", lambda: sandbox.new_client(max_retries=1))
    return sandbox


@pytest.fixture
def alice(django_user_model, sb):
    user = django_user_model.objects.create_user("alice", "alice@example.com", "pw", is_staff=True)
    StaffProfile.objects.create(user=user, admin=Admin.objects.live().order_by("id").first())
    return user


def sandbox_tags(sb, contact_id: str) -> set[str]:
    workspace = sb.app.workspace
    contact = workspace.users.get(contact_id) or workspace.leads.get(contact_id)
    return {workspace.tags[t].name for t in contact.tag_ids}


@pytest.mark.django_db
def test_a_note_shows_in_the_mirror_and_the_sandbox(sb, alice):
    lead = Contact.objects.filter(role="lead").first()
    action = do_add_note_contact(lead.intercom_id, "Called, wants a demo", acting_user=alice)
    assert action.state == "done", action.error_message
    note = Note.objects.get(intercom_id=action.result_intercom_id)
    assert (note.contact_id, note.author_id) == (lead.intercom_id, alice.staff_profile.admin_id)
    assert "Called, wants a demo" in sb.app.workspace.notes[action.result_intercom_id].body


@pytest.mark.django_db
def test_tag_and_untag_a_contact_case_insensitively(sb, alice):
    user = Contact.objects.filter(role="user").first()
    assert do_tag_contact(user.intercom_id, "VIP", acting_user=alice).state == "done"
    assert "VIP" in {t.lower().upper() for t in sandbox_tags(sb, user.intercom_id)}
    assert any(t.lower() == "vip" for t in user.tags.values_list("name", flat=True))
    assert do_tag_contact(user.intercom_id, "vip", acting_user=alice, untag=True).state == "done"
    assert not any(t.lower() == "vip" for t in sandbox_tags(sb, user.intercom_id))
    assert not user.tags.filter(name__iexact="vip").exists()


@pytest.mark.django_db
def test_tag_a_company(sb, alice):
    company = Company.objects.first()
    assert do_tag_company(company.intercom_id, "Enterprise", acting_user=alice).state == "done"
    assert company.tags.filter(name="Enterprise").exists()


@pytest.mark.django_db
def test_bulk_tagging_goes_in_requests_of_fifty(sb, alice):
    ids = list(Contact.objects.filter(role="user").values_list("intercom_id", flat=True)[:120])
    actions = do_tag_contacts(ids, "Renewal 2027", acting_user=alice, bulk="b1")
    assert [len(a.request_body["users"]) for a in actions] == [50, 50, 20]
    assert {a.state for a in actions} == {"done"}
    assert all("Renewal 2027" in sandbox_tags(sb, i) for i in ids)
    assert Contact.objects.filter(intercom_id__in=ids, tags__name="Renewal 2027").count() == 120


@pytest.mark.django_db
def test_converting_a_lead_makes_it_a_user_at_once(sb, alice):
    lead = Contact.objects.filter(role="lead").first()
    action = do_convert_lead(lead.intercom_id, user_id="new-user-9", email="nine@example.com", acting_user=alice)
    assert action.state == "done", action.error_message
    row = Contact.objects.get(intercom_id=lead.intercom_id)
    assert (row.role, row.user_id, row.deleted_at) == ("user", "new-user-9", None)
    assert lead.intercom_id in sb.app.workspace.users


@pytest.mark.django_db
def test_merging_a_lead_moves_its_conversations_and_notes_to_the_user(sb, alice):
    lead_id = Conversation.objects.filter(customer__role="lead").values_list("customer_id", flat=True).first()
    user = Contact.objects.filter(role="user").first()
    do_add_note_contact(lead_id, "Note on the lead", acting_user=alice)
    conversations = set(Conversation.objects.filter(customer_id=lead_id).values_list("intercom_id", flat=True))

    action = do_merge_lead(lead_id, user.intercom_id, acting_user=alice)

    assert action.state == "done", action.error_message
    lead = Contact.objects.get(intercom_id=lead_id)
    assert lead.deleted_at is not None and lead.merged_into_id == user.intercom_id
    held = set(Conversation.objects.filter(customer_id=user.intercom_id).values_list("intercom_id", flat=True))
    assert conversations <= held
    assert Note.objects.live().filter(contact_id=user.intercom_id, body__contains="Note on the lead").exists()
    assert lead_id not in sb.app.workspace.leads


@pytest.mark.django_db
def test_a_failed_conversion_leaves_both_records_as_they_were(sb, alice):
    lead = Contact.objects.filter(role="lead").first()
    user = Contact.objects.filter(role="user").first()
    sb.app.faults.fail_next(1, status=400)
    action = do_merge_lead(lead.intercom_id, user.intercom_id, acting_user=alice)
    assert action.state == "failed" and action.error_message
    assert Contact.objects.get(pk=lead.pk).deleted_at is None and Contact.objects.get(pk=lead.pk).role == "lead"
    assert lead.intercom_id in sb.app.workspace.leads


@pytest.mark.django_db
def test_a_staff_user_sets_their_own_away_mode(sb, alice):
    action = do_set_admin_away(away=True, reassign=True, acting_user=alice)
    assert action.state == "done"
    admin = Admin.objects.get(intercom_id=alice.staff_profile.admin_id)
    assert (admin.away_mode_enabled, admin.away_mode_reassign) == (True, True)
    assert StaffAction.objects.get().summary().startswith("alice set away mode")
