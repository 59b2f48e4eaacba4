"""Conversation actions: reply, note, assign, close, reopen, snooze, unsnooze, mark as read (tags: people.py)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

import nh3

from intercom_mirror.actions.core import VERBS, ActionRefused, Verb, perform, record_action
from intercom_mirror.actions.staff import admin_for
from intercom_mirror.api import IntercomClient
from intercom_mirror.apply import (
    Source,
    apply_conversation_details,
    apply_conversation_items,
)
from intercom_mirror.models import Conversation, StaffAction, from_unix, unwrap

CLOCK_SKEW = timedelta(minutes=2)  # between our clock (sent_at) and Intercom's part timestamps
MAX_BODY = 20_000  # characters in one reply or note


def do_reply_conversation(conversation_id: str, body: str, *, acting_user, idempotency_key: str | None = None):
    """Reply to the customer as the staff user's admin."""
    text = clean_text(body)
    return act("reply", conversation_id, {"message_type": "comment", "body": text}, acting_user, idempotency_key)


def do_note_conversation(conversation_id: str, body: str, *, acting_user, idempotency_key: str | None = None):
    """Add an internal note to the conversation."""
    text = clean_text(body)
    return act("note", conversation_id, {"message_type": "note", "body": text}, acting_user, idempotency_key)


def do_assign_conversation(conversation_id: str, assignee_id: str, *, acting_user, idempotency_key: str | None = None):
    """Assign to an admin or a team by Intercom id; "0" (or "") unassigns."""
    assignee_id = str(assignee_id or "0").strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", assignee_id):
        raise ActionRefused("Choose an admin, a team, or Unassigned.")
    body = {"message_type": "assignment", "assignee_id": assignee_id}
    return act("assign", conversation_id, body, acting_user, idempotency_key)


def do_close_conversation(conversation_id: str, *, acting_user, idempotency_key: str | None = None):
    return act("close", conversation_id, {"message_type": "close"}, acting_user, idempotency_key)


def do_reopen_conversation(conversation_id: str, *, acting_user, idempotency_key: str | None = None):
    return act("reopen", conversation_id, {"message_type": "open"}, acting_user, idempotency_key)


def do_unsnooze_conversation(conversation_id: str, *, acting_user, idempotency_key: str | None = None):
    return act("unsnooze", conversation_id, {"message_type": "open"}, acting_user, idempotency_key)


def do_snooze_conversation(conversation_id: str, until: datetime, *, acting_user, idempotency_key: str | None = None):
    """Snooze until a moment in the future (aware datetime)."""
    if until.tzinfo is None or until <= datetime.now(until.tzinfo):
        raise ActionRefused("Snooze until a time in the future.")
    body = {"message_type": "snoozed", "snoozed_until": int(until.timestamp())}
    return act("snooze", conversation_id, body, acting_user, idempotency_key)


def do_mark_conversation_read(conversation_id: str, *, acting_user, idempotency_key: str | None = None):
    return act("mark_read", conversation_id, {"read": True}, acting_user, idempotency_key)


# --- shared ------------------------------------------------------------------------------


def act(verb: str, conversation_id: str, body: dict[str, Any], acting_user, key: str | None) -> StaffAction:
    """Check who acts on what, record the action, and send it (unless the key was already used)."""
    admin = admin_for(acting_user)
    if admin is None:
        raise ActionRefused(
            "Your account is not linked to an Intercom admin, so Intercom would not know who wrote this. "
            "Ask an administrator to link it (Django admin → Staff profiles)."
        )
    if not Conversation.objects.filter(intercom_id=str(conversation_id)).exists():
        raise ActionRefused(f"Conversation {conversation_id} is not in the mirror.")
    if verb != "mark_read":
        body = {"type": "admin", "admin_id": admin.intercom_id, **body}
    action, created = record_action(
        verb, "conversation", str(conversation_id), body,
        acting_user=acting_user, admin_id=admin.intercom_id, idempotency_key=key,
    )  # fmt: skip
    return perform(action) if created else action


def clean_text(body: str) -> str:
    """Return what a staff user typed (plain text) as the HTML Intercom expects, so it shows as typed.

    `<b>` typed in the composer is text, not markup: it is escaped. Blank lines
    separate paragraphs; single line breaks stay line breaks.
    """
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise ActionRefused("Type a message first.")
    if len(text) > MAX_BODY:
        raise ActionRefused(f"That is {len(text):,} characters; Intercom takes at most {MAX_BODY:,}.")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def plain(value: str) -> str:
    """Return the visible text of an HTML body, whitespace collapsed (for matching a part we sent)."""
    return " ".join(html.unescape(nh3.clean(value or "", tags=set())).split())


def apply_answer(action: StaffAction, answer: dict[str, Any]) -> None:
    apply_conversation_items([answer], Source.DIRECT)


def read_back(client: IntercomClient, action: StaffAction) -> dict[str, Any]:
    """Read the conversation back whole (applying what it says) after an answer was lost."""
    conversation = client.get_conversation(action.target_intercom_id)
    apply_conversation_details([conversation], Source.DIRECT)
    return conversation


def posted_part(action: StaffAction, conversation: dict[str, Any]) -> dict[str, Any] | None:
    """Return the part this reply or note created, if the conversation holds it.

    v1 has no idempotency key, so a part is ours when it is by our admin, of the
    same type, written no earlier than we sent it (allowing for clock skew), and
    its visible text equals the text we sent.
    """
    wanted_type = action.request_body.get("message_type")
    wanted_text = plain(action.request_body.get("body", ""))
    since = (action.sent_at or action.created_at) - CLOCK_SKEW
    for part in reversed(unwrap(conversation.get("conversation_parts"), "conversation_parts")):
        author = part.get("author") or {}
        created = from_unix(part.get("created_at"))
        if (
            str(author.get("id")) == action.admin_intercom_id
            and part.get("part_type") == wanted_type
            and (created is None or created >= since)
            and plain(part.get("body") or "") == wanted_text
        ):
            return part
    return None


def send_reply(client: IntercomClient, action: StaffAction) -> dict[str, Any]:
    return client.post_reply(action.target_intercom_id, action.request_body)


def find_part(client: IntercomClient, action: StaffAction) -> dict[str, Any] | None:
    conversation = read_back(client, action)
    return conversation if posted_part(action, conversation) else None


def part_id(action: StaffAction, answer: dict[str, Any]) -> str:
    part = posted_part(action, answer)
    return str(part["id"]) if part else ""


def find_state(check):
    """Return a `find` that reads the conversation back and tests whether the change is there."""

    def find(client: IntercomClient, action: StaffAction) -> dict[str, Any] | None:
        conversation = read_back(client, action)
        return conversation if check(action, conversation) else None

    return find


def assigned_as_asked(action: StaffAction, conversation: dict[str, Any]) -> bool:
    wanted = action.request_body.get("assignee_id")
    assignee = conversation.get("assignee") or {}
    return str(assignee.get("id") or "0") == str(wanted) or (wanted == "0" and assignee.get("type") == "nobody_admin")


def in_state(state: str):
    return lambda action, conversation: conversation.get("state") == state


for _verb in ("reply", "note"):
    VERBS[_verb] = Verb(send=send_reply, apply=apply_answer, find=find_part, result_id=part_id)
VERBS["assign"] = Verb(send=send_reply, apply=apply_answer, find=find_state(assigned_as_asked))
VERBS["close"] = Verb(send=send_reply, apply=apply_answer, find=find_state(in_state("closed")))
VERBS["reopen"] = Verb(send=send_reply, apply=apply_answer, find=find_state(in_state("open")))
VERBS["unsnooze"] = Verb(send=send_reply, apply=apply_answer, find=find_state(in_state("open")))
VERBS["snooze"] = Verb(send=send_reply, apply=apply_answer, find=find_state(in_state("snoozed")))
VERBS["mark_read"] = Verb(
    send=lambda client, action: client.mark_conversation_as_read(action.target_intercom_id),
    apply=apply_answer,
    find=find_state(lambda action, conversation: bool(conversation.get("read"))),
)
