"""The conversation's write controls, each sent through the write path to the sandbox (in-process)."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dashboard.conversations.forms import snooze_until
from intercom_mirror.actions import process_queued_actions
from intercom_mirror.models import Contact, Conversation, ConversationPart, StaffAction, Team
from tests import test_conversation as shared
from tests.test_conversation import text_of

# The fixtures of tests/test_conversation.py, used here by name.
support_user, support_client, mirror, linked = shared.support_user, shared.support_client, shared.mirror, shared.linked

HTMX = {"HTTP_HX_REQUEST": "true"}


def an_open_conversation(sb) -> Conversation:
    """Return an open conversation whose customer is a user (taggable) and whose opening message is theirs."""
    for conv in Conversation.objects.filter(state="open", author_type="user").order_by("intercom_id"):
        if conv.customer_id in sb.app.workspace.users:
            return conv
    raise AssertionError("the generated workspace has no open conversation started by a user")


def in_sandbox(sb, conv: Conversation):
    return sb.app.workspace.conversations[conv.intercom_id]


def send(client, conv, body, *, mode="reply", key=None, opened_at=None, confirm=False, htmx=True):
    data = {"mode": mode, "body": body, "key": key or uuid.uuid4().hex, "opened_at": f"{opened_at or time.time():.3f}"}
    if confirm:
        data["confirm"] = "1"
    return client.post(f"/conversations/{conv.intercom_id}/send/", data, **(HTMX if htmx else {}))


def act(client, conv, action, htmx=True, **fields):
    return client.post(
        f"/conversations/{conv.intercom_id}/act/", {"action": action, **fields}, **(HTMX if htmx else {})
    )


def composer_of(html: str) -> str:
    return html[html.index('<form id="composer"') : html.index("</form>", html.index('<form id="composer"'))]


def textarea_of(html: str) -> str:
    return re.search(r'<textarea id="composer-body"[^>]*>\n?(.*?)</textarea>', html, re.S).group(1)


def key_of(html: str) -> str:
    return re.search(r'name="key" value="([0-9a-f]+)"', html).group(1)


def posted(sb, conv, text: str) -> list:
    return [p for p in in_sandbox(sb, conv).parts if p.body and text in p.body]


# --- Reply and Note ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_replies(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    key = uuid.uuid4().hex
    response = send(support_client, conv, "Thanks, it is fixed now.", key=key)
    html = response.content.decode()
    [part] = posted(mirror, conv, "Thanks, it is fixed now.")
    assert part.part_type == "comment" and part.author == ("admin", linked.intercom_id)
    assert ConversationPart.objects.filter(intercom_id=part.id, part_type="comment").exists()  # mirrored at once
    assert textarea_of(html) == "" and key_of(html) != key  # a fresh composer, a new key
    live = html[html.index('id="conversation-live"') :]
    assert 'hx-swap-oob="true"' in html and "Thanks, it is fixed now." in live
    assert "sam replied · 200" in text_of(live)  # the staff-action log
    assert StaffAction.objects.get(idempotency_key=key).state == StaffAction.DONE


@pytest.mark.django_db
def test_it_adds_a_note(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    html = send(support_client, conv, "Zebra note 42: call back Friday", mode="note").content.decode()
    [part] = posted(mirror, conv, "Zebra note 42")
    assert part.part_type == "note"
    assert re.search(r'class="message message-note" id="part-[^"]+">\s*<div class="message-meta">', html)
    assert 'value="note" id="mode-note" data-shortcut="n" checked' in html  # stays in Note mode


@pytest.mark.django_db
def test_a_double_submit_of_one_key_posts_once(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    key = uuid.uuid4().hex
    for _ in range(2):
        assert send(support_client, conv, "Only once, please", key=key).status_code == 200
    assert len(posted(mirror, conv, "Only once, please")) == 1
    assert StaffAction.objects.filter(verb="reply").count() == 1


@pytest.mark.django_db
def test_an_empty_message_is_not_sent(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    html = send(support_client, conv, "   ").content.decode()
    assert "Type a message first." in html
    assert not StaffAction.objects.exists()


@pytest.mark.django_db
def test_a_refused_reply_keeps_the_text_and_offers_retry_and_discard(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    mirror.app.faults.fail_next(1, 403)
    key = uuid.uuid4().hex
    html = send(support_client, conv, "Please keep me", key=key).content.decode()
    composer = composer_of(html)
    assert "Intercom refused this: Simulated Forbidden" in composer
    assert textarea_of(html) == "Please keep me"
    assert key_of(html) != key  # the failed action spent the key: sending the kept text again is a new reply
    live = html[html.index('id="conversation-live"') :]
    assert "not sent" in live and ">Retry</button>" in live and ">Discard</button>" in live
    action = StaffAction.objects.get(idempotency_key=key)
    assert action.state == StaffAction.FAILED and action.http_status == 403
    assert not posted(mirror, conv, "Please keep me")


@pytest.mark.django_db
def test_retry_sends_a_failed_reply(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    mirror.app.faults.fail_next(1, 403)
    send(support_client, conv, "Second time lucky")
    action = StaffAction.objects.get()
    html = support_client.post(
        f"/conversations/{conv.intercom_id}/actions/{action.pk}/", {"action": "retry"}, **HTMX
    ).content.decode()
    assert len(posted(mirror, conv, "Second time lucky")) == 1
    action.refresh_from_db()
    assert action.state == StaffAction.DONE
    assert "not sent" not in html and "Second time lucky" in html


@pytest.mark.django_db
def test_discard_drops_a_failed_reply(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    mirror.app.faults.fail_next(1, 403)
    send(support_client, conv, "Never mind")
    action = StaffAction.objects.get()
    html = support_client.post(
        f"/conversations/{conv.intercom_id}/actions/{action.pk}/", {"action": "discard"}, **HTMX
    ).content.decode()
    action.refresh_from_db()
    assert action.state == StaffAction.DISCARDED
    assert "Never mind" not in html.split("Staff actions on this conversation")[0]
    assert "sam added a note" not in html and "discarded" in html  # in the log, as discarded


@pytest.mark.django_db
def test_a_reply_to_an_unreachable_intercom_is_queued_then_sent_once(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    mirror.app.faults.fail_next(10, 503)
    html = send(support_client, conv, "Sent when you are back").content.decode()
    action = StaffAction.objects.get()
    assert action.state == StaffAction.QUEUED
    assert textarea_of(html) == ""  # the text is safe in the queued action, shown in the thread
    live = html[html.index('id="conversation-live"') :]
    assert "sending…" in live and "Sent when you are back" in live and "queued changes" in live
    mirror.app.faults.clear()
    StaffAction.objects.update(next_attempt_at=timezone.now())
    assert process_queued_actions()["done"] == 1
    assert len(posted(mirror, conv, "Sent when you are back")) == 1
    page = support_client.get(f"/conversations/{conv.intercom_id}/").content.decode()
    assert "sending…" not in page and "queued changes" not in page and "Sent when you are back" in page


@pytest.mark.django_db
def test_it_warns_when_a_customer_wrote_while_typing(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    opened = time.time() - 60
    Conversation.objects.filter(pk=conv.pk).update(last_customer_part_at=timezone.now() - timedelta(seconds=5))
    key = uuid.uuid4().hex
    html = send(support_client, conv, "My answer", key=key, opened_at=opened).content.decode()
    assert "A new customer message arrived while you were typing — Send anyway?" in html
    assert textarea_of(html) == "My answer" and key_of(html) == key
    assert 'name="confirm" value="1"' in html
    assert not StaffAction.objects.exists() and not posted(mirror, conv, "My answer")
    send(support_client, conv, "My answer", key=key, opened_at=opened, confirm=True)
    assert len(posted(mirror, conv, "My answer")) == 1


@pytest.mark.django_db
def test_it_does_not_warn_about_messages_seen_before_typing(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    Conversation.objects.filter(pk=conv.pk).update(last_customer_part_at=timezone.now() - timedelta(minutes=5))
    html = send(support_client, conv, "Hello", opened_at=time.time() - 60).content.decode()
    assert "Send anyway" not in html and len(posted(mirror, conv, "Hello")) == 1


@pytest.mark.django_db
def test_without_an_admin_nothing_is_sent_and_the_text_stays(support_client, mirror):
    conv = an_open_conversation(mirror)
    html = send(support_client, conv, "Can I write?").content.decode()
    assert "Your account is not linked to an Intercom admin" in html
    assert textarea_of(html) == "Can I write?"
    html = act(support_client, conv, "close").content.decode()
    assert "Your account is not linked to an Intercom admin" in html
    assert not StaffAction.objects.exists() and in_sandbox(mirror, conv).state == "open"


@pytest.mark.django_db
def test_without_javascript_a_reply_redirects_back(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    response = send(support_client, conv, "Plain form", htmx=False)
    assert response.status_code == 302 and response["Location"] == f"/conversations/{conv.intercom_id}/#composer"
    assert len(posted(mirror, conv, "Plain form")) == 1
    mirror.app.faults.fail_next(1, 403)
    page = send(support_client, conv, "Plain refused", htmx=False).content.decode()
    assert "<html" in page and "Simulated Forbidden" in page and textarea_of(page) == "Plain refused"


# --- Assign, Close, Reopen, Snooze, Unsnooze, Mark as read --------------------------------------------


@pytest.mark.django_db
def test_it_assigns_to_a_team(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    team = Team.objects.live().order_by("name").first()
    html = act(support_client, conv, "assign", assignee=team.intercom_id).content.decode()
    assert in_sandbox(mirror, conv).assignee == ("team", team.intercom_id)
    assert Conversation.objects.get(pk=conv.pk).assignee_team_id == team.intercom_id
    text = text_of(html)
    assert f"Assigned to {team.name} by {linked.name}" in text and "sam assigned · 200" in text


@pytest.mark.django_db
def test_it_unassigns(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    act(support_client, conv, "assign", assignee="0")
    assert in_sandbox(mirror, conv).assignee == ("nobody_admin", None)


@pytest.mark.django_db
def test_it_refuses_an_unknown_assignee(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    html = act(support_client, conv, "assign", assignee="no-such-admin").content.decode()
    assert "Choose an admin, a team, or Unassigned." in html and not StaffAction.objects.exists()


@pytest.mark.django_db
def test_it_closes_and_reopens(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    html = act(support_client, conv, "close").content.decode()
    assert in_sandbox(mirror, conv).state == "closed"
    assert f"Closed by {linked.name}" in text_of(html) and 'value="reopen"' in html and 'value="close"' not in html
    html = act(support_client, conv, "reopen").content.decode()
    assert in_sandbox(mirror, conv).state == "open"
    assert f"Reopened by {linked.name}" in text_of(html) and 'value="close"' in html


@pytest.mark.django_db
def test_it_snoozes_until_tomorrow_morning_and_unsnoozes(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    before = snooze_until("tomorrow")
    html = act(support_client, conv, "snooze", until="tomorrow").content.decode()
    sandboxed = in_sandbox(mirror, conv)
    assert sandboxed.state == "snoozed"
    assert sandboxed.snoozed_until in (int(before.timestamp()), int(snooze_until("tomorrow").timestamp()))
    assert "Snoozed until" in text_of(html) and 'value="unsnooze"' in html
    act(support_client, conv, "unsnooze")
    assert in_sandbox(mirror, conv).state == "open"


@pytest.mark.django_db
def test_it_snoozes_until_a_chosen_time(support_client, mirror, linked, settings):
    settings.TIME_ZONE = "Europe/Paris"
    conv = an_open_conversation(mirror)
    when = (timezone.localtime() + timedelta(days=2)).replace(hour=14, minute=30, second=0, microsecond=0)
    act(support_client, conv, "snooze", until="custom", custom=when.strftime("%Y-%m-%dT%H:%M"))
    assert in_sandbox(mirror, conv).snoozed_until == int(when.timestamp())


@pytest.mark.django_db
def test_it_refuses_to_snooze_into_the_past_or_without_a_time(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    html = act(support_client, conv, "snooze", until="custom", custom="2001-01-01T09:00").content.decode()
    assert "Snooze until a time in the future." in html
    html = act(support_client, conv, "snooze", until="custom").content.decode()
    assert "Pick a date and time to snooze until." in html
    assert in_sandbox(mirror, conv).state == "open" and not StaffAction.objects.exists()


@pytest.mark.django_db
def test_it_marks_as_read(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    in_sandbox(mirror, conv).read = False
    Conversation.objects.filter(pk=conv.pk).update(read=False)
    html = act(support_client, conv, "mark_read").content.decode()
    assert in_sandbox(mirror, conv).read is True
    assert 'value="mark_read"' not in html


@pytest.mark.django_db
def test_a_refused_action_shows_the_api_message_with_retry_and_discard(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    mirror.app.faults.fail_next(1, 404)
    html = act(support_client, conv, "close").content.decode()
    assert "Intercom refused this: Simulated Not Found" in html
    assert "sam closed: not sent" in text_of(html) and ">Retry</button>" in html


@pytest.mark.django_db
def test_a_queued_action_shows_as_queued_changes(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    mirror.app.faults.fail_next(10, 503)
    html = act(support_client, conv, "close").content.decode()
    assert "queued changes" in html and "sam closed: queued, sending…" in text_of(html)
    assert ">Discard</button>" in html and ">Retry</button>" not in html


@pytest.mark.django_db
def test_without_javascript_an_action_redirects_back_with_its_message(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    response = act(support_client, conv, "close", htmx=False)
    assert response.status_code == 302 and response["Location"] == f"/conversations/{conv.intercom_id}/"
    assert in_sandbox(mirror, conv).state == "closed"
    response = act(support_client, conv, "snooze", htmx=False, until="custom")
    page = support_client.get(response["Location"]).content.decode()
    assert "Pick a date and time to snooze until." in page


@pytest.mark.django_db
def test_it_refuses_an_unknown_action(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    assert "Unknown action." in act(support_client, conv, "explode").content.decode()


# --- Tag (the customer) ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_tags_and_untags_the_customer(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    html = act(support_client, conv, "tag", name="Churn risk").content.decode()
    ws = mirror.app.workspace
    contact = ws.users[conv.customer_id]
    names = {ws.tags[t].name for t in contact.tag_ids}
    assert "Churn risk" in names
    tags_region = html[: html.index('id="conversation-live"')]
    assert 'id="customer-tags"' in tags_region and "Churn risk" in tags_region
    assert Contact.objects.get(intercom_id=conv.customer_id).tags.filter(name="Churn risk").exists()
    act(support_client, conv, "untag", name="Churn risk")
    assert "Churn risk" not in {ws.tags[t].name for t in contact.tag_ids}
    assert not Contact.objects.get(intercom_id=conv.customer_id).tags.filter(name="Churn risk").exists()


@pytest.mark.django_db
def test_a_refused_tag_keeps_its_name(support_client, mirror, linked):
    conv = an_open_conversation(mirror)
    mirror.app.faults.fail_next(1, 400)
    html = act(support_client, conv, "tag", name="Keep me").content.decode()
    tags_region = html[: html.index('id="conversation-live"')]
    assert 'value="Keep me"' in tags_region and "Intercom refused this" in tags_region


# --- snooze times ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "choice", "expected"),
    [
        ("2026-12-02 15:10", "later", "2026-12-02 18:10"),  # a Wednesday
        ("2026-12-02 15:10", "tomorrow", "2026-12-03 09:00"),
        ("2026-12-02 15:10", "next_week", "2026-12-07 09:00"),
        ("2026-12-07 08:00", "next_week", "2026-12-14 09:00"),  # on a Monday: the Monday after
        ("2026-12-06 23:30", "tomorrow", "2026-12-07 09:00"),
    ],
)
def test_snooze_times_are_in_the_dashboards_time_zone(settings, now, choice, expected):
    settings.TIME_ZONE = "America/New_York"
    zone = ZoneInfo("America/New_York")
    moment = datetime.strptime(now, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    result = snooze_until(choice, moment)
    assert result.astimezone(zone).strftime("%Y-%m-%d %H:%M") == expected
