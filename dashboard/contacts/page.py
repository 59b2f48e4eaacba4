"""One contact's page: what it shows (a fixed number of queries whatever the contact holds) and its conversions."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Prefetch, Q, prefetch_related_objects
from django.db.models.functions import Lower

from dashboard.contacts.attributes import typed_rows
from dashboard.contacts.queries import Unindexed, search
from intercom_mirror.actions import core, do_convert_lead, do_merge_lead, open_actions_for
from intercom_mirror.api import IntercomError
from intercom_mirror.models import Company, Contact, Conversation, Note, Segment, StaffAction, Tag
from intercom_mirror.sync.notes import refresh_notes

CONVERSATIONS_SHOWN = 50
NOTES_SHOWN = 50
CANDIDATES_SHOWN = 10
MERGE_HOPS = 5  # a lead merged into a user that was itself merged…: follow this far
NOTES_REFRESH_SECONDS = 60  # reopening a contact within a minute does not read its notes again


def get_contact(intercom_id: str) -> Contact | None:
    """Return the contact, or the user a merged lead now lives in (following merged_into)."""
    row = Contact.objects.filter(intercom_id=intercom_id).first()
    for _ in range(MERGE_HOPS):
        if row is None or row.deleted_at is None or not row.merged_into_id:
            break
        row = Contact.objects.filter(intercom_id=row.merged_into_id).first() or row
    return row


def page_context(contact: Contact, *, merge_q: str = "") -> dict[str, Any]:
    """Return everything the contact page shows except the events (loaded on their own)."""
    prefetch_related_objects(
        [contact],
        Prefetch("companies", queryset=Company.objects.only("intercom_id", "name", "company_id").order_by("name")),
        Prefetch("tags", queryset=Tag.objects.only("intercom_id", "name").order_by("name")),
        Prefetch("segments", queryset=Segment.objects.only("intercom_id", "name").order_by("name")),
    )
    conversations = list(
        Conversation.objects.live()
        .filter(customer_id=contact.intercom_id)
        .only("intercom_id", "subject", "body", "state", "updated_at", "created_at")
        .order_by("-updated_at", "-id")[: CONVERSATIONS_SHOWN + 1]
    )
    open_actions = list(open_actions_for("contact", contact.intercom_id).select_related("user"))
    context = {
        "contact": contact,
        "custom_attributes": typed_rows(contact.custom_attributes),
        "conversations": conversations[:CONVERSATIONS_SHOWN],
        "more_conversations": len(conversations) > CONVERSATIONS_SHOWN,
        "tags": list(contact.tags.all()),
        "open_actions": open_actions,
        **notes_context(contact, open_actions),
    }
    if contact.is_lead and contact.deleted_at is None:
        context |= merge_context(contact, merge_q)
    return context


def tags_context(contact: Contact) -> dict[str, Any]:
    """Return the contact's tags, read again (an action has just changed them)."""
    return {"contact": contact, "tags": list(contact.tags.only("intercom_id", "name").order_by("name"))}


def notes_context(contact: Contact, open_actions: list[StaffAction] | None = None) -> dict[str, Any]:
    """Return the contact's notes and the notes still being sent (taken from open_actions when the page has them)."""
    notes = list(
        Note.objects.live()
        .filter(contact_id=contact.intercom_id)
        .select_related("author")
        .order_by("-created_at", "-id")[: NOTES_SHOWN + 1]
    )
    if open_actions is None:
        open_actions = (
            StaffAction.objects.filter(
                target_type="contact",
                target_intercom_id=contact.intercom_id,
                verb="add_note",
                state__in=StaffAction.OPEN_STATES,
            )
            .select_related("user")
            .order_by("created_at", "id")
        )
    pending = [a for a in open_actions if a.verb == "add_note" and a.state in StaffAction.OPEN_STATES]
    return {
        "contact": contact,
        "notes": notes[:NOTES_SHOWN],
        "more_notes": len(notes) > NOTES_SHOWN,
        "pending_notes": pending,
    }


def refresh_notes_now(contact: Contact) -> bool:
    """Read the contact's notes from Intercom into the mirror (at most once a minute); False when it failed."""
    key = f"contact-notes-refreshed:{contact.intercom_id}"
    if cache.get(key):
        return True
    try:
        with core.web_client() as client:  # looked up on each call: tests point it at the sandbox
            refresh_notes(client, contact.intercom_id)
    except IntercomError:
        return False
    cache.set(key, True, NOTES_REFRESH_SECONDS)
    return True


# --- lead conversion -------------------------------------------------------------------------------


def users_with_email(email: str):
    """Return the live users with this email, any case (served by the LOWER(email) index)."""
    users = Contact.objects.live().filter(role=Contact.USER)
    return users.alias(lower_email=Lower("email")).filter(lower_email=email.strip().lower())


def merge_context(lead: Contact, q: str = "") -> dict[str, Any]:
    """Return the users the lead could be merged into: those sharing its email first, then the search's."""
    # Ordered in a form no index provides: PostgreSQL would otherwise walk the users by their
    # `updated_at` and test each one's email, all 800,000 of them when none matches (6 s).
    newest_first = [Unindexed(F("updated_at")).desc(nulls_last=True), F("id").desc()]
    same_email = list(users_with_email(lead.email).order_by(*newest_first)[:CANDIDATES_SHOWN]) if lead.email else []
    found: list[Contact] = []
    q = q.strip()[:100]
    if q:
        users = search(Contact.objects.live().filter(role=Contact.USER), q)
        found = list(users.exclude(pk__in=[u.pk for u in same_email]).order_by("name", "id")[:CANDIDATES_SHOWN])
    return {"merge_q": q, "same_email": same_email, "candidates": found}


def activity(lead: Contact) -> dict[str, int]:
    """Return how many conversations and notes the lead holds (what a merge moves)."""
    counts = Contact.objects.filter(pk=lead.pk).aggregate(
        conversations=Count("conversations", filter=Q(conversations__deleted_at__isnull=True), distinct=True),
        notes=Count("notes", filter=Q(notes__deleted_at__isnull=True), distinct=True),
    )
    return {k: v or 0 for k, v in counts.items()}


def convert_confirmation(lead: Contact, user_id: str, email: str) -> dict[str, Any]:
    """Return what converting will do: become a user, or be merged into the user who has that user_id or email."""
    match = Q(user_id=user_id) if user_id else Q(pk__in=[])
    if email:
        match |= Q(pk__in=users_with_email(email).values("pk"))
    existing = Contact.objects.live().filter(match, role=Contact.USER).order_by("id").first()
    return {"kind": "convert", "user_id": user_id, "email": email, "existing": existing, **activity(lead)}


def merge_confirmation(lead: Contact, user: Contact) -> dict[str, Any]:
    return {"kind": "merge", "user": user, **activity(lead)}


def send_conversion(lead: Contact, verb: str, acting_user, **target: str) -> StaffAction:
    if verb == "merge":
        return do_merge_lead(lead.intercom_id, target["into"], acting_user=acting_user)
    return do_convert_lead(
        lead.intercom_id, user_id=target.get("user_id", ""), email=target.get("email", ""), acting_user=acting_user
    )


def conversion_done(lead: Contact, verb: str) -> str:
    """Return what happened, for the page the user lands on."""
    if lead.merged_into_id:
        return f"The lead {lead.display_name} was merged into this user: its conversations and notes are here now."
    return f"The lead {lead.display_name} is a user now."
