"""Resync of one record: a contact, a company or a conversation, straight from the API."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from intercom_mirror.api import IntercomClient, NotFound
from intercom_mirror.models import Company, Contact, Conversation, Note
from intercom_mirror.sync.resources import link_refs, store_conversation_details
from intercom_mirror.sync.upsert import dedupe, upsert


def resync_contact(client: IntercomClient, intercom_id: str) -> Contact | None:
    """Fetch a user or lead (and its notes) into the mirror; flag it deleted if Intercom has neither."""
    payload = fetch_first(client.get_user, client.get_lead, intercom_id)
    if payload is None:
        flag_deleted(Contact, intercom_id)
        return None
    with transaction.atomic():
        result = upsert(Contact, [Contact.from_payload(payload)], timezone.now(), force=True)
        link_refs(Contact, [payload], result)
    resync_notes(client, payload)
    return Contact.objects.get(intercom_id=str(payload["id"]))


def resync_notes(client: IntercomClient, contact: dict[str, Any]) -> None:
    """Mirror a contact's notes (Intercom lists them per user only)."""
    if contact.get("type") not in ("user", None):
        return
    notes = list(client.iter_items("list_notes_for_user", "notes", id=str(contact["id"])))
    upsert(Note, [Note.from_payload(n) for n in dedupe(notes)], timezone.now())


def resync_company(client: IntercomClient, intercom_id: str) -> Company | None:
    """Fetch one company into the mirror; flag it deleted if Intercom no longer has it."""
    payload = fetch_first(client.get_company, None, intercom_id)
    if payload is None:
        flag_deleted(Company, intercom_id)
        return None
    with transaction.atomic():
        result = upsert(Company, [Company.from_payload(payload)], timezone.now(), force=True)
        link_refs(Company, [payload], result)
    return Company.objects.get(intercom_id=str(payload["id"]))


def resync_conversation(client: IntercomClient, intercom_id: str) -> Conversation | None:
    """Fetch one conversation with its parts into the mirror."""
    payload = fetch_first(client.get_conversation, None, intercom_id)
    if payload is None:
        flag_deleted(Conversation, intercom_id)
        return None
    with transaction.atomic():
        store_conversation_details([payload], timezone.now(), force=True)
    return Conversation.objects.get(intercom_id=str(payload["id"]))


def fetch_first(first, second, intercom_id: str) -> dict[str, Any] | None:
    """Return the object from the first getter that knows the id, or None if none does."""
    for getter in filter(None, (first, second)):
        try:
            return getter(intercom_id)
        except NotFound:
            continue
    return None


def flag_deleted(model, intercom_id: str) -> None:
    model.objects.live().filter(intercom_id=intercom_id).update(deleted_at=timezone.now())
