"""How each Intercom resource is read and written into the mirror.

Full passes read everything (scroll for contacts and companies, whole lists for
the small resources, pages for conversations) and flag rows that no longer
exist. Incremental passes read newest-first by `updated_at` and stop at the
watermark (minus an overlap). Every page is written in its own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from intercom_mirror.api import BadRequest, IntercomError, NotFound, ScrollExists, ScrollFailed
from intercom_mirror.models import (
    Admin,
    Company,
    Contact,
    Conversation,
    ConversationPart,
    MirrorModel,
    Segment,
    SyncState,
    Tag,
    Team,
    from_unix,
    ref_id,
    unwrap,
)
from intercom_mirror.sync.engine import SyncContext
from intercom_mirror.sync.pipeline import fetch_all, prefetch
from intercom_mirror.sync.upsert import (
    BATCH,
    UpsertResult,
    dedupe,
    ensure_refs,
    replace_links,
    update_columns,
    upsert,
)

log = logging.getLogger(__name__)

PER_PAGE = 60  # the largest page the v1 list endpoints serve
SCROLL_ATTEMPTS = 4
SCROLL_TTL = 61  # seconds: a scroll_param dies one minute after its last use
CONTACT_KEYS = {"users": ("users",), "leads": ("contacts", "leads", "users")}


class SyncError(Exception):
    """A pass could not complete; the next run starts it again."""


class NotNewestFirst(Exception):
    """The API ignored `sort=updated_at`: an incremental read would stop too early."""


# --- writing pages --------------------------------------------------------------


def write_contacts(ctx: SyncContext, payloads: list[dict[str, Any]]) -> None:
    """Upsert one page of users or leads with their tags, segments and companies."""
    payloads = dedupe(payloads)
    rows = [Contact.from_payload(p) for p in payloads]
    with transaction.atomic():
        result = upsert(Contact, rows, ctx.now(), undelete_before=ctx.run.started_at)
        link_refs(Contact, payloads, result, ctx.known_refs)
    for row in rows:
        ctx.saw(row.updated_at)
    ctx.record(result, len(payloads))


def write_companies(ctx: SyncContext, payloads: list[dict[str, Any]]) -> None:
    """Upsert one page of companies with their tags and segments."""
    payloads = dedupe(payloads)
    with transaction.atomic():
        result = upsert(
            Company, [Company.from_payload(p) for p in payloads], ctx.now(), undelete_before=ctx.run.started_at
        )
        link_refs(Company, payloads, result, ctx.known_refs)
    ctx.record(result, len(payloads))


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
    about it, so those links are left as they are.
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


def write_simple(ctx: SyncContext, model: type[MirrorModel], payloads: list[dict[str, Any]]) -> dict[str, int]:
    payloads = dedupe(payloads)
    with transaction.atomic():
        result = upsert(model, [model.from_payload(p) for p in payloads], ctx.now(), undelete_before=ctx.run.started_at)
    ctx.record(result, len(payloads))
    return result.written


def write_teams(ctx: SyncContext, payloads: list[dict[str, Any]]) -> None:
    payloads = dedupe(payloads)
    with transaction.atomic():
        result = upsert(Team, [Team.from_payload(p) for p in payloads], ctx.now(), undelete_before=ctx.run.started_at)
        admins = dict(Admin.objects.values_list("intercom_id", "pk"))
        links = {
            result.written[str(p["id"])]: [admins[str(a)] for a in p.get("admin_ids") or [] if str(a) in admins]
            for p in payloads
            if str(p["id"]) in result.written
        }
        replace_links(Team._meta.get_field("admins"), links)
    ctx.record(result, len(payloads))


def write_conversations(ctx: SyncContext, items: list[dict[str, Any]]) -> None:
    """Upsert a page of conversations, fetching parts only for those that changed."""
    items = dedupe(items)
    fetched_for = dict(
        Conversation.objects.filter(intercom_id__in=[str(i["id"]) for i in items]).values_list(
            "intercom_id", "parts_fetched_for"
        )
    )
    stale = [str(i["id"]) for i in items if fetched_for.get(str(i["id"]), "new") != from_unix(i.get("updated_at"))]
    details = fetch_conversations(ctx.client, stale)
    detailed_ids = {str(d["id"]) for d in details}
    listed = [i for i in items if str(i["id"]) not in detailed_ids]
    with transaction.atomic():
        result, drift = store_conversation_details(details, ctx.now(), undelete_before=ctx.run.started_at)
        ctx.run.drift += drift
        listed_result = store_conversation_items(listed, ctx.now(), undelete_before=ctx.run.started_at)
    result.created += listed_result.created
    result.updated += listed_result.updated
    for item in items:
        ctx.saw(from_unix(item.get("updated_at")))
    ctx.record(result, len(items))


def fetch_conversations(client, ids: list[str]) -> list[dict[str, Any]]:
    """Fetch whole conversations, a few at a time; skip those deleted since they were listed."""
    details = []
    for outcome in fetch_all(client.get_conversation, ids):
        if isinstance(outcome, NotFound):
            continue  # the next full pass flags it
        if isinstance(outcome, BaseException):
            raise outcome
        details.append(outcome)
    return details


def store_conversation_details(
    details: list[dict[str, Any]], now: datetime, *, force: bool = False, undelete_before: datetime | None = None
) -> tuple[UpsertResult, int]:
    """Write whole conversations (as `get_conversation` returns them) and their parts.

    Return the upsert figures and the parts Intercom has but did not return (drift).
    """
    rows = []
    for detail in details:
        parts = detail.get("conversation_parts") or {}
        row = Conversation.from_payload(Conversation.without_parts(detail))
        row.parts_total = int(parts.get("total_count") or len(unwrap(parts, "conversation_parts")))
        row.parts_fetched_for = row.updated_at
        rows.append(row)
    result = upsert(Conversation, rows, now, force=force, undelete_before=undelete_before)
    pks = dict(
        Conversation.objects.filter(intercom_id__in=[r.intercom_id for r in rows]).values_list("intercom_id", "pk")
    )
    part_rows = [
        ConversationPart.from_payload(part, conversation_id=pks[str(d["id"])])
        for d in details
        for part in unwrap(d.get("conversation_parts"), "conversation_parts")
    ]
    upsert(ConversationPart, part_rows, now, force=force)
    link_conversation_tags(details, result.written)
    # Written even when the conversation itself is unchanged (a webhook may have
    # brought it first): these say which history the mirror holds.
    synced = parts_held(pks.values())
    bookkeeping = {
        pks[r.intercom_id]: {
            "parts_total": r.parts_total,
            "parts_fetched_for": r.parts_fetched_for,
            "parts_synced": synced.get(pks[r.intercom_id], 0),
        }
        for r in rows
        if r.intercom_id in pks
    }
    update_columns(Conversation, bookkeeping, ["parts_total", "parts_fetched_for", "parts_synced"])
    return result, sum(max(v["parts_total"] - v["parts_synced"], 0) for v in bookkeeping.values())


def store_conversation_items(
    items: list[dict[str, Any]], now: datetime, *, undelete_before: datetime | None = None
) -> UpsertResult:
    """Write conversations as lists and webhooks give them: without their whole history.

    The parts counters are left alone (only a full fetch sets them), and any parts
    the item carries (a webhook's new reply) are added.
    """
    list_fields = [f for f in Conversation.synced_fields() if not f.startswith("parts_")]
    rows = [Conversation.from_payload(Conversation.without_parts(i)) for i in items]
    result = upsert(Conversation, rows, now, update_fields=list_fields, undelete_before=undelete_before)
    link_conversation_tags(items, result.written)
    with_parts = [i for i in items if unwrap(i.get("conversation_parts"), "conversation_parts")]
    if with_parts:
        pks = dict(
            Conversation.objects.filter(intercom_id__in=[str(i["id"]) for i in with_parts]).values_list(
                "intercom_id", "pk"
            )
        )
        parts = [
            ConversationPart.from_payload(part, conversation_id=pks[str(i["id"])])
            for i in with_parts
            for part in unwrap(i.get("conversation_parts"), "conversation_parts")
        ]
        upsert(ConversationPart, parts, now)
        held = parts_held(pks.values())
        update_columns(Conversation, {pk: {"parts_synced": held.get(pk, 0)} for pk in pks.values()}, ["parts_synced"])
    return result


def parts_held(conversation_pks) -> dict[int, int]:
    """Return how many parts the mirror holds for each conversation."""
    return dict(
        ConversationPart.objects.filter(conversation_id__in=list(conversation_pks))
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values_list("conversation_id", "n")
    )


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


# --- reading ----------------------------------------------------------------------


COUNT_KEYS = {"users": "user", "leads": "lead", "companies": "company"}


def expect_total(ctx: SyncContext, resource: str) -> None:
    """Learn how many records a scroll will bring, for the progress bar (one request, only when shown)."""
    if ctx.progress is None:
        return
    try:
        counts = ctx.client.get_count()
    except IntercomError:
        return  # a progress bar without a total is still a progress bar
    total = (counts.get(COUNT_KEYS[resource]) or {}).get("count")
    ctx.total = total if isinstance(total, int) else None


def scroll(ctx: SyncContext, resource: str, write: Callable[[list[dict[str, Any]]], None]) -> None:
    """Scroll a whole resource, restarting from the top when the scroll breaks.

    A scroll cannot be resumed, and a broken one keeps the app's only scroll slot
    until it expires; writes are idempotent, so re-reading from the start is safe.
    """
    expect_total(ctx, resource)
    for attempt in range(1, SCROLL_ATTEMPTS + 1):
        try:
            for page in prefetch(ctx.client.iter_scroll(resource)):
                write(page)
            return
        except ScrollExists:
            ctx.notes.append(f"{resource}: a scroll was already open (attempt {attempt}); waited for it to expire")
        except ScrollFailed as exc:
            ctx.notes.append(f"{resource}: scroll failed (attempt {attempt}): {exc}; restarted")
        ctx.sleep(SCROLL_TTL)
    raise SyncError(f"{resource}: gave up after {SCROLL_ATTEMPTS} scroll attempts")


def newest_first(
    ctx: SyncContext, operation: str, keys: tuple[str, ...], cutoff: datetime, **params: Any
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of items updated since cutoff, newest first, stopping at the first older item."""
    # No read-ahead here: an incremental pass stops at the watermark, and a page
    # read ahead would be a request spent for nothing.
    pages = ctx.client.iter_pages(operation, sort="updated_at", order="desc", per_page=PER_PAGE, **params)
    for number, page in enumerate(pages):
        items = next((page[k] for k in keys if isinstance(page.get(k), list)), [])
        if number == 0:
            ctx.total = page.get("total_count")
        stamps = [from_unix(i.get("updated_at")) for i in items]
        if any(a and b and a < b for a, b in zip(stamps, stamps[1:], strict=False)):
            raise NotNewestFirst(operation)
        fresh = [i for i, stamp in zip(items, stamps, strict=True) if stamp and stamp >= cutoff]
        if fresh:
            yield fresh
        if len(fresh) < len(items):
            return


def flag_vanished(
    ctx: SyncContext,
    queryset,
    fetch: Callable[[str], dict[str, Any]],
    write: Callable[[list[dict[str, Any]]], None],
) -> list[str]:
    """Flag rows a complete pass did not see and Intercom no longer has; return their ids.

    A record can escape a pass without being gone (a conversation updated mid-pass
    jumps to a page already read), so each one is asked for by id first: a 404
    flags it, an answer is written. Deletions are rare, so this costs little.
    """
    candidates = list(queryset.live().filter(synced_at__lt=ctx.run.started_at).values_list("intercom_id", flat=True))
    gone: list[str] = []
    for start in range(0, len(candidates), PER_PAGE):
        batch = candidates[start : start + PER_PAGE]
        found = []
        for intercom_id, outcome in zip(batch, fetch_all(fetch, batch), strict=True):
            if isinstance(outcome, NotFound):
                gone.append(intercom_id)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                found.append(outcome)
        if found:
            write(found)
        ctx.renew_lease()
    for start in range(0, len(gone), BATCH):
        ids = gone[start : start + BATCH]
        ctx.run.deleted += queryset.live().filter(intercom_id__in=ids).update(deleted_at=ctx.now())
    return gone


def refetch_conversations_of(ctx: SyncContext, customer_ids: list[str]) -> None:
    """Refetch the conversations of customers that vanished.

    A lead merged into an existing user disappears, and its conversations move to
    that user without necessarily changing their `updated_at`: only a fresh read
    tells the mirror whom they belong to now.
    """
    for batch_start in range(0, len(customer_ids), BATCH):
        ids = customer_ids[batch_start : batch_start + BATCH]
        conversations = Conversation.objects.live().filter(customer_id__in=ids)
        details = fetch_conversations(ctx.client, list(conversations.values_list("intercom_id", flat=True)))
        with transaction.atomic():
            store_conversation_details(details, ctx.now())
        ctx.renew_lease()


def store_details(ctx: SyncContext, details: list[dict[str, Any]]) -> None:
    with transaction.atomic():
        result, drift = store_conversation_details(details, ctx.now(), undelete_before=ctx.run.started_at)
    ctx.run.drift += drift
    ctx.record(result, len(details))


# --- resources ---------------------------------------------------------------------


def contacts_full(role: str, resource: str) -> Callable[[SyncContext], None]:
    def full(ctx: SyncContext) -> None:
        write = lambda page: write_contacts(ctx, page)  # noqa: E731
        scroll(ctx, resource, write)
        fetch = ctx.client.get_user if role == Contact.USER else ctx.client.get_lead
        refetch_conversations_of(ctx, flag_vanished(ctx, Contact.objects.filter(role=role), fetch, write))

    return full


def contacts_incremental(role: str, resource: str, operation: str) -> Callable[[SyncContext, datetime], None]:
    def incremental(ctx: SyncContext, cutoff: datetime) -> None:
        try:
            for page in newest_first(ctx, operation, CONTACT_KEYS[resource], cutoff):
                write_contacts(ctx, page)
        except (NotNewestFirst, BadRequest) as exc:
            # The API ignored sort=updated_at, or refused to page deeper than 10,000
            # records (more changed than that since the last pass): scroll instead.
            ctx.notes.append(f"{operation}: {exc or type(exc).__name__}; fell back to a full pass")
            contacts_full(role, resource)(ctx)
            ctx.did_full = True
            return
        # Lists only show what exists: a count above the API's means something was
        # deleted or converted, and only a complete pass can tell which.
        if ctx.total is not None and Contact.objects.live().filter(role=role).count() > ctx.total:
            ctx.notes.append(f"mirror holds more {resource} than Intercom; ran a full pass to flag deletions")
            contacts_full(role, resource)(ctx)
            ctx.did_full = True

    return incremental


def companies_full(ctx: SyncContext) -> None:
    write = lambda page: write_companies(ctx, page)  # noqa: E731
    scroll(ctx, "companies", write)
    flag_vanished(ctx, Company.objects.all(), ctx.client.get_company, write)


def companies_incremental(ctx: SyncContext, cutoff: datetime) -> None:
    """Scroll companies again only when the last whole read is older than SYNC_COMPANIES_MINUTES.

    v1 sorts companies by last_request_at only and pages no deeper than 10,000, so
    there is no newest-first read to stop early on; company.created webhooks and
    the companies nested in users' payloads fill the gap in between.
    """
    last = SyncState.objects.get(resource="companies").last_full_at
    due = last is None or ctx.now() - last >= timedelta(minutes=settings.SYNC_COMPANIES_MINUTES)
    if not due:
        ctx.notes.append(f"companies: read whole every {settings.SYNC_COMPANIES_MINUTES} min; not due yet")
        return
    companies_full(ctx)
    ctx.did_full = True


def admins_full(ctx: SyncContext) -> None:
    items = ctx.client.list_admins().get("admins") or []
    write = lambda page: write_simple(ctx, Admin, page)  # noqa: E731
    write([i for i in items if i.get("type", "admin") == "admin"])
    flag_vanished(ctx, Admin.objects.all(), ctx.client.get_admin, write)


def teams_full(ctx: SyncContext) -> None:
    write = lambda page: write_teams(ctx, page)  # noqa: E731
    write(ctx.client.list_teams().get("teams") or [])
    flag_vanished(ctx, Team.objects.all(), ctx.client.get_team, write)


def tags_full(ctx: SyncContext) -> None:
    write = lambda page: write_simple(ctx, Tag, page)  # noqa: E731
    write(ctx.client.list_tags().get("tags") or [])
    flag_vanished(ctx, Tag.objects.all(), lambda i: ctx.client.request("GET", f"/tags/{i}"), write)


def segments_full(ctx: SyncContext) -> None:
    people = ctx.client.list_segments().get("segments") or []
    companies = ctx.client.list_segments(type="company").get("segments") or []
    write = lambda page: write_simple(ctx, Segment, page)  # noqa: E731
    write(people + companies)
    flag_vanished(ctx, Segment.objects.all(), ctx.client.get_segment, write)


def conversations_full(ctx: SyncContext) -> None:
    # Newest first: a conversation updated mid-pass jumps to the front (and is
    # caught by the next incremental pass) instead of shifting others past us.
    pages = ctx.client.iter_pages("list_conversations", sort="updated_at", order="desc", per_page=PER_PAGE)
    for page in prefetch(pages):
        ctx.total = ctx.total or page.get("total_count")
        write_conversations(ctx, page.get("conversations") or [])
    flag_vanished(ctx, Conversation.objects.all(), ctx.client.get_conversation, lambda found: store_details(ctx, found))


def conversations_incremental(ctx: SyncContext, cutoff: datetime) -> None:
    try:
        for page in newest_first(ctx, "list_conversations", ("conversations",), cutoff):
            write_conversations(ctx, page)
    except (NotNewestFirst, BadRequest) as exc:
        ctx.notes.append(f"list_conversations: {exc or type(exc).__name__}; fell back to a full pass")
        conversations_full(ctx)
        ctx.did_full = True


# resource → (full pass, incremental pass or None when every pass reads it whole)
RESOURCES: dict[str, tuple[Callable, Callable | None]] = {
    "admins": (admins_full, None),
    "teams": (teams_full, None),
    "tags": (tags_full, None),
    "segments": (segments_full, None),
    "companies": (companies_full, companies_incremental),
    "users": (contacts_full(Contact.USER, "users"), contacts_incremental(Contact.USER, "users", "list_users")),
    "leads": (contacts_full(Contact.LEAD, "leads"), contacts_incremental(Contact.LEAD, "leads", "list_leads")),
    "conversations": (conversations_full, conversations_incremental),
}
