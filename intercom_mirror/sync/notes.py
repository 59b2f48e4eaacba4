"""Notes on users and leads: v1 lists them per contact only (`list_notes_for_user`).

So a whole read costs one request per contact (more for contacts with over a
page of notes): about 16.7 hours per million contacts at 1,000 requests a
minute. The full pass therefore
- goes in the order that serves staff first: customers of open conversations,
  then everyone else, most recently seen first;
- resumes after a crash: each contact's `notes_synced_at` is its marker, and the
  pass's start (`SyncState.full_pass_started_at`) stays set until it completes;
- spends only the sync client's share of the rate limit.
Incremental passes read the notes of contacts that changed since the watermark.
`SYNC_NOTES=false` turns the pass off.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q

from intercom_mirror.api import IntercomClient, NotFound
from intercom_mirror.apply import Source, apply_deletion, apply_notes
from intercom_mirror.models import Contact, Conversation, Note, SyncState
from intercom_mirror.sync.engine import SyncContext
from intercom_mirror.sync.pipeline import fetch_all

BATCH_CONTACTS = 40  # contacts per database batch (their requests go out a few at a time)


def notes_enabled() -> bool:
    return bool(getattr(settings, "SYNC_NOTES", True))


def notes_full(ctx: SyncContext) -> None:
    """Read every live contact's notes, resuming a pass that a crash interrupted."""
    if not notes_enabled():
        ctx.notes.append("notes: turned off (SYNC_NOTES=false)")
        return
    state = SyncState.objects.get(resource="notes")
    began = state.full_pass_started_at
    if began is None:
        began = ctx.run.started_at
        SyncState.objects.filter(pk=state.pk).update(full_pass_started_at=began)
    else:
        done = Contact.objects.live().filter(notes_synced_at__gte=began).count()
        ctx.notes.append(f"notes: resumed the pass begun {began:%Y-%m-%d %H:%M:%S}; {done} contacts already read")
    pending = Contact.objects.live().filter(Q(notes_synced_at__isnull=True) | Q(notes_synced_at__lt=began))
    ctx.total = pending.count()
    done = 0
    for batch in contacts_in_staff_order(pending):
        read_notes(ctx, batch)
        done += len(batch)
        if ctx.progress:
            ctx.progress(ctx.resource, done, ctx.total)
    SyncState.objects.filter(pk=state.pk).update(full_pass_started_at=None)


def notes_incremental(ctx: SyncContext, cutoff: datetime) -> None:
    """Read the notes of contacts that changed since the cutoff."""
    if not notes_enabled():
        ctx.notes.append("notes: turned off (SYNC_NOTES=false)")
        return
    changed = Contact.objects.live().filter(updated_at__gte=cutoff).order_by("updated_at", "id")
    batch: list[tuple[str, datetime | None]] = []
    for row in changed.values_list("intercom_id", "updated_at").iterator(chunk_size=500):
        batch.append(row)
        if len(batch) == BATCH_CONTACTS:
            read_notes(ctx, [i for i, _ in batch])
            ctx.saw(batch[-1][1])
            batch = []
    if batch:
        read_notes(ctx, [i for i, _ in batch])
        ctx.saw(batch[-1][1])


def contacts_in_staff_order(pending) -> Iterator[list[str]]:
    """Yield batches of contact ids: customers of open conversations, then the most recently seen.

    Keyset pages (last seen, then id) so that a million contacts stream in
    constant memory; contacts never seen come last, by id.
    """
    open_customers = Conversation.objects.live().filter(state=Conversation.OPEN).values("customer_id")
    first = list(pending.filter(intercom_id__in=open_customers).values_list("intercom_id", flat=True))
    for start in range(0, len(first), BATCH_CONTACTS):
        yield first[start : start + BATCH_CONTACTS]
    rest = pending.exclude(intercom_id__in=first)
    seen = rest.filter(last_request_at__isnull=False)
    after: tuple[datetime, int] | None = None
    while True:
        page = seen
        if after:
            page = page.filter(Q(last_request_at__lt=after[0]) | Q(last_request_at=after[0], id__lt=after[1]))
        ordered = page.order_by("-last_request_at", "-id")
        rows = list(ordered.values_list("intercom_id", "last_request_at", "id")[:BATCH_CONTACTS])
        if not rows:
            break
        yield [r[0] for r in rows]
        after = (rows[-1][1], rows[-1][2])
    last_id = 0
    while True:
        never_seen = rest.filter(last_request_at__isnull=True, id__gt=last_id).order_by("id")
        rows = list(never_seen.values_list("intercom_id", "id")[:BATCH_CONTACTS])
        if not rows:
            break
        yield [r[0] for r in rows]
        last_id = rows[-1][1]


def read_notes(ctx: SyncContext, contact_ids: list[str]) -> None:
    """Read and apply the notes of some contacts, a few requests at a time; then mark them read."""
    outcomes = fetch_all(lambda cid: list_notes(ctx.client, cid), contact_ids)
    fetched = 0
    for contact_id, outcome in zip(contact_ids, outcomes, strict=True):
        if isinstance(outcome, NotFound):
            outcome = []  # deleted or merged since: the contacts passes flag it
        elif isinstance(outcome, BaseException):
            raise outcome
        result = replace_notes(contact_id, outcome, ctx.now())
        ctx.run.created += result[0]
        ctx.run.updated += result[1]
        ctx.run.deleted += result[2]
        fetched += len(outcome)
    Contact.objects.filter(intercom_id__in=contact_ids).update(notes_synced_at=ctx.now())
    ctx.run.fetched += fetched
    ctx.renew_lease()


def list_notes(client: IntercomClient, contact_id: str) -> list[dict[str, Any]]:
    """Return every note of one user or lead (paged)."""
    return list(client.iter_items("list_notes_for_user", "notes", id=contact_id))


def replace_notes(contact_id: str, notes: list[dict[str, Any]], now: datetime) -> tuple[int, int, int]:
    """Make the mirror's notes of a contact what the API listed; return (created, updated, deleted)."""
    result = apply_notes(notes, Source.DIRECT, now, contact_id=contact_id)
    listed = {str(n.get("id")) for n in notes}
    vanished = Note.objects.live().filter(contact_id=contact_id).exclude(intercom_id__in=listed)
    deleted = apply_deletion(Note, vanished.values_list("intercom_id", flat=True), now)
    return result.created, result.updated, deleted


def refresh_notes(client: IntercomClient, contact_id: str) -> list[Note]:
    """Read one contact's notes from the API now (the dashboard calls this when they are opened)."""
    from django.utils import timezone

    now = timezone.now()
    replace_notes(contact_id, list_notes(client, contact_id), now)
    Contact.objects.filter(intercom_id=contact_id).update(notes_synced_at=now)
    return list(Note.objects.live().filter(contact_id=contact_id).select_related("author"))
