"""Intercom webhook notifications: verify, deduplicate, apply to the mirror.

Each topic maps to one handler (the way zulip's Intercom integration does it).
Items for users, leads, companies and conversations are written straight into
the mirror; other topics queue a resync of the record they concern.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from intercom_mirror.models import Company, Contact, Conversation, MirrorModel, WebhookDelivery, ref_id
from intercom_mirror.sync.records import flag_deleted
from intercom_mirror.sync.resources import link_refs, store_conversation_items
from intercom_mirror.sync.upsert import upsert
from intercom_mirror.tasks import queue_resync

log = logging.getLogger(__name__)


def signature_is_valid(raw_body: bytes, header: str | None, secret: str) -> bool:
    """Return True if X-Hub-Signature is the HMAC-SHA1 of the exact body under our secret."""
    if not secret or not header:
        return False
    expected = "sha1=" + hmac.new(secret.encode(), raw_body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, header.strip())


def merged_with_mirror(model: type[MirrorModel], item: dict[str, Any]) -> dict[str, Any]:
    """Return the item laid over the payload the mirror holds.

    Notification items can be partial (an email change may carry little more than
    the email): fields the item leaves out keep their mirrored values.
    """
    stored = model.objects.filter(intercom_id=ref_id(item)).values_list("raw", flat=True).first()
    return {**stored, **item} if isinstance(stored, dict) else item


def upsert_contact(item: dict[str, Any]) -> str:
    payload = merged_with_mirror(Contact, item)
    result = upsert(Contact, [Contact.from_payload(payload)], timezone.now())
    link_refs(Contact, [payload], result)
    return "upserted"


def upsert_company(item: dict[str, Any]) -> str:
    payload = merged_with_mirror(Company, item)
    result = upsert(Company, [Company.from_payload(payload)], timezone.now())
    link_refs(Company, [payload], result)
    return "upserted"


def upsert_conversation(item: dict[str, Any]) -> str:
    store_conversation_items([merged_with_mirror(Conversation, item)], timezone.now())
    return "upserted"


def delete_contact(item: dict[str, Any]) -> str:
    flag_deleted(Contact, ref_id(item))
    return "flagged deleted"


def resync_tagged_contact(item: dict[str, Any]) -> str:
    contact = item.get("user") or item.get("contact") or {}
    if not ref_id(contact):
        return "ignored: no contact id"
    queue_resync("contact", ref_id(contact))
    return "resync queued"


def resync_part_conversation(item: dict[str, Any]) -> str:
    conversation = item.get("conversation") or item
    if not ref_id(conversation):
        return "ignored: no conversation id"
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
    **dict.fromkeys(["contact.created", "contact.added_email", "contact.updated", "contact.signed_up"], upsert_contact),
    "visitor.signed_up": upsert_contact,  # the item is the user or lead the visitor became
    **dict.fromkeys(["user.deleted", "contact.deleted"], delete_contact),
    **dict.fromkeys(["user.tag.created", "user.tag.deleted", "contact.tag.created", "contact.tag.deleted"], resync_tagged_contact),
    "conversation_part.tag.created": resync_part_conversation,
    "conversation.deleted": lambda item: (flag_deleted(Conversation, ref_id(item)), "flagged deleted")[1],
    "company.created": upsert_company,
}  # fmt: skip


class BadNotification(ValueError):
    """The body is not an Intercom notification we can act on."""


def handle_notification(payload: Any) -> str:
    """Apply one notification to the mirror, once per notification id; return what was done."""
    if not isinstance(payload, dict) or payload.get("type") != "notification_event":
        raise BadNotification("not a notification_event")
    topic = str(payload.get("topic") or "")
    notification_id = str(payload.get("id") or "")
    item = (payload.get("data") or {}).get("item")
    if not notification_id or not isinstance(item, dict):
        raise BadNotification("notification without id or data.item")
    handler = HANDLERS.get(topic)
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(notification_id=notification_id, topic=topic, payload=payload)
        except IntegrityError:
            return "duplicate"  # Intercom retries deliveries; the first one was applied
        if handler is None:
            log.info("ignored Intercom webhook with unknown topic %r", topic)
            outcome = "ignored: unknown topic"
        else:
            outcome = handler(item)
        delivery.outcome = outcome
        delivery.save(update_fields=["outcome"])
    return outcome
