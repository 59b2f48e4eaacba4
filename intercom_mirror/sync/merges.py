"""Lead conversions, told by the API's own answers rather than by counting.

A lead converted into a new user keeps its Intercom id and now answers as a
user: its row simply turns into a user when that answer is applied. A lead
merged into an existing user is deleted (its id 404s) and the user holds its
conversations: the lead's row is flagged deleted and `merged_into` points at the
user, so old links can follow it. Each function returns what it found, in words,
for the run's notes.
"""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Lower
from django.utils import timezone

from intercom_mirror.api import IntercomClient, NotFound
from intercom_mirror.apply import Source, apply_contacts, apply_conversation_details, apply_deletion, apply_lead_merge
from intercom_mirror.models import Contact, Conversation
from intercom_mirror.sync.pipeline import fetch_all


def find_merged_leads(client: IntercomClient, users: list[dict[str, Any]]) -> list[str]:
    """Check the live leads that share an email with users that just changed.

    A merge moves the lead's activity onto the user and so changes the user; a lead
    with the same email that now 404s was merged into it. Costs one request per
    such lead, and none when no lead shares an email.
    """
    user_by_email = {str(u["email"]).lower(): str(u["id"]) for u in users if u.get("email") and u.get("id")}
    if not user_by_email:
        return []
    leads = dict(
        Contact.objects.live()
        .filter(role=Contact.LEAD)
        .annotate(lower_email=Lower("email"))
        .filter(lower_email__in=list(user_by_email))
        .values_list("intercom_id", "lower_email")
    )
    return check_leads(client, {lead: user_by_email[email] for lead, email in leads.items()})


def find_leads_merged_into(client: IntercomClient, user: dict[str, Any]) -> list[str]:
    """After `contact.signed_up` for an existing user: find the lead that went into it.

    The notification names only the user. Candidates are the leads sharing its
    email and the leads the mirror holds as customers of conversations the API now
    lists under the user.
    """
    user_id = str(user["id"])
    listed = client.list_conversations(type="user", intercom_user_id=user_id).get("conversations") or []
    customers = Conversation.objects.filter(intercom_id__in=[str(c.get("id")) for c in listed]).values("customer_id")
    candidates = Contact.objects.live().filter(role=Contact.LEAD).exclude(intercom_id=user_id)
    holding = set(candidates.filter(intercom_id__in=customers).values_list("intercom_id", flat=True))
    if user.get("email"):
        holding |= set(candidates.filter(email__iexact=user["email"]).values_list("intercom_id", flat=True))
    return check_leads(client, dict.fromkeys(holding, user_id))


def find_leads_merged_into_changed_users(client: IntercomClient, since, limit: int = 200) -> list[str]:
    """Look for merged leads among the users that changed since a moment (one request per user)."""
    users = (
        Contact.objects.live()
        .filter(role=Contact.USER, updated_at__gte=since)
        .order_by("-updated_at", "-id")
        .values("intercom_id", "email")[:limit]
    )
    found: list[str] = []
    for user in users:
        found += find_leads_merged_into(client, {"id": user["intercom_id"], "email": user["email"]})
    return found


def check_leads(client: IntercomClient, lead_to_user: dict[str, str]) -> list[str]:
    """Ask for each lead by id: a 404 means it went into the user named for it."""
    ids = [lead for lead, user in lead_to_user.items() if lead != user]
    found, still_leads = [], []
    for lead_id, outcome in zip(ids, fetch_all(client.get_lead, ids), strict=True):
        if isinstance(outcome, NotFound):
            found.append(record_merge(client, lead_id, lead_to_user[lead_id]))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            still_leads.append(outcome)
    apply_contacts(still_leads, Source.DIRECT)
    return found


def resolve_vanished_leads(client: IntercomClient, lead_ids: list[str]) -> tuple[int, list[str]]:
    """Find out what became of leads that 404: converted, merged, or deleted.

    Return how many are gone, and what was found.
    """
    gone, found = 0, []
    for lead_id, outcome in zip(lead_ids, fetch_all(client.get_user, lead_ids), strict=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, NotFound):
            raise outcome
        if not isinstance(outcome, NotFound):
            # Converted into a new user: same id, now a user. A direct read, so it
            # stands even over a lead row a webhook flagged deleted.
            apply_contacts([outcome], Source.DIRECT)
            found.append(f"lead {lead_id} was converted into a user")
            continue
        holder = refetch_conversations(client, lead_id) or user_sharing_email(lead_id)
        if holder:
            found.append(record_merge(client, lead_id, holder))
        else:
            apply_deletion(Contact, [lead_id])
        gone += 1
    return gone, found


def record_merge(client: IntercomClient, lead_id: str, user_id: str) -> str:
    """Flag the lead as merged into the user, and let its conversations follow."""
    apply_lead_merge(lead_id, user_id, timezone.now())
    refetch_conversations(client, lead_id)
    return f"lead {lead_id} was merged into user {user_id}"


def refetch_conversations(client: IntercomClient, lead_id: str) -> str | None:
    """Re-read the conversations the mirror files under a lead; return the user who holds them now.

    A merge moves them without necessarily changing their `updated_at`: only a
    direct read (which outranks the list item at an equal second) tells.
    """
    ids = list(Conversation.objects.live().filter(customer_id=lead_id).values_list("intercom_id", flat=True))
    details = []
    for outcome in fetch_all(client.get_conversation, ids):
        if isinstance(outcome, NotFound):
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        details.append(outcome)
    apply_conversation_details(details, Source.DIRECT)
    holders = Conversation.objects.filter(intercom_id__in=ids).exclude(customer_id=lead_id).values("customer_id")
    users = Contact.objects.live().filter(role=Contact.USER, intercom_id__in=holders)
    return users.values_list("intercom_id", flat=True).first()


def user_sharing_email(lead_id: str) -> str | None:
    email = Contact.objects.filter(intercom_id=lead_id).values_list("email", flat=True).first()
    if not email:
        return None
    users = Contact.objects.live().filter(role=Contact.USER, email__iexact=email)
    return users.values_list("intercom_id", flat=True).first()
