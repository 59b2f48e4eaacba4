"""The companies' reads: one page of the list by keyset, a company with its users and their open conversations.

Every page costs the same number of queries whatever its size: the rows (with
only the columns shown), then one query per related list (tags, segments, open
conversation counts), never one per row.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Prefetch, Q, QuerySet, Window, prefetch_related_objects
from django.db.models.functions import Lower, Substr
from django.http import Http404
from django.utils import timezone

from dashboard.html import safe_url
from dashboard.inbox.queries import ago
from intercom_mirror.models import Company, Contact, Conversation, Segment, StaffAction, Tag

PAGE_SIZE = 50
COUNT_CAP = 10_000  # counts stop here ("more than 10,000"): past it, counting costs more than the page
USERS_PAGE_SIZE = 25
OPEN_CONVERSATIONS = 50  # shown on a company's page, waiting longest first
PLANS_SECONDS = 60  # the plans offered by the list's filter are cached this long
FAILED_SHOWN_FOR = timedelta(days=1)  # a refused tag action stays listed on the company's page this long
SNIPPET_SOURCE = 2000  # characters of a conversation's opening HTML read for its one-line text

LIST_COLUMNS = ("intercom_id", "company_id", "name", "plan", "user_count", "monthly_spend", "last_request_at")
USER_COLUMNS = ("intercom_id", "role", "name", "email", "pseudonym", "user_id", "last_request_at")
TAG_ROWS = Tag.objects.only("intercom_id", "name").order_by("name", "id")
SEGMENT_ROWS = Segment.objects.only("intercom_id", "name").order_by("name", "id")


# --- sorting and the keyset cursor ----------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    """An order over one column (or annotation), then the id in the same direction; NULLs always last.

    The cursor carries the last row's value and id, so a page is read with a
    WHERE on them instead of an OFFSET: page 1,000 costs what page 1 does.
    """

    label: str
    column: str
    descending: bool
    kind: type  # str, int, float or datetime: what a cursor's value must be
    nullable: bool = True

    def order_by(self) -> list:
        if self.descending:
            return [F(self.column).desc(nulls_last=True), F("id").desc()]
        return [F(self.column).asc(nulls_last=True), F("id").asc()]

    def cursor_of(self, row: Any) -> str:
        """Return the cursor that pages on from this row: its sort value and id, as URL-safe text."""
        value = getattr(row, self.column)
        if isinstance(value, datetime):
            value = stamp(value)
        encoded = json.dumps([value, row.pk], ensure_ascii=False, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(encoded).decode().rstrip("=")

    def parse(self, cursor: str) -> tuple[Any, int] | None:
        """Return (value, id) from a cursor, or None when it is junk or does not fit this sort."""
        try:
            value, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            return None
        if not isinstance(pk, int) or isinstance(pk, bool) or value is not None and not self.fits(value):
            return None
        if value is not None and self.kind is datetime:
            value = unstamp(value)
        return value, pk

    def fits(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is float:
            return isinstance(value, int | float)
        if self.kind is datetime:
            return isinstance(value, int) and abs(value) < 10**17
        return isinstance(value, self.kind)

    def rows_after(self, qs: QuerySet, cursor: tuple[Any, int] | None, limit: int) -> list:
        """Return up to limit rows after the cursor (from the start without one), in this order.

        Past a value, the rows are read with a plain range on the column (`<= value`), which
        an index on (column, id) answers by seeking to the cursor; the NULLs, which come last,
        are read by a second query only when those rows do not fill the page.
        """
        ordered = qs.order_by(*self.order_by())
        if cursor is None:
            return list(ordered[:limit])
        value, pk = cursor
        column, tie = self.column, Q(pk__lt=pk) if self.descending else Q(pk__gt=pk)
        if value is None:  # already among the NULLs
            return list(ordered.filter(tie, **{f"{column}__isnull": True})[:limit])
        bound, beyond = ("lte", "lt") if self.descending else ("gte", "gt")
        rows = list(ordered.filter(Q(**{f"{column}__{beyond}": value}) | tie, **{f"{column}__{bound}": value})[:limit])
        if len(rows) < limit and self.nullable:
            rows += ordered.filter(**{f"{column}__isnull": True})[: limit - len(rows)]
        return rows


SORTS = {
    "name": Sort("Name", "name_key", descending=False, kind=str, nullable=False),
    "users": Sort("Most users", "user_count", descending=True, kind=int),
    "spend": Sort("Highest monthly spend", "monthly_spend", descending=True, kind=float),
    "last_seen": Sort("Last seen", "last_request_at", descending=True, kind=datetime),
}
USERS_SORT = Sort("Last seen", "last_request_at", descending=True, kind=datetime)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stamp(value: datetime) -> int:
    """Return a timestamp as whole microseconds since the epoch (exact, unlike a float)."""
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def unstamp(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    total: int  # at most COUNT_CAP + 1

    @property
    def total_text(self) -> str:
        """Return the count for a heading: "1,234", or "more than 10,000" past the cap."""
        return f"more than {COUNT_CAP:,}" if self.total > COUNT_CAP else f"{self.total:,}"


def capped_count(qs: QuerySet) -> int:
    """Count the rows, stopping past COUNT_CAP: an exact count reads every matching row, however many."""
    return qs.order_by()[: COUNT_CAP + 1].count()


def page_of(qs: QuerySet, sort: Sort, cursor: str, size: int, total: int) -> Page:
    """Return the rows after the cursor (keyset: no OFFSET); one row more is read to know whether a next page exists."""
    rows = sort.rows_after(qs, sort.parse(cursor) if cursor else None, size + 1)
    next_cursor = sort.cursor_of(rows[size - 1]) if len(rows) > size else None
    return Page(rows=rows[:size], next_cursor=next_cursor, total=total)


# --- the list -----------------------------------------------------------------------------------


def matching(q: str = "", tag: str = "", segment: str = "", plan: str = "") -> QuerySet[Company]:
    """Return the live companies whose name or company_id starts with q, with the tag, segment and plan given."""
    qs = Company.objects.live()
    if q:
        qs = qs.filter(Q(name__istartswith=q) | Q(company_id__istartswith=q))
    if tag:
        qs = qs.filter(tags__intercom_id=tag)  # one tag per intercom id: the join adds no duplicates
    if segment:
        qs = qs.filter(segments__intercom_id=segment)
    if plan:
        qs = qs.filter(plan=plan)
    return qs


def company_page(filters: dict[str, str]) -> Page:
    """Return one page of the list, each row with its tags (read in one query for the page)."""
    qs = matching(filters["q"], filters["tag"], filters["segment"], filters["plan"])
    rows = qs.only(*LIST_COLUMNS).annotate(name_key=Lower("name"))
    page = page_of(rows, SORTS[filters["sort"]], filters["after"], PAGE_SIZE, capped_count(qs))
    prefetch_related_objects(page.rows, Prefetch("tags", queryset=TAG_ROWS.filter(deleted_at__isnull=True)))
    since(page.rows, "last_request_at", "seen_ago")
    return page


def since(rows: list, column: str, attribute: str) -> None:
    """Set attribute on each row to how long ago its column's moment was ("3 d"), or "" when it has none."""
    now = timezone.now()
    for row in rows:
        moment = getattr(row, column)
        setattr(row, attribute, ago(moment, now) if moment else "")


def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """Return the (value, label) choices of the list's tag, segment and plan filters."""
    plans = cache.get("companies-plans")
    if plans is None:  # a scan of the companies: cached, the filter can lag a minute behind a new plan
        rows = Company.objects.live().exclude(plan="").order_by("plan").values_list("plan", flat=True).distinct()
        plans = list(rows)
        cache.set("companies-plans", plans, PLANS_SECONDS)
    return {
        "tags": [(t.intercom_id, t.name) for t in TAG_ROWS.filter(deleted_at__isnull=True)],
        "segments": [(s.intercom_id, s.name) for s in SEGMENT_ROWS.filter(deleted_at__isnull=True)],
        "plans": [(p, p) for p in plans],
    }


# --- one company ---------------------------------------------------------------------------------


def get_company(intercom_id: str) -> Company:
    """Return the live company with its tags and segments (one query each), or 404."""
    company = Company.objects.live().defer("raw").filter(intercom_id=intercom_id).first()
    if company is None:
        raise Http404("No such company in the mirror.")
    prefetch_related_objects(
        [company],
        Prefetch("tags", queryset=TAG_ROWS.filter(deleted_at__isnull=True)),
        Prefetch("segments", queryset=SEGMENT_ROWS.filter(deleted_at__isnull=True)),
    )
    return company


def company_tags(company: Company) -> list[Tag]:
    """Return the company's live tags, by name, read afresh (after a tag action)."""
    return list(TAG_ROWS.filter(deleted_at__isnull=True, companies=company))


def users_page(company: Company, cursor: str = "") -> Page:
    """Return a page of the company's users, last seen first, each with its count of open conversations."""
    qs = Contact.objects.live().filter(companies=company)
    page = page_of(qs.only(*USER_COLUMNS), USERS_SORT, cursor, USERS_PAGE_SIZE, capped_count(qs))
    counts = dict(
        Conversation.objects.live()
        .filter(state=Conversation.OPEN, customer_id__in=[u.intercom_id for u in page.rows])
        .values("customer_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("customer_id", "n")
    )
    for user in page.rows:
        user.open_count = counts.get(user.intercom_id, 0)
    since(page.rows, "last_request_at", "seen_ago")
    return page


def open_conversations(company: Company) -> tuple[list[Conversation], int]:
    """Return the open conversations of the company's users (waiting longest first, at most 50) and their count."""
    qs = Conversation.objects.live().filter(
        state=Conversation.OPEN, customer__deleted_at__isnull=True, customer__companies=company
    )
    rows = (
        qs.select_related("customer", "assignee_admin", "assignee_team")
        .only(
            "intercom_id",
            "subject",
            "waiting_since",
            "updated_at",
            "customer__intercom_id",
            "customer__name",
            "customer__email",
            "customer__pseudonym",
            "customer__user_id",
            "customer__role",
            "assignee_admin__name",
            "assignee_admin__email",
            "assignee_admin__intercom_id",
            "assignee_team__name",
            "assignee_team__intercom_id",
        )  # fmt: skip
        .annotate(head=Substr("body", 1, SNIPPET_SOURCE), total=Window(Count("pk")))
        .order_by(F("waiting_since").asc(nulls_last=True), F("updated_at").desc(nulls_last=True), "id")
    )
    conversations = list(rows[:OPEN_CONVERSATIONS])  # each carries the count of all of them (one query)
    since(conversations, "waiting_since", "waited")
    return conversations, conversations[0].total if conversations else 0


def pending_tag_actions(company: Company) -> list[StaffAction]:
    """Return the company's tag actions Intercom has not done: waiting to be sent, or refused in the last day."""
    recently_failed = Q(state=StaffAction.FAILED, created_at__gte=timezone.now() - FAILED_SHOWN_FOR)
    return list(
        StaffAction.objects.filter(Q(state__in=StaffAction.OPEN_STATES) | recently_failed)
        .filter(target_type="company", target_intercom_id=company.intercom_id, verb__in=("tag", "untag"))
        .order_by("created_at", "id")[:20]
    )


# --- custom attributes, typed -------------------------------------------------------------------

# Intercom stores a date attribute as a Unix timestamp; its name is the only sign of it in a payload.
DATE_NAME = re.compile(r"(?:^|_)(?:at|date|on|time|day)$|(?:^|_)date(?:_|$)", re.IGNORECASE)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
TIMESTAMP_RANGE = range(315_532_800, 4_102_444_800)  # 1980 to 2100, in seconds
MAX_TEXT = 500


@dataclass(frozen=True)
class Attribute:
    """One custom attribute ready to show: its kind decides the markup, the template escapes the text."""

    name: str
    kind: str  # "date", "datetime", "url", "bool", "number", "text" or "json"
    value: Any


def typed_attributes(attributes: Any) -> list[Attribute]:
    """Return custom attributes sorted by name, each typed: dates as dates, http(s) URLs as links."""
    if not isinstance(attributes, dict):
        return []
    rows = []
    for name, value in sorted(attributes.items(), key=lambda item: str(item[0]).lower()):
        if value is None or value == "":
            continue
        rows.append(typed(str(name)[:MAX_TEXT], value))
    return rows


def typed(name: str, value: Any) -> Attribute:
    if isinstance(value, bool):
        return Attribute(name, "bool", value)
    if isinstance(value, int | float):
        if DATE_NAME.search(name) and int(value) in TIMESTAMP_RANGE:
            return Attribute(name, "datetime", datetime.fromtimestamp(int(value), tz=UTC))
        return Attribute(name, "number", value)
    if isinstance(value, str):
        text = value.strip()
        if ISO_DATE.fullmatch(text):
            return iso_attribute(name, text)
        if safe_url(text) and " " not in text:
            return Attribute(name, "url", text)
        return Attribute(name, "text", value[:MAX_TEXT])
    return Attribute(name, "json", json.dumps(value, ensure_ascii=False)[:MAX_TEXT])


def iso_attribute(name: str, text: str) -> Attribute:
    """Return an ISO 8601 date (or date and time) as a date; text when it does not parse."""
    try:
        if len(text) == 10:
            return Attribute(name, "date", date.fromisoformat(text))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return Attribute(name, "text", text)
    return Attribute(name, "datetime", moment if moment.tzinfo else moment.replace(tzinfo=UTC))
