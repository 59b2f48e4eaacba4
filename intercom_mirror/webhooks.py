"""Intercom webhook notifications: verify, refuse replays, deduplicate, apply through the apply path.

Each topic maps to one handler (the way zulip's Intercom integration does it).
Items for users, leads, companies and conversations are applied as partial items
(merged over the mirrored payload under a row lock); topics whose item is not
the record itself queue a resync of the record they concern.

Every notification that passed the signature check is recorded as a
`WebhookDelivery`, with the status it was answered with, so a redelivery gets
the same answer without being applied twice. One that cannot be applied is
answered 400, never 500: Intercom would retry a 500 forever. Payloads are kept
for audit until `WEBHOOK_MAX_AGE_HOURS`, then pruned (they hold personal data).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from intercom_mirror.apply import Source, UpsertResult, apply_deletion, apply_partial
from intercom_mirror.models import Company, Contact, Conversation, MirrorModel, WebhookDelivery, from_unix, ref_id
from intercom_mirror.tasks import queue_resync, queue_task

log = logging.getLogger(__name__)

SIGNATURE = re.compile(r"sha1=[0-9a-f]{40}")


class BadNotification(ValueError):
    """The body is not an Intercom notification we can act on (answered 400)."""


def signature_is_valid(raw_body: bytes, header: str | None, secret: str) -> bool:
    """Return True if X-Hub-Signature is the HMAC-SHA1 of the exact body under our secret.

    A header that is not `sha1=` and 40 hex digits (non-ASCII included) is simply
    invalid: compare_digest would raise TypeError on non-ASCII text.
    """
    if not secret or not header or not SIGNATURE.fullmatch(header.strip().lower()):
        return False
    expected = "sha1=" + hmac.new(secret.encode(), raw_body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, header.strip().lower())


# --- handlers: item → what was done ------------------------------------------------


def require_id(item: dict[str, Any]) -> str:
    intercom_id = ref_id(item)
    if not intercom_id:
        raise BadNotification("the item has no id")
    return intercom_id


def applied(model: type[MirrorModel], kind: str) -> Callable[[dict[str, Any]], str]:
    """Return a handler that applies the item as a partial webhook item of `model`."""

    def handler(item: dict[str, Any]) -> str:
        intercom_id = require_id(item)
        result: UpsertResult = apply_partial(model, item, Source.WEBHOOK)
        if result.ambiguous:
            # Same second, different content: only a direct read can tell which is newer.
            queue_resync(kind, intercom_id)
            return "applied; resync queued (same-second update)"
        return "applied" if result.written else "older than the mirror: kept the mirror"

    return handler


upsert_contact = applied(Contact, "contact")
upsert_company = applied(Company, "company")
upsert_conversation = applied(Conversation, "conversation")


def contact_signed_up(item: dict[str, Any]) -> str:
    """A lead became a user: converted (same id) or merged into an existing user (another id)."""
    intercom_id = require_id(item)
    was_lead = Contact.objects.filter(intercom_id=intercom_id, role=Contact.LEAD).exists()
    outcome = upsert_contact(item)
    if was_lead:
        return f"{outcome}; lead converted into a user"
    # Merged: the item is the existing user and does not name the lead.
    queue_task("intercom_mirror.tasks.find_merged_lead", intercom_id)
    return f"{outcome}; merged lead lookup queued"


def delete(model: type[MirrorModel]) -> Callable[[dict[str, Any]], str]:
    def handler(item: dict[str, Any]) -> str:
        apply_deletion(model, [require_id(item)])
        return "flagged deleted"

    return handler


def resync_tagged_contact(item: dict[str, Any]) -> str:
    contact = item.get("user") or item.get("contact") or {}
    if not ref_id(contact):
        raise BadNotification("the tag item names no contact")
    queue_resync("contact", ref_id(contact))
    return "resync queued"


def resync_part_conversation(item: dict[str, Any]) -> str:
    conversation = item.get("conversation") or item
    if not ref_id(conversation):
        raise BadNotification("the item names no conversation")
    queue_resync("conversation", ref_id(conversation))
    return "resync queued"


def pong(item: dict[str, Any]) -> str:
    return "pong"


CONVERSATION_TOPICS = [
    "conversation.user.created",
    "conversation.user.replied",
    "conversation.admin.replied",
    "conversation.admin.single.created",
    "conversation.admin.assigned",
    "conversation.admin.noted",
    "conversation.admin.closed",
    "conversation.admin.opened",
    "conversation.admin.snoozed",
    "conversation.admin.unsnoozed",
]
HANDLERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "ping": pong,
    **dict.fromkeys(CONVERSATION_TOPICS, upsert_conversation),
    **dict.fromkeys(
        ["user.created", "user.unsubscribed", "user.unsubscribed_from_sms", "user.email.updated"], upsert_contact
    ),
    **dict.fromkeys(["contact.created", "contact.added_email", "contact.updated"], upsert_contact),
    "contact.signed_up": contact_signed_up,
    "visitor.signed_up": upsert_contact,  # the item is the user or lead the visitor became
    **dict.fromkeys(["user.deleted", "contact.deleted"], delete(Contact)),
    **dict.fromkeys(["user.tag.created", "user.tag.deleted", "contact.tag.created", "contact.tag.deleted"], resync_tagged_contact),
    "conversation_part.tag.created": resync_part_conversation,
    "conversation.deleted": delete(Conversation),
    "company.created": upsert_company,
}  # fmt: skip


# --- the notification ----------------------------------------------------------------


def handle_notification(raw_body: bytes) -> tuple[int, str]:
    """Apply one signed notification, once per notification id; return (HTTP status, outcome)."""
    try:
        payload = json.loads(raw_body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        payload = None  # recorded and answered 400 below
    notification_id = notification_id_of(payload, raw_body)
    previous = WebhookDelivery.objects.filter(notification_id=notification_id).first()
    if previous is not None:
        return previous.status_code, f"duplicate: {previous.outcome}"
    try:
        with transaction.atomic():
            status, outcome = 200, apply_notification(payload)
            record(notification_id, payload, status, outcome)
    except BadNotification as exc:
        status, outcome = 400, f"rejected: {exc}"
        record(notification_id, payload, status, outcome)
    except IntegrityError:
        return 200, "duplicate"  # the same notification, delivered twice at once
    return status, outcome


def apply_notification(payload: Any) -> str:
    if not isinstance(payload, dict) or payload.get("type") != "notification_event":
        raise BadNotification("not a notification_event")
    if not payload.get("id"):
        raise BadNotification("notification without id")
    sent = notification_time(payload)
    if sent is not None and timezone.now() - sent > max_age():
        raise BadNotification(f"older than {settings.WEBHOOK_MAX_AGE_HOURS} hours: refused as a replay")
    item = (payload.get("data") or {}).get("item")
    if not isinstance(item, dict):
        raise BadNotification("notification without data.item")
    topic = str(payload.get("topic") or "")
    handler = HANDLERS.get(topic)
    if handler is None:
        log.info("ignored Intercom webhook with unknown topic %r", topic)
        return "ignored: unknown topic"
    try:
        return handler(item)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # A malformed item: retrying it cannot help.
        raise BadNotification(f"cannot apply the item: {type(exc).__name__}: {exc}") from exc


def record(notification_id: str, payload: Any, status: int, outcome: str) -> None:
    WebhookDelivery.objects.create(
        notification_id=notification_id,
        topic=str(payload.get("topic") or "")[:64] if isinstance(payload, dict) else "",
        created_at=notification_time(payload) if isinstance(payload, dict) else None,
        status_code=status,
        outcome=outcome[:255],
        payload=payload if isinstance(payload, dict | list) else None,
    )


def notification_id_of(payload: Any, raw_body: bytes) -> str:
    """Return the notification's id, or a digest of the body when it has none (to record and dedupe it)."""
    if isinstance(payload, dict) and isinstance(payload.get("id"), str | int) and str(payload["id"]).strip():
        return str(payload["id"])[:128]
    return "body-sha256:" + hashlib.sha256(raw_body).hexdigest()


def notification_time(payload: dict[str, Any]) -> datetime | None:
    return from_unix(payload.get("created_at")) or from_unix(payload.get("first_sent_at"))


def max_age() -> timedelta:
    return timedelta(hours=settings.WEBHOOK_MAX_AGE_HOURS)


def prune_deliveries(now: datetime | None = None) -> int:
    """Drop the payloads of deliveries older than the replay window; keep id, topic and outcome."""
    cutoff = (now or timezone.now()) - max_age()
    return WebhookDelivery.objects.filter(received_at__lt=cutoff, payload__isnull=False).update(payload=None)
