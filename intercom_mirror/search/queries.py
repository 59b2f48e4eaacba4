"""Searching the mirror: conversations, contacts and companies, ranked, highlighted, paged by keyset.

A word must match somewhere in the record, not all in one entry: in a
conversation, "refund stripe" finds the thread where the customer wrote one and
an admin the other. Each positive term is a set of record ids (entries that
match it, plus records carrying a tag whose name matches it); the results are
their intersection minus the records matching an excluded term, filtered, then
ranked by their best-matching entry (`ts_rank` on PostgreSQL, bm25 on SQLite)
and paged by (rank, id). Deleted records are left out by joining the live rows.
"""

# SQL is built from quoted identifiers, integers read from the database and constants; every value
# from a query is a parameter (see backends.py).
# ruff: noqa: S608, S611

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Model
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from intercom_mirror.models import Admin, Company, Contact, Conversation, Note, Tag, Team
from intercom_mirror.search import backends
from intercom_mirror.search.backends import ENTRY, contains, either, like_pattern, matching, phrase
from intercom_mirror.search.models import SearchEntry
from intercom_mirror.search.query import Query, Term, parse
from intercom_mirror.search.text import fold, plain_text, shown, words

CONVERSATION_KINDS = (SearchEntry.CONVERSATION, SearchEntry.PART)
# Estimated matching entries above which conversations come newest first instead of ranked (Search.walking).
RANK_AT_MOST = 10_000
# Conversations the newest-first walk tests for one page at most: words that are each common but rarely together
# would otherwise test every conversation before the page is full. The page then says how far back it searched
# and links to the next stretch (Page.searched_until).
WALK_AT_MOST = 2_000
KIND = {Contact: SearchEntry.CONTACT, Company: SearchEntry.COMPANY}
# Substring matches on names and emails (trigram-indexed on PostgreSQL) start at this many characters: a word of
# three is a single trigram, whose list holds a large share of a million names and emails (1.3 s for "you").
SUBSTRING_MIN = 4
PLAIN_SNIPPET = 160


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def through(model: type[Model]) -> tuple[str, str, str]:
    """Return the tag link table of a model, its owner column and its tag column."""
    relation = model._meta.get_field("tags")
    return table(relation.remote_field.through), relation.m2m_column_name(), relation.m2m_reverse_name()


def ids_sql(ids: Sequence[int]) -> str:
    """Return integers from the database as an SQL list (never user input)."""
    return ", ".join(str(int(i)) for i in ids) or "NULL"


# --- the keyset cursor -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last row's rank and id (the next page starts after it)."""

    rank: float
    pk: int

    def __str__(self) -> str:
        return f"{self.rank!r}_{self.pk}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """Return the cursor a link carried, or None for anything else (the first page)."""
        rank, _, pk = (text or "").rpartition("_")
        try:
            cursor = cls(float(rank), int(pk))
        except ValueError:
            return None
        return cursor if math.isfinite(cursor.rank) else None


# --- results ---------------------------------------------------------------------------------


@dataclass
class Hit:
    record: Any
    rank: float
    snippet: SafeString
    found_in: str = ""  # "a later message", "a note": where the best match was, when not in the record itself
    part_pk: int | None = None  # the conversation part that matched best, for a link straight to it


@dataclass
class Page:
    hits: list[Hit] = field(default_factory=list)
    next_cursor: str = ""
    newest_first: bool = False  # too many matches to rank (see Search.walking): the latest activity first
    searched_until: datetime | None = None  # a walk cut short: conversations active before this are not searched yet


# --- names matched in Python (tags, admins, teams: a few hundred rows at most) -----------------------


def has_term(name: str, term: Term) -> bool:
    """Return True when the term's words appear in a row in the name (the last one as a prefix if the term says so)."""
    target, wanted = [fold(w) for w in words(name)], [fold(w) for w in term.words]
    n = len(wanted)
    for start in range(len(target) - n + 1):
        window = target[start : start + n]
        if window[:-1] == wanted[:-1] and (
            window[-1].startswith(wanted[-1]) if term.prefix else window[-1] == wanted[-1]
        ):
            return True
    return False


class Search:
    """One query's SQL: the record ids each term stands for, and the filters (resolved once)."""

    def __init__(self, query: Query, user=None) -> None:
        self.query = query
        self.user = user
        self._tags: list[tuple[int, str]] | None = None
        self._walking: bool | None = None
        self._estimates: dict[Term, int] = {}

    # the names -----------------------------------------------------------------------------

    def tags(self) -> list[tuple[int, str]]:
        if self._tags is None:
            self._tags = list(Tag.objects.live().values_list("pk", "name"))
        return self._tags

    def tags_matching(self, term: Term) -> list[int]:
        return [pk for pk, name in self.tags() if has_term(name, term)]

    def tags_named(self, name: str) -> list[int]:
        return [pk for pk, tag in self.tags() if fold(tag) == fold(name)]

    def assignees(self) -> tuple[list[str], list[str]]:
        """Return the Intercom ids of the admins and teams `assignee:` names."""
        admins, teams = [], []
        for value in self.query.assignees:
            if value.lower() == "me":
                from intercom_mirror.actions import admin_for  # actions import the apply path, which imports us

                admin = admin_for(self.user)
                admins += [admin.intercom_id] if admin else []
                continue
            term = Term(tuple(words(value)), prefix=True)
            for intercom_id, name, email in Admin.objects.live().values_list("intercom_id", "name", "email"):
                if email.lower() == value.lower() or (term.words and has_term(name, term)):
                    admins.append(intercom_id)
            teams += [i for i, name in Team.objects.live().values_list("intercom_id", "name") if has_term(name, term)]
        return admins, teams

    # conversations -------------------------------------------------------------------------

    def matches(self, model: type[Model], terms: Sequence[Term]) -> tuple[str, list]:
        """Return `SELECT owner_id, rank` over every way any of the terms matches a record of the model.

        The text of its entries ranks; a tag it carries whose name matches, or (contacts and
        companies) a name or email containing a single word, counts with rank 0.
        """
        text_query = either([phrase(t.words, t.prefix) for t in terms])
        kinds = CONVERSATION_KINDS if model is Conversation else [KIND[model]]
        sql, params = matching(kinds, text_query, "e.owner_id, {rank} AS rank")
        if model is Contact:
            notes, note_params = matching([SearchEntry.NOTE], text_query, "e.row_id, {rank} AS rank")
            sql += (
                f" UNION ALL SELECT k.id, m.rank FROM ({notes}) m"
                f" JOIN {table(Note)} n ON n.id = m.row_id AND n.deleted_at IS NULL"
                f" JOIN {table(Contact)} k ON k.intercom_id = n.contact_id"
            )
            params += note_params
        if model is not Conversation:
            for term in terms:
                if len(term.words) == 1 and len(term.words[0]) >= SUBSTRING_MIN:
                    names = [contains("title")] + ([contains("email")] if model is Contact else [])
                    sql += f" UNION ALL SELECT e.owner_id, 0.0 FROM {ENTRY} e WHERE e.kind = {KIND[model]} AND ({' OR '.join(names)})"
                    params += [like_pattern(term.words[0])] * len(names)
        tag_ids = sorted({pk for term in terms for pk in self.tags_matching(term)})
        if tag_ids:
            links, owner, tag = through(model)
            sql += f" UNION ALL SELECT {owner}, 0.0 FROM {links} WHERE {tag} IN ({ids_sql(tag_ids)})"
        return sql, params

    def term_conditions(self, model: type[Model], alias: str, *, ranked: bool) -> tuple[list[str], list]:
        """Return the conditions that every term matches the record and no excluded one does.

        When the rows come from the ranked matches of a term (the only one; on PostgreSQL the
        rarest, see `driver`), that term needs no condition. On PostgreSQL a conversation's other
        terms are tested row by row (`held_by`): a page's candidates are few, while a common
        word's set of owners is huge. So are all its terms when the conversations are walked
        newest first. Without ranking or a walk (a filter: the inbox's search box), the rarest
        term is a set of ids and the others are tested row by row.
        """
        if model is not Conversation or not backends.is_postgres():
            return self.term_sets(model, alias, ranked=ranked)
        conditions, params = [], []
        for term, negate in [(t, False) for t in self.query.terms] + [(t, True) for t in self.query.excluded]:
            if not negate and not self.walking and term is self.driver:
                if ranked:
                    continue
                sql, term_params = self.matches(model, [term])
                conditions.append(f"{alias}.id IN (SELECT owner_id FROM ({sql}) t)")
            else:
                sql, term_params = self.held_by(alias, term)
                conditions.append(f"{'NOT ' if negate else ''}{sql}")
            params += term_params
        return conditions, params

    def term_sets(self, model: type[Model], alias: str, *, ranked: bool) -> tuple[list[str], list]:
        """Return each term as a set of ids (SQLite; contacts and companies): `IN` for a term, `NOT IN` for -word."""
        conditions, params = [], []
        terms = self.query.terms
        if ranked and len(terms) == 1:
            terms = []  # the rows are its ranked matches
        for term, negate in [(t, False) for t in terms] + [(t, True) for t in self.query.excluded]:
            sql, term_params = self.matches(model, [term])
            conditions.append(f"{alias}.id {'NOT IN' if negate else 'IN'} (SELECT owner_id FROM ({sql}) t)")
            params += term_params
        return conditions, params

    def held_by(self, alias: str, term: Term) -> tuple[str, list]:
        """Return a test that one conversation holds the term (an entry of its own, or a tag's name), row by row.

        For the newest-first walk: each conversation is checked through the entries' owner index,
        and the walk stops at a page's worth, instead of collecting every match of a common word.
        The subquery's `OFFSET 0` keeps it a probe per conversation: without it PostgreSQL may
        turn the EXISTS into a join or, beside an OR, a hashed subplan, and either reads every
        entry of the word first (measured: "invoice", 283,000 entries, 1.1 s; "credit card", whose
        estimate is low, 191,000 entries rechecked, 2.2 s) to keep the few a page needs.
        A walk's words are common and a phrase's estimate is unreliable: both are tested on the
        conversation's own entries only (`by_index=False`); a rare word may use its index.
        """
        text_query = phrase(term.words, term.prefix)
        test = backends.matches_entry(by_index=not (self.walking or len(term.words) > 1))
        sql = (
            f"(EXISTS (SELECT 1 FROM {ENTRY} e WHERE e.owner_id = {alias}.id"
            f" AND e.kind IN ({ids_sql(CONVERSATION_KINDS)}) AND {test}{fence()})"
        )
        tag_ids = self.tags_matching(term)
        if tag_ids:
            links, owner, tag = through(Conversation)
            sql += f" OR {alias}.id IN (SELECT {owner} FROM {links} WHERE {tag} IN ({ids_sql(tag_ids)}))"
        return sql + ")", [text_query]

    def estimate(self, term: Term) -> int:
        """Return an estimate of the conversation entries matching a term (PostgreSQL).

        A word's is the planner's. A phrase's is its rarest word's: the planner multiplies the
        words' frequencies as if they were independent, but the words of a phrase go together
        (on the bench's fill "credit card" was estimated at 5,399 entries and is in 191,047, and
        "mot de passe" at 46 and is in 66,666: both were ranked, every entry holding their words
        read and rechecked one by one). No phrase is more common than its rarest word.
        The words of every term are estimated together, in one query, the first time one is asked.
        """
        if term not in self._estimates:
            self.estimate_words()
        return self._estimates[term]

    def estimate_words(self) -> None:
        """Estimate every word of the query's terms in one query (see backends.estimated_matches)."""
        words = list(dict.fromkeys(w for t in self.query.terms for w in words_of(t)))
        found = backends.estimated_matches(CONVERSATION_KINDS, [phrase(w.words, w.prefix) for w in words])
        by_word = dict(zip(words, found, strict=True))
        for term in self.query.terms:
            self._estimates[term] = min(by_word[w] for w in words_of(term))

    @property
    def driver(self) -> Term:
        """Return the term with the fewest matches (PostgreSQL): its matches are the ranked candidates."""
        return min(self.query.terms, key=self.estimate)

    @property
    def walking(self) -> bool:
        """Return True when even the rarest word matches too many entries to rank (PostgreSQL; SQLite always ranks).

        Ranking reads and scores every candidate entry before the first page can be cut: for
        words in most messages ("can you help") that is millions of rows. Those results come
        newest first instead, walking the conversations by latest activity.
        """
        if self._walking is None:
            self._walking = bool(self.query.terms) and backends.is_postgres()
            self._walking = self._walking and self.estimate(self.driver) > RANK_AT_MOST
        return self._walking

    def conversation_conditions(self, *, ranked: bool = False, alias: str = "c") -> tuple[list[str], list]:
        """Return the WHERE conditions (on `alias`, the conversation) and their parameters."""
        q = self.query
        conditions, params = self.term_conditions(Conversation, alias, ranked=ranked)
        conditions += [f"{alias}.deleted_at IS NULL", *self.tag_conditions(Conversation, alias)]
        if q.states:
            conditions.append(f"{alias}.state IN ({', '.join(['%s'] * len(q.states))})")
            params += q.states
        if q.after:
            conditions.append(f"{alias}.created_at >= %s")
            params.append(start_of(q.after))
        if q.before:
            conditions.append(f"{alias}.created_at < %s")
            params.append(start_of(q.before))
        if q.assignees:
            admins, teams = self.assignees()
            conditions.append(
                f"({alias}.assignee_admin_id IN ({', '.join(['%s'] * len(admins)) or 'NULL'})"
                f" OR {alias}.assignee_team_id IN ({', '.join(['%s'] * len(teams)) or 'NULL'}))"
            )
            params += admins + teams
        if q.senders:
            sql, sender_params = self.senders(alias)
            conditions.append(sql)
            params += sender_params
        return conditions, params

    def tag_conditions(self, model: type[Model], alias: str) -> list[str]:
        links, owner, tag = through(model)
        conditions = []
        for name in self.query.tags:
            conditions.append(
                f"{alias}.id IN (SELECT {owner} FROM {links} WHERE {tag} IN ({ids_sql(self.tags_named(name))}))"
            )
        for name in self.query.excluded_tags:
            tag_ids = self.tags_named(name)
            if tag_ids:
                conditions.append(
                    f"{alias}.id NOT IN (SELECT {owner} FROM {links} WHERE {tag} IN ({ids_sql(tag_ids)}))"
                )
        return conditions

    def senders(self, alias: str = "c") -> tuple[str, list]:
        """Return the condition for `from:`: the customer, or the author of the opening message or a part."""
        contacts, params, admins = [], [], []
        for value in self.query.senders:
            whole = "@" in value.strip("@")
            test = "(e.email <> '' AND e.email = %s)" if whole else contains("email")
            contacts.append(
                f"SELECT k.intercom_id FROM {table(Contact)} k WHERE k.id IN"
                f" (SELECT e.row_id FROM {ENTRY} e WHERE e.kind = {SearchEntry.CONTACT} AND {test})"
            )
            params.append(value if whole else like_pattern(value))
            lookup = {"email__iexact": value} if whole else {"email__icontains": value}
            admins += Admin.objects.filter(**lookup).values_list("intercom_id", flat=True)
        people = " UNION ".join(contacts)
        # Unions, not OR: each branch is answered by an index (customer_id, the entries' author).
        authors = people + "".join(" UNION ALL SELECT %s" for _ in admins)
        sql = (
            f"{alias}.id IN (SELECT c2.id FROM {table(Conversation)} c2 WHERE c2.customer_id IN ({people})"
            f" UNION SELECT e.owner_id FROM {ENTRY} e WHERE e.kind IN ({ids_sql(CONVERSATION_KINDS)})"
            f" AND e.author <> '' AND e.author IN ({authors}))"
        )
        return sql, params + params + admins

    def any_term(self) -> str:
        return either([phrase(t.words, t.prefix) for t in self.query.terms])

    def conversation_page(self, after: Cursor | None, size: int) -> tuple[list[tuple[int, float]], Cursor | None]:
        """Return (id, rank) of one page of matching conversations, best first, one row more than asked.

        And where a newest-first walk stopped short of a full page (see newest_page), or None.
        """
        if self.walking:
            return self.newest_page(after, size)
        conditions, params = self.conversation_conditions(ranked=bool(self.query.terms))
        return self.page(Conversation, "c", conditions, params, after, size), None

    def newest_page(self, after: Cursor | None, size: int) -> tuple[list[tuple[int, float]], Cursor | None]:
        """Return (id, latest activity as epoch seconds) of one page of matches, latest first, one row more.

        Keyset on (updated_at, id), walked down the updated_at index; the cursor's rank is the epoch.
        The walk tests at most WALK_AT_MOST conversations: when the page is not full by then, it
        also returns the last one tested, where the next page goes on (else None).
        """
        stretch, stretch_params = self.walk_stretch(after)
        conditions, params = self.conversation_conditions()
        order = "ORDER BY c.updated_at DESC, c.id DESC"
        sql = (
            f"SELECT c.id, EXTRACT(EPOCH FROM c.updated_at)::float8 FROM ({stretch}) c"
            f" WHERE {' AND '.join(conditions)} {order} LIMIT {int(size) + 1}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, stretch_params + params)
            rows = [(pk, float(r)) for pk, r in cursor.fetchall()]
            if len(rows) > size:
                return rows, None
            # The page is not full: did the stretch end the conversations, or the walk?
            cursor.execute(
                f"SELECT EXTRACT(EPOCH FROM c.updated_at)::float8, c.id, COUNT(*) OVER ()"
                f" FROM ({stretch}) c ORDER BY c.updated_at, c.id LIMIT 1",
                stretch_params,
            )
            last = cursor.fetchone()
        stopped = Cursor(float(last[0]), last[1]) if last is not None and last[2] >= WALK_AT_MOST else None
        return rows, stopped

    def walk_stretch(self, after: Cursor | None) -> tuple[str, list]:
        """Return the SQL of the next WALK_AT_MOST live conversations by latest activity after the cursor."""
        conditions, params = ["c.deleted_at IS NULL", "c.updated_at IS NOT NULL"], []
        if after is not None and after.rank > 1:  # a rank of a ranked page (at most 1) starts over
            conditions.append("(c.updated_at < to_timestamp(%s) OR (c.updated_at = to_timestamp(%s) AND c.id < %s))")
            params += [after.rank, after.rank, after.pk]
        columns = ", ".join(f"c.{column}" for column in WALK_COLUMNS)
        sql = (
            f"SELECT {columns} FROM {table(Conversation)} c WHERE {' AND '.join(conditions)}"
            f" ORDER BY c.updated_at DESC, c.id DESC LIMIT {WALK_AT_MOST}"
        )
        return sql, params

    def people_page(self, model: type[Model], after: Cursor | None, size: int) -> list[tuple[int, float]]:
        """Return (id, rank) of one page of matching contacts or companies, one row more than asked."""
        if self.query.conversation_filters:
            return []  # from:, assignee:, state:, before: and after: describe conversations only
        conditions, params = self.term_conditions(model, "k", ranked=bool(self.query.terms))
        conditions += ["k.deleted_at IS NULL", *self.tag_conditions(model, "k")]
        return self.page(model, "k", conditions, params, after, size)

    def page(
        self, model: type[Model], alias: str, conditions: list[str], params: list, after: Cursor | None, size: int
    ) -> list[tuple[int, float]]:
        """Run one page: with words, driven by their ranked matches (the index says which rows); else by the filters."""
        source, rank, source_params = f"{table(model)} {alias}", "0.0", []
        if self.query.terms:
            driven = model is Conversation and backends.is_postgres()
            matches, source_params = self.matches(model, [self.driver] if driven else self.query.terms)
            source = (
                f"(SELECT owner_id, MAX(rank) AS rank FROM ({matches}{fence()}) m GROUP BY owner_id) r"
                f" JOIN {table(model)} {alias} ON {alias}.id = r.owner_id"
            )
            rank = "r.rank"
        if after is not None:
            conditions = [*conditions, f"({rank} < %s OR ({rank} = %s AND {alias}.id < %s))"]
            params = [*params, after.rank, after.rank, after.pk]
        sql = (
            f"SELECT {alias}.id, {rank} AS rank FROM {source} WHERE {' AND '.join(conditions)}"
            f" ORDER BY rank DESC, {alias}.id DESC LIMIT {int(size) + 1}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, source_params + params)
            return [(pk, float(r)) for pk, r in cursor.fetchall()]


# What conversation_conditions() reads of a conversation.
WALK_COLUMNS = (
    "id", "updated_at", "deleted_at", "state", "created_at", "assignee_admin_id", "assignee_team_id",
)  # fmt: skip


def words_of(term: Term) -> list[Term]:
    """Return the term's words, each as a one-word term (the last keeps the term's prefix)."""
    last = len(term.words) - 1
    return [Term((w,), term.prefix and i == last) for i, w in enumerate(term.words)]


def fence() -> str:
    """Return what keeps PostgreSQL from merging a subquery into the one around it.

    Ranks are computed below the fence, so the grouping above sorts or hashes
    (owner, rank) pairs instead of whole rows with their vectors (measured: a
    common word's page went from an on-disk sort of 60 MB to none).
    """
    return " OFFSET 0" if connection.vendor == "postgresql" else ""


def start_of(day: date) -> datetime:
    """Return the first moment of a day in the dashboard's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


# --- the searches ----------------------------------------------------------------------------


def conversation_filter(query: str | Query, *, user) -> RawSQL:
    """Return a condition on the conversation table that a query matches, for `Conversation.objects.filter()`.

    For the inbox's search box: the folder's own order and keyset drive the page, and each
    conversation is tested as the page is read (on PostgreSQL, common words with per-row
    probes), so a page of common words stops at a page's worth. Rare words are a set of ids.
    """
    search = Search(parse(query) if isinstance(query, str) else query, user)
    conditions, params = search.conversation_conditions(alias=table(Conversation))
    return RawSQL(f"({' AND '.join(conditions)})", params, output_field=BooleanField())


def search_conversations(
    query: Query, *, user, after: Cursor | None = None, size: int = 20, search: Search | None = None
) -> Page:
    """Return one page of the conversations a query matches, best first, each with a highlighted snippet.

    `search` shares what one query resolved (the tag names) between the groups of a results page.
    """
    search = search or Search(query, user)
    rows, stopped = search.conversation_page(after, size)
    records = Conversation.objects.select_related("customer", "assignee_admin", "assignee_team").in_bulk(
        [pk for pk, _ in rows[:size]]
    )
    snippets = best_snippets(CONVERSATION_KINDS, search, {k: k for k in records}) if query.terms else {}
    hits = []
    for pk, rank in rows[:size]:
        snippet = snippets.get(pk)
        record = records[pk]
        text = snippet[0] if snippet else plain_snippet(record.subject, record.body)
        in_part = bool(snippet) and snippet[1] == SearchEntry.PART
        hits.append(Hit(record, rank, text, "a later message" if in_part else "", snippet[2] if in_part else None))
    next_cursor = str(Cursor(rows[size - 1][1], rows[size - 1][0])) if len(rows) > size else ""
    if stopped is not None:  # a walk cut short: the next page goes on from where it stopped
        return Page(hits, str(stopped), newest_first=True, searched_until=datetime.fromtimestamp(stopped.rank, tz=UTC))
    return Page(hits, next_cursor, newest_first=search.walking)


def search_people(
    model: type[Contact] | type[Company],
    query: Query,
    *,
    after: Cursor | None = None,
    size: int = 10,
    search: Search | None = None,
) -> Page:
    """Return one page of the contacts or companies a query matches, best first, with snippets."""
    search = search or Search(query)
    rows = search.people_page(model, after, size)
    records = model.objects.in_bulk([pk for pk, _ in rows[:size]])
    snippets: dict[int, tuple[SafeString, int, int]] = {}
    if query.terms and records:
        kind = KIND[model]
        snippets = best_snippets([kind], search, {pk: pk for pk in records})
        if model is Contact:
            by_intercom_id = {r.intercom_id: pk for pk, r in records.items()}
            notes = Note.objects.live().filter(contact_id__in=list(by_intercom_id)).values_list("pk", "contact_id")
            found = best_snippets([SearchEntry.NOTE], search, {pk: by_intercom_id[c] for pk, c in notes})
            snippets = {**found, **snippets}  # the contact's own fields first, else a note
    hits = []
    for pk, rank in rows[:size]:
        snippet = snippets.get(pk)
        hits.append(
            Hit(
                records[pk],
                rank,
                snippet[0] if snippet else mark_safe(""),
                "a note" if snippet and snippet[1] == SearchEntry.NOTE else "",
            )
        )  # noqa: S308 - empty
    return Page(hits, str(Cursor(rows[size - 1][1], rows[size - 1][0])) if len(rows) > size else "")


def best_snippets(
    kinds: Sequence[int], search: Search, owners: dict[int, int]
) -> dict[int, tuple[SafeString, int, int]]:
    """Return, per result id, the highlighted snippet of its best-matching entry, that entry's kind and row id.

    `owners` maps the entries' owner ids (a part's conversation, a note) to result ids.
    """
    if not owners:
        return {}
    rows = backends.best_entries(kinds, search.any_term(), list(owners))
    best: dict[int, tuple[float, SafeString, int, int]] = {}
    for owner_id, kind, rank, snippet, row_id in rows:
        result = owners[owner_id]
        if result not in best or rank > best[result][0]:
            best[result] = (rank, mark_safe(shown(snippet)), kind, row_id)  # noqa: S308 - escaped by shown()
    return {result: (snippet, kind, row_id) for result, (_, snippet, kind, row_id) in best.items()}


def plain_snippet(*html_bodies: str) -> SafeString:
    """Return the start of a record's text, escaped, for results matched by a filter or a tag alone."""
    text = " · ".join(t for t in (plain_text(b) for b in html_bodies) if t)
    return mark_safe(shown(text[:PLAIN_SNIPPET] + ("…" if len(text) > PLAIN_SNIPPET else "")))  # noqa: S308
