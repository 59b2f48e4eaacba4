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

from intercom_mirror.api import BadRequest, IntercomError, NotFound, ScrollExists, ScrollFailed
from intercom_mirror.apply import (
    Source,
    apply_companies,
    apply_contacts,
    apply_conversation_details,
    apply_conversation_items,
    apply_deletion,
    apply_simple,
    apply_teams,
    dedupe,
)
from intercom_mirror.bulk import BATCH
from intercom_mirror.models import (
    Admin,
    Company,
    Contact,
    Conversation,
    MirrorModel,
    Segment,
    SyncState,
    Tag,
    Team,
    from_unix,
    ref_id,
    unwrap,
)
from intercom_mirror.sync import merges, notes
from intercom_mirror.sync.engine import SyncContext
from intercom_mirror.sync.pipeline import fetch_all, prefetch

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
# Every page goes through the one apply path (intercom_mirror.apply); these only
# keep the run's figures and the pass's bookkeeping.


def write_contacts(
    ctx: SyncContext, payloads: list[dict[str, Any]], source: Source = Source.LIST
) -> list[dict[str, Any]]:
    """Apply one page of users or leads with their tags, segments and companies; return those that changed."""
    result = apply_contacts(payloads, source, ctx.now(), known_refs=ctx.known_refs)
    for payload in payloads:
        ctx.saw(from_unix(payload.get("updated_at")))
    ctx.record(result, len(payloads))
    return [p for p in payloads if str(p.get("id")) in result.written]


def write_companies(ctx: SyncContext, payloads: list[dict[str, Any]], source: Source = Source.LIST) -> None:
    result = apply_companies(payloads, source, ctx.now(), known_refs=ctx.known_refs)
    ctx.record(result, len(payloads))


def write_simple(
    ctx: SyncContext, model: type[MirrorModel], payloads: list[dict[str, Any]], source: Source = Source.LIST
) -> None:
    ctx.record(apply_simple(model, payloads, source, ctx.now()), len(payloads))


def write_teams(ctx: SyncContext, payloads: list[dict[str, Any]], source: Source = Source.LIST) -> None:
    ctx.record(apply_teams(payloads, source, ctx.now()), len(payloads))


def write_conversations(ctx: SyncContext, items: list[dict[str, Any]]) -> None:
    """Apply a page of listed conversations, fetching whole ones only for those that changed."""
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
        result, drift = apply_conversation_details(details, Source.DIRECT, ctx.now())
        result.add(apply_conversation_items(listed, Source.LIST, ctx.now()))
    ctx.run.drift += drift
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
    flag: Callable[[list[str]], int] | None = None,
) -> list[str]:
    """Flag rows a complete pass did not see and Intercom no longer has; return their ids.

    A record can escape a pass without being gone (a conversation updated mid-pass
    jumps to a page already read), so each one is asked for by id first: a 404
    flags it (through `flag` when given), an answer is written. Deletions are rare,
    so this costs little.
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
    flag = flag or (lambda ids: apply_deletion(queryset.model, ids, ctx.now()))
    for start in range(0, len(gone), BATCH):
        ctx.run.deleted += flag(gone[start : start + BATCH])
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
        apply_conversation_details(details, Source.DIRECT, ctx.now())
        ctx.renew_lease()


def store_details(ctx: SyncContext, details: list[dict[str, Any]]) -> None:
    result, drift = apply_conversation_details(details, Source.DIRECT, ctx.now())
    ctx.run.drift += drift
    ctx.record(result, len(details))


# --- resources ---------------------------------------------------------------------


def contacts_full(role: str, resource: str) -> Callable[[SyncContext], None]:
    def full(ctx: SyncContext) -> None:
        scroll(ctx, resource, lambda page: write_contacts(ctx, page))
        if role == Contact.USER:
            gone = flag_vanished(
                ctx, Contact.objects.filter(role=role), ctx.client.get_user, direct_writer(ctx, write_contacts)
            )
            refetch_conversations_of(ctx, gone)
        else:
            # A vanished lead was deleted, converted into a user, or merged into one:
            # merges.resolve_vanished_leads asks the API which.
            flag_vanished(
                ctx,
                Contact.objects.filter(role=role),
                ctx.client.get_lead,
                direct_writer(ctx, write_contacts),
                flag=lambda ids: resolve_vanished_leads(ctx, ids),
            )

    return full


def contacts_incremental(role: str, resource: str, operation: str) -> Callable[[SyncContext, datetime], None]:
    def incremental(ctx: SyncContext, cutoff: datetime) -> None:
        changed: list[dict[str, Any]] = []
        try:
            for page in newest_first(ctx, operation, CONTACT_KEYS[resource], cutoff):
                changed.extend(write_contacts(ctx, page))
        except (NotNewestFirst, BadRequest) as exc:
            # The API ignored sort=updated_at, or refused to page deeper than 10,000
            # records (more changed than that since the last pass): scroll instead.
            ctx.notes.append(f"{operation}: {exc or type(exc).__name__}; fell back to a full pass")
            contacts_full(role, resource)(ctx)
            ctx.did_full = True
            return
        if role == Contact.USER:
            ctx.notes.extend(merges.find_merged_leads(ctx.client, changed))
        reread_companies_of(ctx, changed)
        vanished = Contact.objects.live().filter(role=role).count() - (ctx.total or 0)
        if ctx.total is None or vanished <= 0:
            return
        if role == Contact.LEAD:
            # Leads gone from the list: merges whose user has another email. Ask the
            # users that changed in this window which leads' conversations they hold
            # now (one request per such user), never a rescroll of every lead.
            ctx.notes.extend(merges.find_leads_merged_into_changed_users(ctx.client, cutoff))
            left = Contact.objects.live().filter(role=role).count() - ctx.total
            if left > 0:
                ctx.notes.append(f"{left} leads left Intercom unexplained; the next full pass finds which")
            return
        # Users only leave Intercom by deletion, which a list cannot show: a
        # complete pass flags them (user.deleted webhooks usually got there first).
        ctx.notes.append(f"mirror holds {vanished} more users than Intercom; ran a full pass to flag deletions")
        contacts_full(role, resource)(ctx)
        ctx.did_full = True

    return incremental


def resolve_vanished_leads(ctx: SyncContext, lead_ids: list[str]) -> int:
    gone, found = merges.resolve_vanished_leads(ctx.client, lead_ids)
    ctx.notes.extend(found)
    return gone


def reread_companies_of(ctx: SyncContext, contacts: list[dict[str, Any]]) -> None:
    """Re-read, by id, the companies named by contacts that changed (one request per company).

    A user joining or leaving a company changes the company's `user_count` and
    `updated_at`, and v1 cannot list companies by `updated_at`: without this, the
    figures would wait for the next whole read of companies.
    """
    ids = list(dict.fromkeys(ref_id(c) for p in contacts for c in unwrap(p.get("companies"), "companies")))
    for start in range(0, len(ids), PER_PAGE):
        found = []
        for outcome in fetch_all(ctx.client.get_company, [i for i in ids[start : start + PER_PAGE] if i]):
            if isinstance(outcome, NotFound):
                continue  # the next whole read of companies flags it
            if isinstance(outcome, BaseException):
                raise outcome
            found.append(outcome)
        apply_companies(found, Source.DIRECT, ctx.now(), known_refs=ctx.known_refs)
        ctx.renew_lease()
    if ids:
        ctx.notes.append(f"companies of changed contacts re-read: {len(ids)}")


def direct_writer(ctx: SyncContext, write: Callable) -> Callable[[list[dict[str, Any]]], None]:
    """Return a page writer for answers to reads by id (which outrank list items)."""
    return lambda found: write(ctx, found, Source.DIRECT)


def companies_full(ctx: SyncContext) -> None:
    scroll(ctx, "companies", lambda page: write_companies(ctx, page))
    flag_vanished(ctx, Company.objects.all(), ctx.client.get_company, direct_writer(ctx, write_companies))


def companies_incremental(ctx: SyncContext, cutoff: datetime) -> None:
    """Scroll companies again only when the last whole read is older than SYNC_COMPANIES_MINUTES.

    v1 sorts companies by last_request_at only and pages no deeper than 10,000, so
    there is no newest-first read to stop early on; company.created webhooks, and
    the contacts passes' re-reads of the companies their changed contacts name,
    fill the gap in between.
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
    write_simple(ctx, Admin, [i for i in items if i.get("type", "admin") == "admin"])
    flag_vanished(
        ctx, Admin.objects.all(), ctx.client.get_admin, lambda found: write_simple(ctx, Admin, found, Source.DIRECT)
    )


def teams_full(ctx: SyncContext) -> None:
    write_teams(ctx, ctx.client.list_teams().get("teams") or [])
    flag_vanished(ctx, Team.objects.all(), ctx.client.get_team, direct_writer(ctx, write_teams))


def tags_full(ctx: SyncContext) -> None:
    write_simple(ctx, Tag, ctx.client.list_tags().get("tags") or [])
    flag_vanished(
        ctx,
        Tag.objects.all(),
        lambda i: ctx.client.request("GET", f"/tags/{i}"),
        lambda found: write_simple(ctx, Tag, found, Source.DIRECT),
    )


def segments_full(ctx: SyncContext) -> None:
    people = ctx.client.list_segments().get("segments") or []
    companies = ctx.client.list_segments(type="company").get("segments") or []
    write_simple(ctx, Segment, people + companies)
    flag_vanished(
        ctx,
        Segment.objects.all(),
        ctx.client.get_segment,
        lambda found: write_simple(ctx, Segment, found, Source.DIRECT),
    )


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
    "notes": (notes.notes_full, notes.notes_incremental),
}
