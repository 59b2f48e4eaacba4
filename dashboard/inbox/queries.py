"""The inbox's reads: folders and their counts, one page of a folder by keyset, and what each row shows.

A page costs the same number of queries whatever its size: the rows with their
customer, assignee and last message (a Subquery annotation), then one query for
all their tags and one for who is viewing them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import nh3
from django.core.cache import cache
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, prefetch_related_objects
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone

from dashboard.counts import count_capped
from intercom_mirror.models import Admin, Conversation, ConversationPart, ConversationViewer, Team
from intercom_mirror.search.queries import conversation_filter
from intercom_mirror.search.query import parse

PAGE_SIZE = 50
SNIPPET_LENGTH = 120
SNIPPET_SOURCE = 4000  # characters of HTML read for a snippet: enough text, without loading huge bodies
COUNTS_SECONDS = 5  # folder counts are cached this long (for everyone): the folders poll every 10 s
TEAMS_SECONDS = 60  # the teams' names, for the folders
VIEWER_SECONDS = 30  # a presence row older than this no longer counts as viewing
# A list's count stops here ("more than 10,000"), as the contacts' and companies' do: an exact count of
# All's 160,000 closed conversations of 200,000 read every one of them (40 ms), on every page and poll.
COUNT_CAP = 10_000
# With the search box, a page tests at most this many of the folder's conversations, in the folder's order, and
# says how far it got: words that are each common but rarely together would otherwise test the whole folder
# (measured on bench/pages.py's fill: 11-24 s for one page).
SEARCH_STRETCH = 2_000

BLOCK_TAG = re.compile(r"<(?=/?(?:p|div|li|br|tr|td|th|h[1-6]|ul|ol|blockquote|pre|table)\b)", re.IGNORECASE)
STATES = (Conversation.OPEN, Conversation.SNOOZED, Conversation.CLOSED)


# --- folders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Folder:
    slug: str
    name: str
    count: int | None = None


def folder_filter(slug: str, admin: Admin | None) -> tuple[str, Q]:
    """Return the folder's name and the condition its conversations meet; 404 for an unknown folder."""
    if slug == "mine":
        return "Your inbox", Q(assignee_admin_id=admin.intercom_id) if admin else Q(pk__in=[])
    if slug == "unassigned":
        return "Unassigned", Q(assignee_admin_id__isnull=True, assignee_team_id__isnull=True)
    if slug == "all":
        return "All", Q()
    if slug.startswith("team-"):
        team_id = slug.removeprefix("team-")
        name = dict(teams()).get(team_id)
        if name is None:  # a team newer than the cached list
            team = Team.objects.live().filter(intercom_id=team_id).first()
            name = team and (team.name or f"Team {team_id}")
        if name:
            return name, Q(assignee_team_id=team_id)
    raise Http404("No such folder")


def folders(admin: Admin | None) -> list[Folder]:
    """Return every folder with its count of open conversations (counts cached a few seconds, teams a minute)."""
    groups = cache.get("inbox-open-groups")
    if groups is None:
        groups = open_groups()
        cache.set("inbox-open-groups", groups, COUNTS_SECONDS)
    counts = folder_counts(groups, admin)
    result = [Folder(slug, name, counts.get(slug, 0)) for slug, name in FIXED_FOLDERS]
    result += [Folder(f"team-{team_id}", name, counts.get(f"team-{team_id}", 0)) for team_id, name in teams()]
    return result


FIXED_FOLDERS = [("mine", "Your inbox"), ("unassigned", "Unassigned"), ("all", "All")]


def teams() -> list[tuple[str, str]]:
    """Return (intercom id, name) of every live team, by name (cached for a minute)."""
    result = cache.get("inbox-teams")
    if result is None:
        rows = Team.objects.live().order_by("name", "id").values_list("intercom_id", "name")
        result = [(team_id, name or f"Team {team_id}") for team_id, name in rows]
        cache.set("inbox-teams", result, TEAMS_SECONDS)
    return result


def open_groups() -> list[tuple[str | None, str | None, int]]:
    """Count open conversations by (team, admin) in one grouped query: every folder's count is a sum of these."""
    rows = (
        Conversation.objects.live()
        .filter(state=Conversation.OPEN)
        .values_list("assignee_team_id", "assignee_admin_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return list(rows)


def folder_counts(groups: list[tuple[str | None, str | None, int]], admin: Admin | None) -> dict[str, int]:
    """Return each folder's open count from the (team, admin) groups."""
    counts = {"mine": 0, "unassigned": 0, "all": 0}
    for team_id, admin_id, n in groups:
        counts["all"] += n
        if admin is not None and admin_id == admin.intercom_id:
            counts["mine"] += n
        if team_id is None and admin_id is None:
            counts["unassigned"] += n
        if team_id is not None:
            counts[f"team-{team_id}"] = counts.get(f"team-{team_id}", 0) + n
    return counts


# --- sorting and the keyset cursor ----------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    """An order over nullable timestamp columns, then the id.

    Descending columns put NULLs first and ascending ones put them last: the
    default order of a plain B-tree index on PostgreSQL, so the indexes serve it.
    """

    label: str
    columns: tuple[str, ...]
    descending: bool

    def order_by(self) -> list:
        if self.descending:
            return [*(F(c).desc(nulls_first=True) for c in self.columns), F("id").desc()]
        return [*(F(c).asc(nulls_last=True) for c in self.columns), F("id").asc()]

    def cursor_of(self, row: Conversation) -> str:
        """Return the cursor that pages on from this row (its sort values and id)."""
        values = [stamp(getattr(row, c)) for c in self.columns]
        return "_".join([*values, str(row.pk)])

    def parse(self, cursor: str) -> tuple[list[datetime | None], int] | None:
        """Return (column values, id) from a cursor, or None when it does not fit this sort."""
        parts = (cursor or "").split("_")
        if len(parts) != len(self.columns) + 1:
            return None
        try:
            return [unstamp(p) for p in parts[:-1]], int(parts[-1])
        except (ValueError, OverflowError, OSError):
            return None

    def after(self, values: list[datetime | None], pk: int, depth: int = 0) -> Q:
        """Return the condition for rows strictly after (values, pk) in this order (from column `depth` on)."""
        condition = Q(pk__lt=pk) if self.descending else Q(pk__gt=pk)
        for column, value in reversed(list(zip(self.columns[depth:], values[depth:], strict=True))):
            condition = self.beyond(column, value) | (self.equal(column, value) & condition)
        return condition

    def ranges_after(self, values: list[datetime | None], pk: int, depth: int = 0) -> list[Q]:
        """Return the conditions, in order, of the index ranges holding the rows after (values, pk).

        Each bounds a column of the index, so that the database starts reading at
        the cursor instead of filtering every row before it. The NULLs of a column
        are a range of their own: last in an ascending sort, first in a descending one.
        """
        column, value = self.columns[depth], values[depth]
        null = Q(**{f"{column}__isnull": True})
        if value is None:
            if depth + 1 < len(self.columns):  # among the NULLs the next column orders: bound it the same way
                within = [null & r for r in self.ranges_after(values, pk, depth + 1)]
            else:
                within = [null & self.after(values, pk, depth)]
            return within + ([~null] if self.descending else [])
        after = self.after(values, pk, depth)
        if self.descending:
            return [after & Q(**{f"{column}__lte": value})]
        return [after & Q(**{f"{column}__gte": value}), null]

    def up_to(self, first: Conversation, last: Conversation) -> Q:
        """Return a bound on the first column that holds every row from first to last in this order.

        It lets the database stop reading the sort's index at the last row: given only a list of
        ids, it read a folder's whole index to find none of them (160,000 rows, 620 ms). No bound
        when NULLs are among the rows (first in a descending sort, last in an ascending one).
        """
        column = self.columns[0]
        start, end = getattr(first, column), getattr(last, column)
        if start is None or end is None:
            return Q()
        return Q(**{f"{column}__gte" if self.descending else f"{column}__lte": end})

    def beyond(self, column: str, value: datetime | None) -> Q:
        """Rows whose column alone puts them after value."""
        if self.descending:  # NULLs first, then newest to oldest
            return Q(**{f"{column}__isnull": False}) if value is None else Q(**{f"{column}__lt": value})
        if value is None:  # NULLs last: nothing comes after them
            return Q(pk__in=[])
        return Q(**{f"{column}__gt": value}) | Q(**{f"{column}__isnull": True})

    @staticmethod
    def equal(column: str, value: datetime | None) -> Q:
        return Q(**{f"{column}__isnull": True}) if value is None else Q(**{column: value})


SORTS = {
    "latest": Sort("Latest activity", ("updated_at",), descending=True),
    "waiting": Sort("Waiting longest", ("waiting_since", "created_at"), descending=False),
    "newest": Sort("Newest", ("created_at",), descending=True),
    "oldest": Sort("Oldest", ("created_at",), descending=False),
}


def stamp(value: datetime | None) -> str:
    """Return a timestamp as whole microseconds since the epoch ("n" for None), for a URL."""
    if value is None:
        return "n"
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return str((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)


def unstamp(text: str) -> datetime | None:
    if text == "n":
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(text))


# --- one page of rows ------------------------------------------------------------------------


@dataclass
class Page:
    rows: list[Conversation]
    next_cursor: str | None
    total: int  # at most COUNT_CAP
    more: bool = False  # more than `total` match (the count stopped at COUNT_CAP)
    searched: int = 0  # with the search box, when the page's stretch stopped short of the folder's end: its size

    @property
    def total_text(self) -> str:
        """Return the count for the list: "1,234", "more than 10,000" past the cap, or "12 of the next 2,000"."""
        count = f"more than {self.total:,}" if self.more else f"{self.total:,}"
        return f"{count} of the next {self.searched:,}" if self.searched else count


def matching(folder_q: Q, state: str, q: str = "", *, user=None) -> QuerySet[Conversation]:
    """Return the live conversations of a folder in a state, narrowed by the search box.

    The box speaks the search page's language (words by prefix, "phrases", -word, from:, tag:,
    assignee:, before:, after:) over subjects and every part; plain words also match the start of
    the customer's name or email, which is what people type to find someone's conversation.
    """
    qs = Conversation.objects.live().filter(folder_q, state=state)
    if not q:
        return qs
    query = parse(q)
    found = Q(conversation_filter(query, user=user))
    if query.terms and not (query.excluded or query.conversation_filters or query.tags or query.excluded_tags):
        found |= Q(customer__name__istartswith=q) | Q(customer__email__istartswith=q)
    return qs.filter(found)


def page_of(
    qs: QuerySet[Conversation],
    sort: Sort,
    cursor: str = "",
    size: int = PAGE_SIZE,
    *,
    user=None,
    folder: QuerySet[Conversation] | None = None,
) -> Page:
    """Return one page of rows after the cursor (keyset: no OFFSET), decorated for display.

    One query for the rows, or two when the page crosses from the rows with a value
    into the NULLs of a column (see Sort.ranges_after). With the search box, `folder` is
    the folder unsearched: see searched_page.
    """
    if folder is not None:
        return searched_page(qs, folder, sort, cursor, size, user=user)
    rows = rows_after(qs, sort, cursor, size)
    next_cursor = sort.cursor_of(rows[size - 1]) if len(rows) > size else None
    rows = rows[:size]
    decorate(rows, user)
    total, more = count_capped(qs, COUNT_CAP)
    return Page(rows=rows, next_cursor=next_cursor, total=total, more=more)


def rows_after(
    qs: QuerySet[Conversation], sort: Sort, cursor: str, size: int, *, only: tuple[str, ...] = ()
) -> list[Conversation]:
    """Return up to size + 1 rows after the cursor in the sort's order (with the row data, or `only` these fields)."""
    ordered = qs.order_by(*sort.order_by())
    ordered = ordered.only(*only) if only else with_row_data(ordered)
    parsed = sort.parse(cursor)
    rows: list[Conversation] = []
    for condition in sort.ranges_after(*parsed) if parsed else [Q()]:
        rows += ordered.filter(condition)[: size + 1 - len(rows)]
        if len(rows) > size:
            break
    return rows


def searched_page(
    qs: QuerySet[Conversation], folder: QuerySet[Conversation], sort: Sort, cursor: str, size: int, *, user=None
) -> Page:
    """Return one page of the search box's matches among the next SEARCH_STRETCH conversations of the folder.

    The stretch's ids are read first (an index range in the folder's order); the matches are
    then the page's rows among them. When fewer than a page match, the next cursor is the
    stretch's end, and the page says how many it searched. The count is the page's ("more
    than 50" when it is full) unless the stretch reaches the folder's end.
    """
    stretch = rows_after(folder, sort, cursor, SEARCH_STRETCH, only=("pk", *sort.columns))
    goes_on, stretch = len(stretch) > SEARCH_STRETCH, stretch[:SEARCH_STRETCH]
    within = qs.filter(pk__in=[row.pk for row in stretch])
    if stretch:
        within = within.filter(sort.up_to(stretch[0], stretch[-1]))
    rows = rows_after(within, sort, cursor, size)
    # Each match counted is a conversation tested: the page's rows say it ("more than 50") unless the stretch holds
    # the rest of the folder, which is then counted (at most SEARCH_STRETCH tests, as the page's own worst case).
    total, more = min(len(rows), size), len(rows) > size
    if more and not goes_on:
        total, more = count_capped(within, SEARCH_STRETCH)
    if len(rows) > size:
        next_cursor, searched = sort.cursor_of(rows[size - 1]), 0
    elif goes_on:  # the next page searches on from the stretch's end
        next_cursor, searched = sort.cursor_of(stretch[-1]), SEARCH_STRETCH
    else:
        next_cursor, searched = None, 0
    rows = rows[:size]
    decorate(rows, user)
    return Page(rows=rows, next_cursor=next_cursor, total=total, more=more, searched=searched)


UNSHOWN = ("raw", "customer__raw", "customer__custom_attributes", "assignee_admin__raw", "assignee_team__raw")


def with_row_data(qs: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Join the customer and the assignee, and read the last message's body in the same query."""
    last_part = (
        ConversationPart.objects.live()
        .filter(conversation_id=OuterRef("pk"))
        .exclude(body="")
        .order_by("-created_at", "-id")
    )
    # The raw payloads (a conversation's, its customer's, the assignee's) are never shown in a row: left
    # out, the rows query moves and decodes a fraction of the bytes.
    return (
        qs.select_related("customer", "assignee_admin", "assignee_team")
        .defer(*UNSHOWN)
        .annotate(
            last_body=Subquery(last_part.annotate(head=Substr("body", 1, SNIPPET_SOURCE)).values("head")[:1]),
            last_part_type=Subquery(last_part.values("part_type")[:1]),
        )
    )


def decorate(rows: list[Conversation], user=None, now: datetime | None = None) -> None:
    """Set each row's snippet, waiting time and viewers (other than user); fetch all rows' tags in one query."""
    now = now or timezone.now()
    prefetch_related_objects(rows, "tags")
    viewers = viewers_of([r.intercom_id for r in rows], now, user)
    for row in rows:
        row.snippet = snippet(row.last_body if row.last_body is not None else row.body[:SNIPPET_SOURCE])
        row.snippet_is_note = row.last_part_type == "note"
        row.waited = ago(row.waiting_since, now) if row.waiting_since else ""
        row.active = ago(row.updated_at, now) if row.updated_at else ""
        row.viewers = viewers.get(row.intercom_id, [])


def viewers_of(conversation_ids: list[str], now: datetime, user=None) -> dict[str, list[str]]:
    """Return who else had each conversation open in the last few seconds (names, by conversation id)."""
    seen = (
        ConversationViewer.objects.filter(
            conversation_intercom_id__in=conversation_ids, seen_at__gte=now - timedelta(seconds=VIEWER_SECONDS)
        )
        .exclude(user_id=getattr(user, "pk", None))
        .select_related("user")
        .order_by("seen_at")
    )
    result: dict[str, list[str]] = {}
    for row in seen:
        result.setdefault(row.conversation_intercom_id, []).append(row.user.get_full_name() or row.user.get_username())
    return result


def snippet(body: str, limit: int = SNIPPET_LENGTH) -> str:
    """Return the visible text of an HTML body, whitespace collapsed, cut to about limit characters."""
    spaced = BLOCK_TAG.sub(" <", body or "")  # "<li>Log out</li><li>Clear" reads "Log out Clear", not "Log outClear"
    text = " ".join(html.unescape(nh3.clean(spaced, tags=set())).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def ago(moment: datetime, now: datetime) -> str:
    """Return a short duration since moment: "40 s", "5 min", "3 h", "2 d"."""
    seconds = max(int((now - moment).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def assignees() -> list[tuple[str, str]]:
    """Return the (value, label) choices for assigning: Unassigned, each team, each admin."""
    teams_ = [(team_id, f"Team: {name}") for team_id, name in teams()]
    admins = [(a.intercom_id, str(a)) for a in Admin.objects.live().order_by("name", "id")]
    return [("0", "Unassigned"), *teams_, *admins]
