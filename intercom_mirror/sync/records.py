"""Resync of one record: a contact, a company or a conversation, straight from the API.

A direct read outranks everything else at an equal `updated_at`, and is the only
writer that brings a row flagged deleted back (see intercom_mirror.apply).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from intercom_mirror.api import IntercomClient, NotFound
from intercom_mirror.apply import Source, apply_companies, apply_contacts, apply_conversation_details, apply_deletion
from intercom_mirror.models import Company, Contact, Conversation
from intercom_mirror.sync.notes import refresh_notes


def resync_contact(client: IntercomClient, intercom_id: str) -> Contact | None:
    """Fetch a user or lead (and its notes) into the mirror; flag it deleted if Intercom has neither."""
    payload = fetch_first(client.get_user, client.get_lead, intercom_id)
    if payload is None:
        flag_deleted(Contact, intercom_id)
        return None
    apply_contacts([payload], Source.DIRECT, force=True)
    refresh_notes(client, str(payload["id"]))
    return Contact.objects.get(intercom_id=str(payload["id"]))


def resync_company(client: IntercomClient, intercom_id: str) -> Company | None:
    """Fetch one company into the mirror; flag it deleted if Intercom no longer has it."""
    payload = fetch_first(client.get_company, None, intercom_id)
    if payload is None:
        flag_deleted(Company, intercom_id)
        return None
    apply_companies([payload], Source.DIRECT, force=True)
    return Company.objects.get(intercom_id=str(payload["id"]))


def resync_conversation(client: IntercomClient, intercom_id: str) -> Conversation | None:
    """Fetch one conversation with its parts into the mirror."""
    payload = fetch_first(client.get_conversation, None, intercom_id)
    if payload is None:
        flag_deleted(Conversation, intercom_id)
        return None
    apply_conversation_details([payload], Source.DIRECT, force=True)
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
    apply_deletion(model, [intercom_id], timezone.now())
