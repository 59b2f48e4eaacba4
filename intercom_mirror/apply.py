"""The one apply path: every Intercom object enters the mirror through this module.

Four writers bring objects: sync passes (list and scroll pages, and the detail
reads they make), webhooks, per-record resyncs, and the API's answers to staff
actions. They all call the `apply_*` functions below. Each write is one
`INSERT … ON CONFLICT (intercom_id) DO UPDATE … WHERE <guard>`, and the guard
(`guard_sql`) is where these rules are enforced, in SQL, so that no concurrent
writer can replace newer data with older, whatever the interleaving:

| # | The mirror holds …              | … and a writer brings                     | Outcome                                       |
|---|---------------------------------|-------------------------------------------|-----------------------------------------------|
| 1 | a row                           | a payload with a newer `updated_at`       | the payload wins                              |
| 2 | a row                           | a payload with an older `updated_at`      | the row stays (it is only marked as seen)     |
| 3 | a row                           | a payload from the same second            | the higher source wins: direct read (3) >     |
|   |                                 |                                           | list item (2) > webhook item (1); at an equal |
|   |                                 |                                           | source the later write wins                   |
| 4 | a row flagged deleted           | anything but a direct read                | the delete stands                             |
| 5 | a row flagged deleted           | a direct read, not older (rules 1–3)      | the row is live again                         |
| 6 | a row (or nothing)              | a partial item (webhooks)                 | merged over the stored payload under a row    |
|   |                                 |                                           | lock, then rules 1–5                          |
| 7 | a row of a model without        | any payload                               | the later write wins (rules 4–5 still hold)   |
|   | `updated_at` (admins, tags, …)  |                                           |                                               |
| 8 | a row                           | a delete (webhook, 404 on a direct read)  | flagged deleted (a contact with its notes); a |
|   |                                 |                                           | merged lead records the user it went into     |
|   |                                 |                                           | (`merged_into`), and its notes follow it      |

Intercom's timestamps have one-second resolution, so two webhooks from the same
second (an assignment and a close) can arrive in either order. Rule 3 cannot
order them: such a write is reported as `ambiguous`, and the webhook layer asks
the API for the record, whose direct read then wins.

A payload whose content is unchanged (same hash) is not rewritten, only marked
as seen; that is what keeps a full pass over a quiet workspace cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from intercom_mirror.bulk import ensure_refs, insert_or_update, replace_links, update_columns
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
    from_unix,
    ref_id,
    unwrap,
)

# Called inside the write's transaction with (model, primary keys written) after every
# guarded upsert: how derived data (the search index) stays current with every writer.
Listener = Callable[[type[MirrorModel], list[int]], None]
listeners: list[Listener] = []


def on_applied(listener: Listener) -> Listener:
    """Register a function to run, in the same transaction, after rows of any model are written."""
    listeners.append(listener)
    return listener


class Source(IntEnum):
    """Where a payload came from; at an equal `updated_at` the higher one wins."""

    PLACEHOLDER = 0  # known only by a short reference in another object
    WEBHOOK = 1
    LIST = 2  # a list or scroll page
    DIRECT = 3  # the answer to a read (or a write) of this one record


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Intercom id → primary key of every row written (new or changed), for linking.
    written: dict[str, int] = field(default_factory=dict)
    # Intercom ids of the rows this call created.
    fresh: set[str] = field(default_factory=set)
    # Intercom ids whose payload differed from the stored one at the same second and
    # source (rule 3 cannot order them): a direct read should settle them.
    ambiguous: set[str] = field(default_factory=set)

    def add(self, other: UpsertResult) -> UpsertResult:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.written.update(other.written)
        self.fresh |= other.fresh
        self.ambiguous |= other.ambiguous
        return self


# --- the rules, in SQL -------------------------------------------------------------


def guard_sql(model: type[MirrorModel]) -> str:
    """Return the ON CONFLICT … WHERE condition that enforces the precedence table.

    The stored row is named by its table, the incoming one is EXCLUDED.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    direct = int(Source.DIRECT)
    # Rules 4 and 5: only a direct read brings a deleted row back.
    delete_stands = f"({table}.deleted_at IS NULL OR EXCLUDED.source = {direct})"
    if not has_updated_at(model):
        return delete_stands  # rule 7
    # Rules 1–3. A payload without updated_at is ordered by its source alone.
    not_older = (
        f"({table}.updated_at IS NULL"
        f" OR EXCLUDED.updated_at > {table}.updated_at"
        f" OR ((EXCLUDED.updated_at = {table}.updated_at OR EXCLUDED.updated_at IS NULL)"
        f" AND EXCLUDED.source >= {table}.source))"
    )
    return f"{delete_stands} AND {not_older}"


def has_updated_at(model: type[MirrorModel]) -> bool:
    return any(f.name == "updated_at" for f in model._meta.concrete_fields)


def upsert(
    model: type[MirrorModel],
    rows: Sequence[MirrorModel],
    source: Source,
    now: datetime | None = None,
    *,
    update_fields: Sequence[str] | None = None,
    force: bool = False,
) -> UpsertResult:
    """Write rows built by `from_payload` under the precedence rules; mark unchanged ones as seen.

    One query reads what the mirror holds, to skip rows whose content is unchanged
    and to count; the guarded upsert then decides, in SQL, what is actually written.
    `force` rewrites unchanged rows too (a resync repairs typed columns that drifted
    from the raw JSON); the rules still apply.
    """
    now = now or timezone.now()
    result = UpsertResult()
    # One row per id, the last winning: pages can overlap, and PostgreSQL refuses to
    # update the same row twice in one INSERT … ON CONFLICT.
    rows = list({row.intercom_id: row for row in rows}.values())
    if not rows:
        return result
    dated = has_updated_at(model)
    columns = ["intercom_id", "raw_hash", "deleted_at", "source"] + (["updated_at"] if dated else [])
    existing = {
        values[0]: values[1:]
        for values in model.objects.filter(intercom_id__in=[row.intercom_id for row in rows]).values_list(*columns)
    }
    candidates, unchanged = [], []
    for row in rows:
        row.synced_at, row.deleted_at, row.source = now, None, int(source)
        known = existing.get(row.intercom_id)
        if known is None:
            candidates.append(row)
            continue
        stored_hash, deleted_at, stored_source = known[:3]
        if not force and stored_hash == row.raw_hash and deleted_at is None:
            unchanged.append(row.intercom_id)
            continue
        if (
            dated
            and source == Source.WEBHOOK == stored_source
            and known[3] is not None
            and known[3] == row.updated_at
            and stored_hash != row.raw_hash
        ):
            result.ambiguous.add(row.intercom_id)
        candidates.append(row)
    if candidates:
        written = insert_or_update(model, candidates, update_fields or model.synced_fields(), guard_sql(model))
        result.written = written
        for listener in listeners:
            listener(model, list(written.values()))
        for row in candidates:
            if row.intercom_id not in written:
                result.unchanged += 1  # refused by the rules: the mirror holds something newer
            elif row.intercom_id in existing:
                result.updated += 1
            else:
                result.created += 1
                result.fresh.add(row.intercom_id)
    if unchanged:
        # Seen again: this is what lets a full pass tell vanished rows from live ones.
        model.objects.filter(intercom_id__in=unchanged).update(synced_at=now)
        result.unchanged += len(unchanged)
    return result


def dedupe(payloads: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return payloads with one entry per id, the last one winning (pages can overlap)."""
    by_id: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        if isinstance(payload, dict) and payload.get("id") not in (None, ""):
            by_id[str(payload["id"])] = payload
    return list(by_id.values())


# --- objects -------------------------------------------------------------------------


def apply_linked(
    model: type[MirrorModel],
    payloads: list[dict[str, Any]],
    source: Source,
    now: datetime | None = None,
    *,
    known_refs: dict | None = None,
    force: bool = False,
) -> UpsertResult:
    """Apply contacts or companies together with the tags, segments (and companies) their payloads list."""
    payloads = dedupe(payloads)
    with transaction.atomic():
        result = upsert(model, [model.from_payload(p) for p in payloads], source, now, force=force)
        link_refs(model, payloads, result, known_refs)
    return result


def apply_contacts(
    payloads: list[dict[str, Any]], source: Source, now: datetime | None = None, **options
) -> UpsertResult:
    """Apply users or leads with their tags, segments and companies."""
    return apply_linked(Contact, payloads, source, now, **options)


def apply_companies(
    payloads: list[dict[str, Any]], source: Source, now: datetime | None = None, **options
) -> UpsertResult:
    """Apply companies with their tags and segments."""
    return apply_linked(Company, payloads, source, now, **options)


def apply_simple(
    model: type[MirrorModel], payloads: list[dict[str, Any]], source: Source, now: datetime | None = None
) -> UpsertResult:
    """Apply admins, tags or segments: objects with no links of their own."""
    payloads = dedupe(payloads)
    with transaction.atomic():
        return upsert(model, [model.from_payload(p) for p in payloads], source, now)


def apply_teams(payloads: list[dict[str, Any]], source: Source, now: datetime | None = None) -> UpsertResult:
    """Apply teams and their members (admins the mirror already holds)."""
    payloads = dedupe(payloads)
    with transaction.atomic():
        result = upsert(Team, [Team.from_payload(p) for p in payloads], source, now)
        admins = dict(Admin.objects.values_list("intercom_id", "pk"))
        links = {
            result.written[str(p["id"])]: [admins[str(a)] for a in p.get("admin_ids") or [] if str(a) in admins]
            for p in payloads
            if str(p["id"]) in result.written
        }
        replace_links(Team._meta.get_field("admins"), links)
    return result


def apply_notes(
    payloads: list[dict[str, Any]], source: Source, now: datetime | None = None, *, contact_id: str | None = None
) -> UpsertResult:
    """Apply notes; `contact_id` names the contact they were listed for (a note may not say)."""
    rows = []
    for payload in dedupe(payloads):
        row = Note.from_payload(payload)
        row.contact_id = row.contact_id or contact_id
        rows.append(row)
    with transaction.atomic():
        return upsert(Note, rows, source, now)


def apply_conversation_details(
    details: list[dict[str, Any]], source: Source = Source.DIRECT, now: datetime | None = None, *, force: bool = False
) -> tuple[UpsertResult, int]:
    """Apply whole conversations (as `get_conversation` returns them) and their parts.

    Return the figures and the parts Intercom has but did not return (drift).
    """
    now = now or timezone.now()
    details = dedupe(details)
    rows = []
    for detail in details:
        parts = detail.get("conversation_parts") or {}
        row = Conversation.from_payload(Conversation.without_parts(detail))
        row.parts_total = int(parts.get("total_count") or len(unwrap(parts, "conversation_parts")))
        row.parts_fetched_for = row.updated_at
        rows.append(row)
    with transaction.atomic():
        result = upsert(Conversation, rows, source, now, force=force)
        pks = conversation_pks([r.intercom_id for r in rows])
        part_rows = [
            ConversationPart.from_payload(part, conversation_id=pks[str(d["id"])])
            for d in details
            for part in unwrap(d.get("conversation_parts"), "conversation_parts")
        ]
        upsert(ConversationPart, part_rows, source, now, force=force)
        link_conversation_tags(details, result.written)
        # Written even when the conversation itself is unchanged (a webhook may have
        # brought it first): these say which history the mirror holds.
        held = parts_held(pks.values())
        bookkeeping = {
            pks[r.intercom_id]: {
                "parts_total": r.parts_total,
                "parts_fetched_for": r.parts_fetched_for,
                "parts_synced": held.get(pks[r.intercom_id], 0),
            }
            for r in rows
            if r.intercom_id in pks
        }
        update_columns(Conversation, bookkeeping, ["parts_total", "parts_fetched_for", "parts_synced"])
        refresh_waiting(pks.values())
    return result, sum(max(v["parts_total"] - v["parts_synced"], 0) for v in bookkeeping.values())


def apply_conversation_items(items: list[dict[str, Any]], source: Source, now: datetime | None = None) -> UpsertResult:
    """Apply conversations as lists and webhooks give them: without their whole history.

    The parts counters are left alone (only a full fetch sets them), and any parts
    the item carries (a webhook's new reply) are added.
    """
    now = now or timezone.now()
    items = dedupe(items)
    list_fields = [f for f in Conversation.synced_fields() if not f.startswith("parts_")]
    rows = [Conversation.from_payload(Conversation.without_parts(i)) for i in items]
    with transaction.atomic():
        result = upsert(Conversation, rows, source, now, update_fields=list_fields)
        link_conversation_tags(items, result.written)
        with_parts = [i for i in items if unwrap(i.get("conversation_parts"), "conversation_parts")]
        if with_parts:
            pks = conversation_pks([str(i["id"]) for i in with_parts])
            parts = [
                ConversationPart.from_payload(part, conversation_id=pks[str(i["id"])])
                for i in with_parts
                for part in unwrap(i.get("conversation_parts"), "conversation_parts")
            ]
            upsert(ConversationPart, parts, source, now)
            held = parts_held(pks.values())
            update_columns(
                Conversation, {pk: {"parts_synced": held.get(pk, 0)} for pk in pks.values()}, ["parts_synced"]
            )
        # A state change (a close) matters to waiting as much as a new part.
        touched = set(result.written) | {str(i["id"]) for i in with_parts}
        refresh_waiting(conversation_pks(sorted(touched)).values())
    return result


APPLIERS = {
    Contact: apply_contacts,
    Company: apply_companies,
    Conversation: apply_conversation_items,
}


def apply_partial(model: type[MirrorModel], item: dict[str, Any], source: Source = Source.WEBHOOK) -> UpsertResult:
    """Apply an item that may carry only some fields, merged over the stored payload (rule 6).

    The stored payload is read under a row lock (SQLite: the IMMEDIATE transaction
    holds the database), so two partial items for one record never lose a field.
    """
    with transaction.atomic():
        stored = model.objects.select_for_update().filter(intercom_id=ref_id(item)).values_list("raw", "source").first()
        payload = item
        if stored and isinstance(stored[0], dict):
            payload = {**stored[0], **item}
            if "updated_at" not in item:
                # Undated: it says nothing about order, so it neither loses nor wins on rank.
                source = Source(max(int(source), stored[1]))
        return APPLIERS[model]([payload], source)


def apply_deletion(
    model: type[MirrorModel],
    intercom_ids: Iterable[str],
    now: datetime | None = None,
    *,
    merged_into: str | None = None,
) -> int:
    """Flag rows deleted in Intercom (rule 8); return how many were live.

    A deleted contact's notes go with it (Intercom lists notes per contact only, so
    no later pass would ever see them again).
    """
    ids = [str(i) for i in intercom_ids]
    now = now or timezone.now()
    extra = {"merged_into_id": merged_into} if merged_into else {}
    flagged = model.objects.live().filter(intercom_id__in=ids).update(deleted_at=now, **extra)
    if model is Contact and not merged_into:
        Note.objects.live().filter(contact_id__in=ids).update(deleted_at=now)
    return flagged


def apply_lead_merge(lead_id: str, user_id: str, now: datetime | None = None) -> None:
    """Record that a lead was merged into a user: the lead is gone, and its row points at the user."""
    Contact.objects.filter(intercom_id=lead_id, role=Contact.LEAD).update(
        deleted_at=now or timezone.now(), merged_into_id=user_id
    )


# --- links ----------------------------------------------------------------------------

# model → (relation, target model) for the short references its payload lists
LINKED: dict[type[MirrorModel], tuple[tuple[str, type[MirrorModel]], ...]] = {
    Contact: (("tags", Tag), ("segments", Segment), ("companies", Company)),
    Company: (("tags", Tag), ("segments", Segment)),
}


def link_refs(
    model: type[MirrorModel], payloads: list[dict[str, Any]], result: UpsertResult, known: dict | None = None
) -> None:
    """Make the written rows' tag, segment and company links match their payloads.

    A payload without one of these lists (a partial webhook item) says nothing
    about it, so those links are left as they are. `known` caches id → pk of
    referenced rows across the pages of one pass.
    """
    written = [p for p in payloads if str(p["id"]) in result.written]
    if not written:
        return
    known = {} if known is None else known
    fresh = {result.written[i] for i in result.fresh}
    for relation, target in LINKED[model]:
        carrying = [p for p in written if relation in p]
        refs = {ref_id(r): r for p in carrying for r in unwrap(p.get(relation), relation) if ref_id(r)}
        targets = ensure_refs(target, refs, known.setdefault(target, {}))
        links = {
            result.written[str(p["id"])]: [
                targets[ref_id(r)] for r in unwrap(p.get(relation), relation) if ref_id(r) in targets
            ]
            for p in carrying
        }
        replace_links(model._meta.get_field(relation), links, fresh)


def link_conversation_tags(payloads: list[dict[str, Any]], pks: dict[str, int]) -> None:
    written = [p for p in payloads if str(p["id"]) in pks]
    if not written:
        return
    refs = {ref_id(t): t for p in written for t in unwrap(p.get("tags"), "tags") if ref_id(t)}
    tags = ensure_refs(Tag, refs)
    links = {
        pks[str(p["id"])]: [tags[ref_id(t)] for t in unwrap(p.get("tags"), "tags") if ref_id(t) in tags]
        for p in written
    }
    replace_links(Conversation._meta.get_field("tags"), links)


def conversation_pks(intercom_ids: list[str]) -> dict[str, int]:
    return dict(Conversation.objects.filter(intercom_id__in=intercom_ids).values_list("intercom_id", "pk"))


def refresh_waiting(conversation_pks: Iterable[int]) -> None:
    """Recompute who waits since when, from the parts the mirror holds.

    - "last activity" (`updated_at`) and "waiting since" are separate things;
    - only an admin reply (an admin's comment) clears waiting: notes, assignments,
      state changes and bots do not;
    - a customer message starts waiting, but does not move it while the customer
      already waits; the opening message counts when a customer wrote it;
    - a closed conversation waits for nobody.
    """
    pks = list(conversation_pks)
    if not pks:
        return
    customers = Conversation.CUSTOMER_AUTHORS
    heads = Conversation.objects.filter(pk__in=pks).values_list("pk", "state", "author_type", "created_at")
    figures: dict[int, dict[str, Any]] = {}
    for pk, state, author_type, created_at in heads:
        opened_by_customer = author_type in customers and created_at is not None
        figures[pk] = {
            "state": state,
            "last_customer_part_at": created_at if opened_by_customer else None,
            "last_admin_reply_at": None,
            "waiting_since": created_at if opened_by_customer else None,
        }
    parts = (
        ConversationPart.objects.live()
        .filter(conversation_id__in=pks, created_at__isnull=False)
        .filter(Q(author_type__in=customers) | Q(author_type="admin", part_type="comment"))
        .order_by("conversation_id", "created_at", "id")
        .values_list("conversation_id", "author_type", "created_at")
    )
    for pk, author_type, created_at in parts.iterator(chunk_size=2000):
        row = figures[pk]
        if author_type == "admin":
            row["last_admin_reply_at"], row["waiting_since"] = created_at, None
        else:
            row["last_customer_part_at"] = created_at
            row["waiting_since"] = row["waiting_since"] or created_at
    for row in figures.values():
        if row.pop("state") == Conversation.CLOSED:
            row["waiting_since"] = None
    update_columns(Conversation, figures, list(Conversation.DERIVED_FIELDS))


def parts_held(conversation_pks) -> dict[int, int]:
    """Return how many parts the mirror holds for each conversation."""
    return dict(
        ConversationPart.objects.filter(conversation_id__in=list(conversation_pks))
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values_list("conversation_id", "n")
    )


def newest_updated_at(payloads: Iterable[dict[str, Any]]) -> datetime | None:
    stamps = [from_unix(p.get("updated_at")) for p in payloads]
    return max(filter(None, stamps), default=None)
