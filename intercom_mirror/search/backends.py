"""The full-text SQL of each database: how entries are written, matched, ranked and highlighted.

PostgreSQL: the entry's `vector` column is generated from `body` by the INSERT
itself (`to_tsvector('im_search', body)`) and GIN-indexed; `ts_rank` ranks and
`ts_headline` highlights. SQLite: an FTS5 table over the entries (external
content, rowid = entry id) that `write()` keeps in step in the same
transaction; FTS5's `rank` (bm25) ranks and `snippet()` highlights.

Queries are built from words cut by `text.words()` (letters and digits only)
and passed as parameters; no user input is ever part of the SQL text.
"""

# SQL is built from quoted identifiers and constants of this module; every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection

from intercom_mirror.bulk import server_bound_cursor
from intercom_mirror.search.models import SearchEntry
from intercom_mirror.search.text import MARK_END, MARK_START

ENTRY = SearchEntry._meta.db_table
FTS = "intercom_mirror_search_fts"
CONFIG = "im_search"
COLUMNS = ("kind", "row_id", "owner_id", "author", "title", "email", "body")
SNIPPET_WORDS = 24
# Rows per statement: 7 columns × 1,000 rows stays far under SQLite's 32,766 parameters.
ROWS_PER_STATEMENT = 1_000

HEADLINE = (
    f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords={SNIPPET_WORDS}, MinWords=8, '
    'ShortWord=1, MaxFragments=2, FragmentDelimiter=" … "'
)


@dataclass(frozen=True)
class Doc:
    """One entry as the index should hold it."""

    kind: int
    row_id: int
    owner_id: int
    author: str
    title: str
    email: str
    body: str

    def values(self) -> tuple:
        return (self.kind, self.row_id, self.owner_id, self.author, self.title, self.email, self.body)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# --- query syntax ----------------------------------------------------------------------------


def phrase(words: Sequence[str], prefix: bool) -> str:
    """Return one term in the database's query syntax: the words in a row, the last a prefix if asked."""
    if is_postgres():
        return " <-> ".join(f"'{w}'" for w in words) + (":*" if prefix else "")
    return " + ".join(f'"{w}"' for w in words) + (" *" if prefix else "")


def either(phrases: Sequence[str]) -> str:
    """Return a query matching any of the phrases."""
    return (" | " if is_postgres() else " OR ").join(f"({p})" for p in phrases)


def matching(kinds: Iterable[int], text_query: str, columns: str, extra: str = "") -> tuple[str, list]:
    """Return `SELECT <columns>` over the entries of these kinds that match the query, and its parameters.

    `columns` may name the entry as `e` and use `{rank}` (higher is better) and
    `{snippet}`; `extra` is more SQL for the WHERE clause (no parameters).
    """
    kinds_sql = ", ".join(str(int(k)) for k in kinds)
    where = f" AND {extra}" if extra else ""
    if is_postgres():
        columns = columns.format(
            rank="ts_rank(e.vector, q)::float8", snippet=f"ts_headline('{CONFIG}', e.body, q, '{HEADLINE}')"
        )
        sql = f"SELECT {columns} FROM {ENTRY} e, to_tsquery('{CONFIG}', %s) q WHERE e.kind IN ({kinds_sql}) AND e.vector @@ q{where}"
    else:
        snippet = f"snippet({FTS}, 0, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_WORDS})"
        columns = columns.format(rank=f"(-{FTS}.rank)", snippet=snippet)
        sql = (
            f"SELECT {columns} FROM {FTS} JOIN {ENTRY} e ON e.id = {FTS}.rowid"
            f" WHERE {FTS} MATCH %s AND e.kind IN ({kinds_sql}){where}"
        )
    return sql, [text_query]


def matches_entry(*, by_index: bool = True) -> str:
    """Return the test that the entry `e` matches a query given as one parameter (PostgreSQL).

    `by_index=False` writes it as a function call, which no index answers: for entries another
    index has already found (a conversation's few), when the planner might otherwise AND them
    with the GIN index's whole list for the word (a phrase's, whose estimate is low: 60 ms a
    conversation for "credit card").
    """
    if by_index:
        return f"e.vector @@ to_tsquery('{CONFIG}', %s)"
    return f"ts_match_vq(e.vector, to_tsquery('{CONFIG}', %s))"


def estimated_matches(kinds: Iterable[int], text_queries: Sequence[str]) -> list[int]:
    """Return the planner's estimate of the entries of these kinds matching each query (PostgreSQL), in one query.

    From the column's statistics of its most common words: good for common words, which is what
    it is asked about; a word it has no statistics for is estimated low. One `EXPLAIN` of a
    SELECT of one scalar subquery per query: each is an InitPlan with its own row estimate
    (~1 ms, nothing is run).
    """
    if not text_queries:
        return []
    kinds_sql = ", ".join(str(int(k)) for k in kinds)
    one = f"(SELECT 1 FROM {ENTRY} e WHERE e.kind IN ({kinds_sql}) AND {matches_entry()})"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT {', '.join([one] * len(text_queries))}", list(text_queries))
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    subplans = [p for p in plan[0]["Plan"].get("Plans", []) if p.get("Parent Relationship") == "InitPlan"]
    return [int(p["Plan Rows"]) for p in subplans]


def best_entries(kinds: Iterable[int], text_query: str, owner_ids: Sequence[int]) -> list[tuple]:
    """Return (owner id, kind, rank, snippet, row id) of the best entry matching the query per owner and kind.

    The snippet is the entry's text with the matching words between MARK_START
    and MARK_END, not yet escaped (see `text.shown`).
    """
    kinds_sql = ", ".join(str(int(k)) for k in kinds)
    owners = ", ".join(str(int(i)) for i in owner_ids)
    if is_postgres():
        # Headlines are costly: made for the best entry of each owner only, not every match. The
        # owners' entries are found by their index and tested one by one (ts_match_vq): ANDed with
        # the word's GIN list, a common phrase cost 58 ms for ten conversations.
        sql = (
            f"SELECT b.owner_id, b.kind, b.rank, ts_headline('{CONFIG}', e.body, q, '{HEADLINE}'), e.row_id"
            f" FROM (SELECT DISTINCT ON (e.owner_id, e.kind) e.owner_id, e.kind, e.id, ts_rank(e.vector, q)::float8 AS rank"
            f" FROM {ENTRY} e, to_tsquery('{CONFIG}', %s) q"
            f" WHERE e.kind IN ({kinds_sql}) AND e.owner_id IN ({owners}) AND ts_match_vq(e.vector, q)"
            f" ORDER BY e.owner_id, e.kind, rank DESC, e.id) b"
            f" JOIN {ENTRY} e ON e.id = b.id CROSS JOIN to_tsquery('{CONFIG}', %s) q"
        )
        params = [text_query, text_query]
    else:
        sql, params = matching(
            kinds, text_query, "e.owner_id, e.kind, {rank}, {snippet}, e.row_id", f"e.owner_id IN ({owners})"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def contains(column: str) -> str:
    """Return a case-insensitive substring test of `e.<column>` against one parameter (a LIKE pattern).

    On PostgreSQL a trigram GIN index (partial: non-empty values) answers it.
    """
    operator = "ILIKE" if is_postgres() else "LIKE"
    return f"(e.{column} <> '' AND e.{column} {operator} %s ESCAPE '\\')"


def like_pattern(text: str) -> str:
    """Return a LIKE pattern for "contains text"."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --- writing ---------------------------------------------------------------------------------


def write(docs: Sequence[Doc], replaced: dict[int, str]) -> None:
    """Insert or update entries; `replaced` maps the ids of updated entries to their old text (for FTS5)."""
    if not docs:
        return
    if is_postgres():
        write_postgres(docs)
    else:
        write_sqlite(docs, replaced)


def write_postgres(docs: Sequence[Doc]) -> None:
    types = ("smallint", "bigint", "bigint", "varchar", "varchar", "varchar", "text")
    arrays = ", ".join(f"%b::{t}[]" for t in types)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[2:])
    sql = (
        f"INSERT INTO {ENTRY} ({', '.join(COLUMNS)}) SELECT * FROM unnest({arrays})"
        f" ON CONFLICT (kind, row_id) DO UPDATE SET {updates}"
    )
    with server_bound_cursor() as cursor:
        for start in range(0, len(docs), ROWS_PER_STATEMENT):
            batch = [d.values() for d in docs[start : start + ROWS_PER_STATEMENT]]
            cursor.execute(sql, [list(column) for column in zip(*batch, strict=True)])


def write_sqlite(docs: Sequence[Doc], replaced: dict[int, str]) -> None:
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[2:])
    one_row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    with connection.cursor() as cursor:
        forget(cursor, replaced)
        for start in range(0, len(docs), ROWS_PER_STATEMENT):
            batch = docs[start : start + ROWS_PER_STATEMENT]
            cursor.execute(
                f"INSERT INTO {ENTRY} ({', '.join(COLUMNS)}) VALUES {', '.join([one_row] * len(batch))}"
                f" ON CONFLICT (kind, row_id) DO UPDATE SET {updates} RETURNING id, body",
                [value for doc in batch for value in doc.values()],
            )
            written = cursor.fetchall()
            cursor.execute(
                f"INSERT INTO {FTS} (rowid, body) VALUES {', '.join(['(%s, %s)'] * len(written))}",
                [value for row in written for value in row],
            )


def forget(cursor, old: dict[int, str]) -> None:
    """Take entries' old text out of the FTS5 index (an external-content table needs the old values)."""
    items = list(old.items())
    for start in range(0, len(items), ROWS_PER_STATEMENT):
        batch = items[start : start + ROWS_PER_STATEMENT]
        rows = ", ".join(["('delete', %s, %s)"] * len(batch))
        cursor.execute(f"INSERT INTO {FTS} ({FTS}, rowid, body) VALUES {rows}", [v for item in batch for v in item])


def delete(old: dict[int, str]) -> None:
    """Delete entries by id (id → their text, which FTS5 needs to unindex them)."""
    if not old:
        return
    with connection.cursor() as cursor:
        if not is_postgres():
            forget(cursor, old)
        ids = list(old)
        for start in range(0, len(ids), ROWS_PER_STATEMENT):
            batch = ids[start : start + ROWS_PER_STATEMENT]
            cursor.execute(f"DELETE FROM {ENTRY} WHERE id IN ({', '.join(['%s'] * len(batch))})", batch)


def clear() -> None:
    """Empty the index."""
    with connection.cursor() as cursor:
        if not is_postgres():
            cursor.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('delete-all')")
        cursor.execute(f"DELETE FROM {ENTRY}")


def analyze() -> None:
    """Refresh the planner's statistics of the entries (after a rebuild their numbers have changed)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ENTRY}")


def rebuild_fts() -> None:
    """Rebuild SQLite's FTS5 index from the entries (PostgreSQL's vectors are columns of the entries)."""
    if not is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")
