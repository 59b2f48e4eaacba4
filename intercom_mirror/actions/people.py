"""Actions on contacts, companies and admins: notes, tags, lead conversion, away mode."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from intercom_mirror.actions.conversations import CLOCK_SKEW, clean_text, plain
from intercom_mirror.actions.core import VERBS, ActionRefused, Verb, perform, record_action
from intercom_mirror.actions.staff import admin_for, forget_profile
from intercom_mirror.api import IntercomClient, NotFound
from intercom_mirror.apply import (
    Source,
    apply_companies,
    apply_contacts,
    apply_conversation_details,
    apply_lead_merge,
    apply_notes,
    apply_simple,
)
from intercom_mirror.bulk import ensure_refs
from intercom_mirror.models import Admin, Company, Contact, Conversation, StaffAction, Tag, from_unix, unwrap
from intercom_mirror.sync.notes import list_notes, replace_notes

TAG_BATCH = 50  # Intercom recommends at most 50 users per tagging request


def require_admin(user) -> Admin:
    admin = admin_for(user)
    if admin is None:
        raise ActionRefused(
            "Your account is not linked to an Intercom admin, so Intercom would not know who did this. "
            "Ask an administrator to link it (Django admin → Staff profiles)."
        )
    return admin


def act(verb: str, target_type: str, target_id: str, body: dict[str, Any], acting_user, key=None) -> StaffAction:
    admin = require_admin(acting_user)
    action, created = record_action(
        verb,
        target_type,
        str(target_id),
        body,
        acting_user=acting_user,
        admin_id=admin.intercom_id,
        idempotency_key=key,
    )
    return perform(action) if created else action


def live_contact(contact_id: str, role: str | None = None) -> Contact:
    contact = Contact.objects.live().filter(intercom_id=str(contact_id)).first()
    if contact is None or (role and contact.role != role):
        raise ActionRefused(f"{role or 'Contact'} {contact_id} is not in the mirror (or no longer in Intercom).")
    return contact


def tag_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 255:
        raise ActionRefused("Give the tag a name (at most 255 characters).")
    return name


# --- notes ----------------------------------------------------------------------------------


def do_add_note_contact(contact_id: str, body: str, *, acting_user, idempotency_key: str | None = None):
    """Add a note to a user or lead, written by the staff user's admin."""
    live_contact(contact_id)
    text = clean_text(body)
    admin = require_admin(acting_user)
    note = {"admin_id": admin.intercom_id, "body": text, "user": {"id": str(contact_id)}}
    return act("add_note", "contact", contact_id, note, acting_user, idempotency_key)


def send_note(client: IntercomClient, action: StaffAction) -> dict[str, Any]:
    return client.create_note(action.request_body)


def apply_note(action: StaffAction, answer: dict[str, Any]) -> None:
    apply_notes([answer], Source.DIRECT, contact_id=action.target_intercom_id)


def find_note(client: IntercomClient, action: StaffAction) -> dict[str, Any] | None:
    """A note is ours when it is by our admin, no older than the send, with the text we sent."""
    notes = list_notes(client, action.target_intercom_id)
    since = action.sent_at - CLOCK_SKEW
    wanted = plain(action.request_body["body"])
    for note in notes:
        created = from_unix(note.get("created_at"))
        if (
            str((note.get("author") or {}).get("id")) == action.admin_intercom_id
            and (created is None or created >= since)
            and plain(note.get("body") or "") == wanted
        ):
            return note
    return None


VERBS["add_note"] = Verb(
    send=send_note, apply=apply_note, find=find_note, result_id=lambda action, answer: str(answer.get("id", ""))
)


# --- tags on one contact or company ---------------------------------------------------------


def do_tag_contact(contact_id: str, name: str, *, acting_user, untag: bool = False):
    """Tag (or untag) a user or lead; the tag is created when no tag has that name (case-insensitive)."""
    live_contact(contact_id)
    body = {"name": tag_name(name), "users": [{"id": str(contact_id), **({"untag": True} if untag else {})}]}
    return act("untag" if untag else "tag", "contact", contact_id, body, acting_user)


def do_tag_company(company_id: str, name: str, *, acting_user, untag: bool = False):
    if not Company.objects.live().filter(intercom_id=str(company_id)).exists():
        raise ActionRefused(f"Company {company_id} is not in the mirror.")
    body = {"name": tag_name(name), "companies": [{"id": str(company_id), **({"untag": True} if untag else {})}]}
    return act("untag" if untag else "tag", "company", company_id, body, acting_user)


def do_tag_conversation(
    conversation_id: str, name: str, *, acting_user, untag: bool = False, idempotency_key: str | None = None
):
    """Tag (or untag) the conversation's customer: v1 tags users, leads and companies, not conversations."""
    customer = (
        Conversation.objects.filter(intercom_id=str(conversation_id)).values_list("customer_id", flat=True).first()
    )
    if not customer:
        raise ActionRefused("This conversation has no customer in the mirror to tag.")
    body = {"name": tag_name(name), "users": [{"id": customer, **({"untag": True} if untag else {})}]}
    return act("untag" if untag else "tag", "conversation", conversation_id, body, acting_user, idempotency_key)


def do_untag_conversation(conversation_id: str, name: str, *, acting_user, idempotency_key: str | None = None):
    return do_tag_conversation(
        conversation_id, name, acting_user=acting_user, untag=True, idempotency_key=idempotency_key
    )


def send_tags(client: IntercomClient, action: StaffAction) -> dict[str, Any]:
    """Tag, then read the record back so the mirror shows the API's truth about it."""
    tag = client.create_tag(action.request_body)
    return {"tag": tag, "record": read_record(client, action)}


def read_contact(client: IntercomClient, contact_id: str) -> dict[str, Any] | None:
    for getter in (client.get_user, client.get_lead):
        try:
            return getter(contact_id)
        except NotFound:
            continue
    return None


def read_record(client: IntercomClient, action: StaffAction) -> dict[str, Any] | None:
    """Read back the tagged record: the company, or the contact (a conversation's customer)."""
    if action.target_type == "company":
        try:
            return client.get_company(action.target_intercom_id)
        except NotFound:
            return None
    return read_contact(client, action.request_body["users"][0]["id"])


def find_tags(client: IntercomClient, action: StaffAction) -> dict[str, Any] | None:
    record = read_record(client, action)
    names = {str(t.get("name", "")).lower() for t in unwrap((record or {}).get("tags"), "tags")}
    tagged = action.request_body["name"].lower() in names
    return {"tag": None, "record": record} if tagged == (action.verb == "tag") else None


def apply_tags(action: StaffAction, answer: dict[str, Any]) -> None:
    if answer.get("tag"):
        apply_simple(Tag, [answer["tag"]], Source.DIRECT)
    record = answer.get("record")
    if record:
        (apply_companies if action.target_type == "company" else apply_contacts)([record], Source.DIRECT)


for _verb in ("tag", "untag"):
    VERBS[_verb] = Verb(send=send_tags, apply=apply_tags, find=find_tags)


# --- tags on many contacts (bulk) ------------------------------------------------------------


def do_tag_contacts(contact_ids: list[str], name: str, *, acting_user, untag: bool = False, bulk: str = ""):
    """Tag or untag many contacts, in requests of at most 50; return one StaffAction per request.

    Each request's success links (or unlinks) the tag in the mirror at once: the API
    answers with the tag only, and reading back every contact would cost a request each.
    """
    name = tag_name(name)
    require_admin(acting_user)
    ids = list(dict.fromkeys(str(i) for i in contact_ids))
    actions = []
    for start in range(0, len(ids), TAG_BATCH):
        batch = ids[start : start + TAG_BATCH]
        users = [{"id": i, **({"untag": True} if untag else {})} for i in batch]
        body = {"name": name, "users": users, **({"bulk": bulk} if bulk else {})}
        # The record is the run (or the tag name, cut to the column): names can be 255 characters.
        actions.append(act("bulk_untag" if untag else "bulk_tag", "tag", (bulk or name)[:64], body, acting_user))
    return actions


def send_bulk_tag(client: IntercomClient, action: StaffAction) -> dict[str, Any]:
    return client.create_tag({k: v for k, v in action.request_body.items() if k != "bulk"})


def apply_bulk_tag(action: StaffAction, answer: dict[str, Any]) -> None:
    apply_simple(Tag, [answer], Source.DIRECT)
    tag_pk = ensure_refs(Tag, {str(answer["id"]): answer})[str(answer["id"])]
    ids = [u["id"] for u in action.request_body["users"]]
    through = Contact.tags.through
    contact_pks = list(Contact.objects.filter(intercom_id__in=ids).values_list("pk", flat=True))
    with transaction.atomic():
        if action.verb == "bulk_untag":
            through.objects.filter(tag_id=tag_pk, contact_id__in=contact_pks).delete()
        else:
            existing = set(
                through.objects.filter(tag_id=tag_pk, contact_id__in=contact_pks).values_list("contact_id", flat=True)
            )
            through.objects.bulk_create(
                [through(tag_id=tag_pk, contact_id=pk) for pk in contact_pks if pk not in existing],
                ignore_conflicts=True,
            )


for _verb in ("bulk_tag", "bulk_untag"):
    # Tagging is idempotent in effect: after a lost answer, sending again does no harm.
    VERBS[_verb] = Verb(send=send_bulk_tag, apply=apply_bulk_tag, find=lambda client, action: None)


# --- lead conversion ---------------------------------------------------------------------------


def do_convert_lead(lead_id: str, *, user_id: str = "", email: str = "", acting_user):
    """Turn a lead into a user with this user_id and/or email (Intercom merges if that user exists)."""
    live_contact(lead_id, Contact.LEAD)
    user_id, email = (user_id or "").strip(), (email or "").strip()
    if not user_id and not email:
        raise ActionRefused("Give the new user a user_id or an email.")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ActionRefused(f"{email!r} is not an email address.")
    target = {k: v for k, v in (("user_id", user_id), ("email", email)) if v}
    return act("convert", "contact", lead_id, {"contact": {"id": str(lead_id)}, "user": target}, acting_user)


def do_merge_lead(lead_id: str, into_user_id: str, *, acting_user):
    """Merge a lead into an existing user: the lead is deleted, the user gets its conversations, tags and notes."""
    live_contact(lead_id, Contact.LEAD)
    live_contact(into_user_id, Contact.USER)
    body = {"contact": {"id": str(lead_id)}, "user": {"id": str(into_user_id)}}
    return act("merge", "contact", lead_id, body, acting_user)


def send_convert(client: IntercomClient, action: StaffAction) -> dict[str, Any]:
    user = client.convert_lead(action.request_body)
    return after_conversion(client, action, user)


def after_conversion(client: IntercomClient, action: StaffAction, user: dict[str, Any]) -> dict[str, Any]:
    """Read what moved to the user: the lead's conversations and the user's notes, as the API reports them."""
    lead_id = action.target_intercom_id
    conversations = []
    for conversation_id in Conversation.objects.filter(customer_id=lead_id).values_list("intercom_id", flat=True):
        try:
            conversations.append(client.get_conversation(conversation_id))
        except NotFound:
            continue
    return {"user": user, "conversations": conversations, "notes": list_notes(client, str(user["id"]))}


def apply_conversion(action: StaffAction, answer: dict[str, Any]) -> None:
    user = answer["user"]
    lead_id = action.target_intercom_id
    with transaction.atomic():
        apply_contacts([user], Source.DIRECT)
        if str(user["id"]) != lead_id:
            apply_lead_merge(lead_id, str(user["id"]))
        apply_conversation_details(answer["conversations"], Source.DIRECT)
        replace_notes(str(user["id"]), answer["notes"], timezone.now())


def find_conversion(client: IntercomClient, action: StaffAction) -> dict[str, Any] | None:
    """Done when the lead 404s as a lead and its user answers."""
    try:
        client.get_lead(action.target_intercom_id)
        return None  # still a lead: not converted
    except NotFound:
        pass
    target = action.request_body["user"]
    user_id = target.get("id") or action.target_intercom_id
    try:
        user = client.get_user(user_id)
    except NotFound:
        return None
    return after_conversion(client, action, user)


for _verb in ("convert", "merge"):
    VERBS[_verb] = Verb(
        send=send_convert,
        apply=apply_conversion,
        find=find_conversion,
        result_id=lambda action, answer: str(answer["user"]["id"]),
    )


# --- admins -------------------------------------------------------------------------------------


def do_set_admin_away(*, away: bool, reassign: bool = False, acting_user):
    """Set the staff user's own admin away (optionally reassigning replies) or back."""
    admin = require_admin(acting_user)
    body = {"away_mode_enabled": bool(away), "away_mode_reassign": bool(away and reassign)}
    action = act("set_away", "admin", admin.intercom_id, body, acting_user)
    forget_profile(acting_user)  # the admin kept with the user's profile is the one just changed
    return action


VERBS["set_away"] = Verb(
    send=lambda client, action: client.set_admin_away(action.target_intercom_id, **action.request_body),
    apply=lambda action, answer: apply_simple(Admin, [answer], Source.DIRECT),
    find=lambda client, action: None,  # setting away twice is harmless
)
