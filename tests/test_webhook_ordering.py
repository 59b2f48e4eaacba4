"""Webhooks against the sandbox: same-second updates, redelivered creates, and lead conversions."""

from __future__ import annotations

import json

import pytest

from intercom_mirror import sync
from intercom_mirror.models import Contact, Conversation
from intercom_mirror.webhooks import handle_notification
from tests.sandbox_fixtures import make_sandbox


def hooked_sandbox(**kwargs):
    """A sandbox whose webhook notifications are captured instead of sent."""
    sb = make_sandbox(webhook_url="http://mirror.test/webhooks/intercom/", webhook_secret="s", **kwargs)
    sb.sent = []
    sb.app.webhook_sender = lambda url, body, headers: sb.sent.append(json.loads(body))
    return sb


@pytest.fixture
def sb(monkeypatch, django_capture_on_commit_callbacks):
    """A synced sandbox; queued tasks (resyncs, merge lookups) run at commit against it."""
    sandbox = hooked_sandbox(users=30, leads=10, conversations=12)
    monkeypatch.setattr(sync, "make_client", lambda **_: sandbox.new_client())
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    sandbox.clock.advance(600)
    sandbox.sent.clear()
    return sandbox


def deliver(notifications, capture) -> list[str]:
    outcomes = []
    for notification in notifications:
        with capture(execute=True):
            status, outcome = handle_notification(json.dumps(notification).encode())
        assert status == 200, outcome
        outcomes.append(outcome)
    return outcomes


def an_admin(api) -> str:
    return next(a["id"] for a in api.list_admins()["admins"] if a["type"] == "admin")


@pytest.mark.django_db
@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_an_assign_and_a_close_in_the_same_second_end_assigned_and_closed(
    sb, order, django_capture_on_commit_callbacks
):
    api = sb.client
    conversation = next(c for c in api.list_conversations(open=True)["conversations"] if c["state"] == "open")
    admin = an_admin(api)
    conv_id = str(conversation["id"])
    api.post_reply(conv_id, {"type": "admin", "admin_id": admin, "message_type": "assignment", "assignee_id": admin})
    api.post_reply(conv_id, {"type": "admin", "admin_id": admin, "message_type": "close"})  # same second
    sent = sb.sent if order == "in order" else list(reversed(sb.sent))
    assert [n["topic"] for n in sb.sent] == ["conversation.admin.assigned", "conversation.admin.closed"]

    outcomes = deliver(sent, django_capture_on_commit_callbacks)

    assert "resync queued (same-second update)" in outcomes[1]
    row = Conversation.objects.get(intercom_id=conv_id)
    assert (row.state, row.assignee_admin_id) == ("closed", admin)


@pytest.mark.django_db
def test_a_redelivered_user_created_does_not_bring_a_deleted_user_back(sb, django_capture_on_commit_callbacks):
    api = sb.client
    api.create_user({"user_id": "brand-new", "email": "new@example.com"})
    created = sb.sent[-1]
    user_id = str(created["data"]["item"]["id"])
    api.archive_user(id=user_id)
    deleted = sb.sent[-1]
    assert (created["topic"], deleted["topic"]) == ("user.created", "user.deleted")
    deliver([created, deleted, {**created, "id": created["id"] + "-redelivered"}], django_capture_on_commit_callbacks)
    assert Contact.objects.get(intercom_id=user_id).deleted_at is not None


@pytest.mark.django_db
def test_a_lead_converted_into_a_new_user_becomes_that_user(sb, django_capture_on_commit_callbacks):
    api = sb.client
    lead = Contact.objects.filter(role="lead").first()
    api.convert_lead(
        {"contact": {"id": lead.intercom_id}, "user": {"user_id": "converted-1", "email": "c@example.com"}}
    )
    signed_up = [n for n in sb.sent if n["topic"] == "contact.signed_up"]
    assert deliver(signed_up, django_capture_on_commit_callbacks)[0].endswith("lead converted into a user")
    row = Contact.objects.get(intercom_id=lead.intercom_id)
    assert (row.role, row.user_id, row.deleted_at, row.merged_into_id) == ("user", "converted-1", None, None)


@pytest.mark.django_db
def test_a_lead_merged_into_a_user_points_at_it_and_its_conversations_follow(sb, django_capture_on_commit_callbacks):
    api = sb.client
    lead_id = Conversation.objects.filter(customer__role="lead").values_list("customer_id", flat=True).first()
    target = Contact.objects.filter(role="user").exclude(email="").first()
    conversations = set(Conversation.objects.filter(customer_id=lead_id).values_list("intercom_id", flat=True))
    api.convert_lead({"contact": {"id": lead_id}, "user": {"id": target.intercom_id}})
    signed_up = [n for n in sb.sent if n["topic"] == "contact.signed_up"]

    outcome = deliver(signed_up, django_capture_on_commit_callbacks)[0]

    assert outcome.endswith("merged lead lookup queued")
    lead = Contact.objects.get(intercom_id=lead_id)
    assert lead.deleted_at is not None and lead.merged_into_id == target.intercom_id
    assert set(Conversation.objects.filter(customer_id=target.intercom_id).values_list("intercom_id", flat=True)) >= (
        conversations
    )
    assert not Conversation.objects.live().filter(customer_id=lead_id).exists()
