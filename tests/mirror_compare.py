"""Compare the mirror with the sandbox's state, record for record and field for field."""

from __future__ import annotations

from typing import Any

from intercom_mirror.api import IntercomClient
from intercom_mirror.models import (
    Admin,
    Company,
    Contact,
    Conversation,
    ConversationPart,
    MirrorModel,
    Note,
    Segment,
    Tag,
    Team,
    ref_id,
    unwrap,
)


def api_contacts(client: IntercomClient, resource: str) -> dict[str, dict[str, Any]]:
    return {str(c["id"]): c for page in client.iter_scroll(resource) for c in page}


def assert_rows_match(model: type[MirrorModel], queryset, payloads: dict[str, dict[str, Any]], label: str) -> None:
    rows = {row.intercom_id: row for row in queryset.live()}
    missing, extra = set(payloads) - set(rows), set(rows) - set(payloads)
    assert not missing and not extra, f"{label}: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
    for intercom_id, payload in payloads.items():
        row, expected = rows[intercom_id], model.fields_from_payload(payload)
        for derived in getattr(model, "DERIVED_FIELDS", ()):
            expected.pop(derived, None)  # computed by the mirror from the parts, tested on their own
        actual = {name: getattr(row, name) for name in expected}
        assert actual == expected, f"{label} {intercom_id}: {diff(actual, expected)}"


def diff(actual: dict, expected: dict) -> dict:
    return {k: (actual[k], expected[k]) for k in expected if actual[k] != expected[k]}


def assert_contacts_match(client: IntercomClient, resource: str, role: str) -> None:
    payloads = api_contacts(client, resource)
    assert_rows_match(Contact, Contact.objects.filter(role=role), payloads, resource)
    rows = {c.intercom_id: c for c in Contact.objects.live().filter(role=role).prefetch_related("tags", "companies")}
    for intercom_id, payload in payloads.items():
        assert rows[intercom_id].raw == payload, f"{resource} {intercom_id}: raw differs"
        assert {t.intercom_id for t in rows[intercom_id].tags.all()} == {
            ref_id(t) for t in unwrap(payload.get("tags"), "tags")
        }
        assert {c.intercom_id for c in rows[intercom_id].companies.all()} == {
            ref_id(c) for c in unwrap(payload.get("companies"), "companies")
        }


def assert_conversations_match(client: IntercomClient) -> None:
    listed = {str(c["id"]): c for c in client.iter_items("list_conversations", "conversations", per_page=60)}
    details = {cid: client.get_conversation(cid) for cid in listed}
    assert_rows_match(Conversation, Conversation.objects.all(), details, "conversations")
    for cid, detail in details.items():
        conversation = Conversation.objects.get(intercom_id=cid)
        assert conversation.raw == Conversation.without_parts(detail), f"conversation {cid}: raw differs"
        parts = unwrap(detail.get("conversation_parts"), "conversation_parts")
        stored = set(ConversationPart.objects.filter(conversation=conversation).values_list("intercom_id", flat=True))
        assert stored == {str(p["id"]) for p in parts}, f"conversation {cid}: parts differ"
        assert conversation.parts_total == detail["conversation_parts"]["total_count"]
        assert {t.intercom_id for t in conversation.tags.all()} == {
            ref_id(t) for t in unwrap(detail.get("tags"), "tags")
        }


def assert_notes_match(client: IntercomClient) -> None:
    """Assert every live contact's notes are mirrored, and nothing else (one request per contact)."""
    expected: dict[str, dict[str, Any]] = {}
    for contact_id in Contact.objects.live().values_list("intercom_id", flat=True):
        for note in client.iter_items("list_notes_for_user", "notes", id=contact_id):
            expected[str(note["id"])] = note
            row = Note.objects.filter(intercom_id=str(note["id"])).first()
            assert row is not None and row.contact_id == contact_id, f"note {note['id']} of {contact_id} missing"
    rows = {n.intercom_id: n for n in Note.objects.live()}
    assert set(rows) == set(expected), f"notes: missing {set(expected) - set(rows)}, extra {set(rows) - set(expected)}"
    for note_id, payload in expected.items():
        assert rows[note_id].body == payload.get("body") and rows[note_id].author_id == ref_id(payload.get("author"))


def assert_mirror_matches(client: IntercomClient, *, notes: bool = True) -> None:
    """Assert the mirror holds exactly what the API serves now (notes too, unless told not to)."""
    assert_contacts_match(client, "users", Contact.USER)
    assert_contacts_match(client, "leads", Contact.LEAD)
    companies = {str(c["id"]): c for page in client.iter_scroll("companies") for c in page}
    assert_rows_match(Company, Company.objects.all(), companies, "companies")
    admins = {str(a["id"]): a for a in client.list_admins()["admins"] if a.get("type", "admin") == "admin"}
    assert_rows_match(Admin, Admin.objects.all(), admins, "admins")
    assert_rows_match(Team, Team.objects.all(), {str(t["id"]): t for t in client.list_teams()["teams"]}, "teams")
    assert_rows_match(Tag, Tag.objects.all(), {str(t["id"]): t for t in client.list_tags()["tags"]}, "tags")
    segments = client.list_segments()["segments"] + client.list_segments(type="company")["segments"]
    assert_rows_match(Segment, Segment.objects.all(), {str(s["id"]): s for s in segments}, "segments")
    assert_conversations_match(client)
    if notes:
        assert_notes_match(client)
