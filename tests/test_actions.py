"""The staff write path: record, send, apply, outcome; queued when Intercom fails; never twice."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from intercom_mirror import sync
from intercom_mirror.actions import (
    ActionRefused,
    core,
    discard_action,
    do_assign_conversation,
    do_close_conversation,
    do_note_conversation,
    do_reply_conversation,
    do_snooze_conversation,
    do_tag_conversation,
    process_queued_actions,
    retry_action,
)
from intercom_mirror.api import IntercomClient
from intercom_mirror.models import Admin, Contact, Conversation, ConversationPart, StaffAction, StaffProfile
from tests.sandbox_fixtures import make_sandbox


@pytest.fixture
def sb(monkeypatch):
    """A mirrored sandbox; the actions' clients talk to it in-process."""
    sandbox = make_sandbox(users=20, leads=5, conversations=8)
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    monkeypatch.setattr(core, "web_client", lambda: sandbox.new_client(max_retries=1))
    monkeypatch.setattr(core, "worker_client", lambda: sandbox.new_client(max_retries=1))
    return sandbox


@pytest.fixture
def alice(django_user_model, sb):
    user = django_user_model.objects.create_user("alice", "alice@example.com", "pw", is_staff=True)
    StaffProfile.objects.create(user=user, admin=Admin.objects.live().order_by("id").first())
    return user


def open_conversation(sb) -> str:
    return next(c.id for c in sb.app.workspace.conversations.values() if c.state == "open")


def admin_parts(sb, conversation_id: str, text: str) -> list:
    """The parts of the sandbox's conversation whose body holds `text` (the sandbox's own state)."""
    return [p for p in sb.app.workspace.conversations[conversation_id].parts if text in (p.body or "")]


def down(monkeypatch) -> None:
    """Make every new action client fail to connect, as when Intercom is unreachable."""

    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    client = lambda *a, **k: IntercomClient("tok", "http://intercom.down", transport=httpx.MockTransport(refuse),  # noqa: E731
                                            max_retries=0, sleep=lambda s: None)  # fmt: skip
    monkeypatch.setattr(core, "web_client", client)


@pytest.mark.django_db
def test_a_reply_is_recorded_sent_and_applied_at_once(sb, alice):
    conv = open_conversation(sb)
    action = do_reply_conversation(conv, "Thanks, looking into it", acting_user=alice)
    assert (action.state, action.http_status, action.verb) == ("done", 200, "reply")
    assert action.duration_ms is not None and action.admin_intercom_id == alice.staff_profile.admin_id
    assert len(admin_parts(sb, conv, "Thanks, looking into it")) == 1
    part = ConversationPart.objects.get(intercom_id=action.result_intercom_id)
    assert part.part_type == "comment" and "Thanks, looking into it" in part.body  # in the mirror at once
    assert "alice replied · 200 · " in action.summary()


@pytest.mark.django_db
def test_state_actions_show_in_the_sandbox_and_the_mirror(sb, alice):
    conv = open_conversation(sb)
    team = next(iter(sb.app.workspace.teams))
    assert do_assign_conversation(conv, team, acting_user=alice).state == "done"
    assert Conversation.objects.get(intercom_id=conv).assignee_team_id == team
    until = timezone.now() + timedelta(days=1)
    assert do_snooze_conversation(conv, until, acting_user=alice).state == "done"
    assert sb.app.workspace.conversations[conv].state == "snoozed"
    assert Conversation.objects.get(intercom_id=conv).state == "snoozed"
    assert do_close_conversation(conv, acting_user=alice).state == "done"
    assert Conversation.objects.get(intercom_id=conv).state == "closed"


@pytest.mark.django_db
def test_tagging_a_conversation_tags_its_customer(sb, alice):
    conv = Conversation.objects.exclude(customer_id=None).first()
    action = do_tag_conversation(conv.intercom_id, "Escalated", acting_user=alice)
    assert action.state == "done", action.error_message
    assert "Escalated" in Contact.objects.get(intercom_id=conv.customer_id).tags.values_list("name", flat=True)


@pytest.mark.django_db
def test_a_4xx_fails_with_the_apis_message_then_can_be_discarded(sb, alice):
    conv = open_conversation(sb)
    action = do_assign_conversation(conv, "no-such-admin", acting_user=alice)
    assert (action.state, action.http_status) == ("failed", 404)
    assert action.error_message and action.error_code
    assert retry_action(action, acting_user=alice).state == "failed"
    assert discard_action(action, acting_user=alice).state == "discarded"


@pytest.mark.django_db
def test_a_5xx_queues_the_reply_and_the_task_sends_it_once(sb, alice):
    conv = open_conversation(sb)
    sb.app.faults.fail_next(1, status=500)
    action = do_reply_conversation(conv, "After the outage", acting_user=alice)
    assert action.state == "queued" and action.http_status == 500
    StaffAction.objects.filter(pk=action.pk).update(next_attempt_at=timezone.now())
    assert process_queued_actions() == {"done": 1, "failed": 0, "queued": 0}
    assert len(admin_parts(sb, conv, "After the outage")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["timeout", "drop"])
def test_a_reply_posted_but_whose_answer_was_lost_is_not_posted_twice(sb, alice, fault):
    conv = open_conversation(sb)
    getattr(sb.app.faults, f"{fault}_next")(1, processed=True)  # Intercom posts it, the answer is lost
    action = do_reply_conversation(conv, "Posted exactly once", acting_user=alice)
    assert action.state == "queued" and action.sent_at is not None
    StaffAction.objects.filter(pk=action.pk).update(next_attempt_at=timezone.now())
    process_queued_actions()
    action.refresh_from_db()
    assert action.state == "done" and action.result_intercom_id
    assert len(admin_parts(sb, conv, "Posted exactly once")) == 1
    assert ConversationPart.objects.filter(intercom_id=action.result_intercom_id).exists()


@pytest.mark.django_db
def test_with_intercom_down_the_reply_is_queued_then_delivered_once_in_order(sb, alice, monkeypatch):
    conv = open_conversation(sb)
    real_web_client = core.web_client
    down(monkeypatch)
    first = do_reply_conversation(conv, "First, while down", acting_user=alice)
    second = do_note_conversation(conv, "Second, while down", acting_user=alice)
    assert (first.state, second.state) == ("queued", "queued")
    assert first.error_message  # says why
    assert not admin_parts(sb, conv, "while down")
    monkeypatch.setattr(core, "web_client", real_web_client)  # Intercom is back
    StaffAction.objects.update(next_attempt_at=timezone.now())
    assert process_queued_actions()["done"] == 2
    parts = sb.app.workspace.conversations[conv].parts
    texts = [p.body for p in parts if "while down" in (p.body or "")]
    assert len(texts) == 2 and "First" in texts[0] and "Second" in texts[1]
    assert process_queued_actions()["done"] == 0  # nothing left, nothing sent twice


@pytest.mark.django_db
def test_an_action_on_a_record_with_a_queued_one_waits_its_turn(sb, alice, monkeypatch):
    conv = open_conversation(sb)
    down(monkeypatch)
    do_reply_conversation(conv, "queued first", acting_user=alice)
    monkeypatch.setattr(core, "web_client", lambda: sb.new_client(max_retries=1))
    later = do_close_conversation(conv, acting_user=alice)
    assert later.state == "queued"  # not sent ahead of the reply
    assert sb.app.workspace.conversations[conv].state == "open"


@pytest.mark.django_db
def test_a_double_submit_of_one_key_posts_once(sb, alice):
    conv = open_conversation(sb)
    key = uuid.uuid4().hex
    first = do_reply_conversation(conv, "Only once please", acting_user=alice, idempotency_key=key)
    again = do_reply_conversation(conv, "Only once please", acting_user=alice, idempotency_key=key)
    assert first.pk == again.pk
    assert len(admin_parts(sb, conv, "Only once please")) == 1
    assert StaffAction.objects.count() == 1


@pytest.mark.django_db
def test_a_user_without_a_linked_admin_cannot_write(sb, django_user_model):
    bob = django_user_model.objects.create_user("bob", "bob@nowhere.test", "pw", is_staff=True)
    with pytest.raises(ActionRefused, match="not linked to an Intercom admin"):
        do_reply_conversation(open_conversation(sb), "hello", acting_user=bob)
    assert not StaffAction.objects.exists()


@pytest.mark.django_db
def test_junk_input_is_refused_before_anything_is_recorded(sb, alice):
    conv = open_conversation(sb)
    for call in (
        lambda: do_reply_conversation(conv, "   ", acting_user=alice),
        lambda: do_reply_conversation("no-such-conversation", "hi", acting_user=alice),
        lambda: do_assign_conversation(conv, "x'; DROP TABLE", acting_user=alice),
        lambda: do_snooze_conversation(conv, timezone.now() - timedelta(hours=1), acting_user=alice),
    ):
        with pytest.raises(ActionRefused):
            call()
    assert not StaffAction.objects.exists()


@pytest.mark.django_db
def test_a_staff_user_is_linked_to_the_admin_with_their_email_on_login(sb, client, django_user_model):
    admin = Admin.objects.live().exclude(email="").first()
    user = django_user_model.objects.create_user("carol", admin.email.upper(), "pw-carol-123", is_staff=True)
    assert client.login(username="carol", password="pw-carol-123")
    assert StaffProfile.objects.get(user=user).admin_id == admin.intercom_id


@pytest.mark.django_db
def test_the_web_client_never_sleeps_out_a_rate_limit_window(sb, alice, monkeypatch):
    conv = open_conversation(sb)
    sb.app.faults.rate_limit_burst(5)
    monkeypatch.setattr(core, "web_client", lambda: sb.new_client(max_retries=1, sleep=core.no_long_sleep))
    action = do_reply_conversation(conv, "rate limited", acting_user=alice)
    assert action.state == "queued" and action.http_status == 429


@pytest.mark.django_db
def test_typed_text_is_sent_as_text_not_markup(sb, alice):
    conv = open_conversation(sb)
    action = do_reply_conversation(conv, "Use <b>bold</b> & more\n\nSecond paragraph", acting_user=alice)
    assert action.state == "done"
    assert action.request_body["body"] == "<p>Use &lt;b&gt;bold&lt;/b&gt; &amp; more</p><p>Second paragraph</p>"
    part = ConversationPart.objects.get(intercom_id=action.result_intercom_id)
    assert "<b>" not in part.body and "&lt;b&gt;" in part.body
