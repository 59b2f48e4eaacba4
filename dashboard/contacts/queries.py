"""The contacts list's reads: filters, search, sorts, one keyset page, and what each row shows.

A page costs the same number of queries whatever its size: a capped count, the
rows (with their open conversations counted by one correlated subquery), and one
query each for all the rows' companies and tags.

Keyset paging, no OFFSET: each sort is one nullable key plus the id. Contacts
with no value for the key (never seen, no name) come last, so a page is read in
up to two phases: the rows with a value after the cursor, bounded by `key <= v`
(or `>=`) so that PostgreSQL starts its index scan at the cursor; then, once those
run out, the rows without a value, by id. Each phase is served by one index of
migration 0005 (`contact_live_seen`, `contact_live_created`, `contact_live_name`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from dashboard.counts import count_capped
from intercom_mirror.models import Company, Contact, Conversation, Segment, Tag

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
COUNT_CAP = 10_000  # counted exactly up to here; beyond, the page says "more than 10,000"
ROLES = ("all", "user", "lead")
SEEN = {"7": 7, "30": 30, "90": 90}  # seen within the last n days; "never": no last seen


# --- filters and search ---------------------------------------------------------------------


@dataclass
class Filters:
    role: str = "all"
    q: str = ""
    tag: str = ""  # a tag's Intercom id
    segment: str = ""  # a segment's Intercom id
    company: str = ""  # a company's Intercom id, company_id or name
    seen: str = ""  # "7" | "30" | "90" | "never" | ""
    sort: str = "last_seen"
    size: int = DEFAULT_PAGE_SIZE
    cursor: str = ""
    company_row: Company | None = field(default=None, compare=False)

    def query(self, **changes: Any) -> dict[str, str]:
        """Return the list's query parameters (defaults left out), with changes applied."""
        values = {
            "role": self.role,
            "q": self.q,
            "tag": self.tag,
            "segment": self.segment,
            "company": self.company,
            "seen": self.seen,
            "sort": self.sort,
            "size": str(self.size),
            "cursor": self.cursor,
            **changes,
        }
        defaults = {"role": "all", "sort": "last_seen", "size": str(DEFAULT_PAGE_SIZE)}
        return {k: str(v) for k, v in values.items() if v not in ("", None) and str(v) != defaults.get(k)}


def search(qs: QuerySet[Contact], q: str) -> QuerySet[Contact]:
    """Return contacts whose email, name or user_id starts with q, case-insensitively.

    Written as LOWER(column) LIKE 'q%' (not Django's istartswith, which is UPPER(...) on
    PostgreSQL) so that the pattern-ops indexes on LOWER(email|name|user_id) serve it.
    """
    prefix = q.strip().lower()
    if not prefix:
        return qs
    return qs.alias(q_email=Lower("email"), q_name=Lower("name"), q_user_id=Lower("user_id")).filter(
        Q(q_email__startswith=prefix) | Q(q_name__startswith=prefix) | Q(q_user_id__startswith=prefix)
    )


def resolve_company(text: str) -> Company | None:
    """Return the company a filter names: by Intercom id, company_id, or exact name (any case)."""
    text = text.strip()
    if not text:
        return None
    found = Company.objects.live().filter(Q(intercom_id=text) | Q(company_id=text) | Q(name__iexact=text))
    return found.order_by("-user_count", "id").first()


def matching(filters: Filters, now: datetime | None = None) -> QuerySet[Contact]:
    """Return the live contacts the filters select (unordered)."""
    qs = Contact.objects.live()
    if filters.role in (Contact.USER, Contact.LEAD):
        qs = qs.filter(role=filters.role)
    qs = search(qs, filters.q)
    # The tag's and segment's own keys are read first: filtered on a constant, the planner reads the
    # link table through its index with that value's statistics (through a join on the Intercom id
    # it scanned all 650,000 tag links of a million contacts, 90 ms, for a tag of 4,800).
    if filters.tag:
        tag = Tag.objects.filter(intercom_id=filters.tag).values_list("pk", flat=True).first()
        qs = qs.filter(tags=tag) if tag else qs.none()
    if filters.segment:
        segment = Segment.objects.filter(intercom_id=filters.segment).values_list("pk", flat=True).first()
        qs = qs.filter(segments=segment) if segment else qs.none()
    if filters.company:
        company = filters.company_row
        qs = qs.filter(companies=company.pk) if company else qs.none()
    if filters.seen == "never":
        qs = qs.filter(last_request_at__isnull=True)
    elif filters.seen in SEEN:
        qs = qs.filter(last_request_at__gte=(now or timezone.now()) - timedelta(days=SEEN[filters.seen]))
    return qs


# --- sorting and the keyset cursor ----------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    """One nullable key, then the id; rows without a value for the key come last."""

    label: str
    column: str
    descending: bool
    blank: Any = None  # the value that counts as "none" besides NULL ("" for names)

    def has_value(self) -> Q:
        if self.blank is None:
            return Q(**{f"{self.column}__isnull": False})
        return Q(**{f"{self.column}__gt": self.blank})  # "" sorts before every other string

    def no_value(self) -> Q:
        if self.blank is None:
            return Q(**{f"{self.column}__isnull": True})
        return Q(**{self.column: self.blank})

    def order_by(self, *, unindexed: bool = False) -> list:
        """Return the ORDER BY; for a few matches, in a form no index provides (see `Unindexed`)."""
        key = Unindexed(F(self.column)) if unindexed else F(self.column)
        return [key.desc() if self.descending else key.asc(), F("id").desc() if self.descending else F("id").asc()]

    def after(self, value: Any, pk: int) -> Q:
        """Return the rows with a value that come after (value, pk), bounded so an index scan starts there."""
        op, bound = ("lt", "lte") if self.descending else ("gt", "gte")
        col = self.column
        return Q(**{f"{col}__{bound}": value}) & (Q(**{f"{col}__{op}": value}) | Q(**{col: value, f"id__{op}": pk}))

    def ids_after(self, pk: int) -> Q:
        return Q(**{f"id__{'lt' if self.descending else 'gt'}": pk})


class Unindexed(Func):
    """The column's own value, in a form that no index can provide in order.

    PostgreSQL may walk a sort index and test each row against the filters until it
    has a page: quick when many rows match, a scan of the whole table (seconds at a
    million contacts) when few do, or when the matches sit at the index's far end (a
    tag whose contacts were never seen). For a few matches (the capped count says so)
    ordering by this makes it read them through the filters' own indexes (LOWER()
    prefixes, tag, segment, company links) and sort them instead. `x || ''` and
    `x + interval '0'` are not folded away by the planner; SQLite's unary plus is its
    documented way to say the same.
    """

    template = "(%(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(+%(expressions)s)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        text = self.output_field.get_internal_type() in ("CharField", "TextField")
        template = "(%(expressions)s || '')" if text else "(%(expressions)s + interval '0')"
        return self.as_sql(compiler, connection, template=template, **extra)


SORTS = {
    "last_seen": Sort("Last seen", "last_request_at", descending=True),
    "created": Sort("Newest", "created_at", descending=True),
    "name": Sort("Name (A–Z)", "name", descending=False, blank=""),
}


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the key's value (None: in the rows without one) and the id."""

    value: Any
    pk: int

    def encode(self, sort: Sort) -> str:
        value = self.value
        if isinstance(value, datetime):
            value = int((value - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
        raw = json.dumps([value, self.pk], separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: Sort) -> Cursor | None:
        """Return the cursor a URL carries, or None when it is not one of this sort's."""
        try:
            value, pk = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, TypeError):
            return None
        if not isinstance(pk, int) or isinstance(pk, bool):
            return None
        if value is None:
            return cls(None, pk)
        if sort.blank is None and isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value), pk)
            except OverflowError:
                return None
        if sort.blank is not None and isinstance(value, str) and value:
            return cls(value, pk)
        return None


def cursor_of(row: Contact, sort: Sort) -> Cursor:
    value = getattr(row, sort.column)
    return Cursor(None if value == sort.blank or value is None else value, row.pk)


# --- one page of rows ------------------------------------------------------------------------


@dataclass
class Page:
    rows: list[Contact]
    next_cursor: str
    total: int
    more: bool  # more than `total` match (the count stopped at COUNT_CAP)


def open_conversations() -> Subquery:
    """Count a contact's open conversations: one correlated subquery, served by the customer_id index."""
    per_customer = (
        Conversation.objects.live()
        .filter(customer_id=OuterRef("intercom_id"), state=Conversation.OPEN)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(per_customer, output_field=IntegerField()), Value(0))


ROW_FIELDS = (
    "id",
    "intercom_id",
    "role",
    "name",
    "email",
    "user_id",
    "pseudonym",
    "avatar_url",
    "last_request_at",
    "created_at",
)


def page_of(qs: QuerySet[Contact], sort: Sort, cursor_text: str = "", size: int = DEFAULT_PAGE_SIZE) -> Page:
    """Return one page of rows after the cursor (keyset, in at most two phases), decorated for display.

    The capped count goes first and chooses the plan: up to COUNT_CAP matches are read
    through the filters' own indexes and sorted (`Unindexed`); more are found soon
    enough by walking the sort's index.
    """
    total, more = count_capped(qs, COUNT_CAP)
    if not total:
        return Page(rows=[], next_cursor="", total=0, more=False)
    cursor = Cursor.decode(cursor_text, sort) if cursor_text else None
    order = sort.order_by(unindexed=not more)
    rows_qs = qs.only(*ROW_FIELDS).annotate(open_count=open_conversations()).order_by(*order)
    rows: list[Contact] = []
    if cursor is None or cursor.value is not None:
        with_value = rows_qs.filter(sort.has_value())
        if cursor is not None:
            with_value = with_value.filter(sort.after(cursor.value, cursor.pk))
        rows = list(with_value[: size + 1])
    if len(rows) <= size:  # the rows with a value ran out: go on with the rows without one
        without = rows_qs.filter(sort.no_value())
        if cursor is not None and cursor.value is None:
            without = without.filter(sort.ids_after(cursor.pk))
        rows += list(without[: size + 1 - len(rows)])
    next_cursor = cursor_of(rows[size - 1], sort).encode(sort) if len(rows) > size else ""
    rows = rows[:size]
    prefetch_related_objects(
        rows,  # names only: a company's or tag's raw payload is large, and never shown here
        Prefetch("companies", queryset=Company.objects.only("intercom_id", "name", "company_id").order_by("name")),
        Prefetch("tags", queryset=Tag.objects.only("intercom_id", "name").order_by("name")),
    )
    return Page(rows=rows, next_cursor=next_cursor, total=total, more=more)


def matching_ids(qs: QuerySet[Contact], sort: Sort, limit: int) -> list[str]:
    """Return the Intercom ids of the matching contacts in the list's order, at most limit of them."""
    return list(qs.order_by(*sort.order_by()).values_list("intercom_id", flat=True)[:limit])
