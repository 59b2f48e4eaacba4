"""Keeping the search index current: the apply path's listener, and the rebuild.

`index_applied` runs inside every write's transaction with the primary keys the
guarded upsert wrote (see `intercom_mirror.apply.on_applied`). Per call it reads
those rows together with their current entries (one query), and writes only the
entries whose text changed, in one statement per 1,000 rows: a full pass over a
quiet workspace rewrites no entry, and a new reply is one INSERT.
"""

# SQL is built from quoted identifiers of the models; every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection, models, transaction

from intercom_mirror.models import Company, Contact, Conversation, ConversationPart, MirrorModel, Note
from intercom_mirror.search import backends
from intercom_mirror.search.backends import ENTRY, Doc
from intercom_mirror.search.models import SearchEntry
from intercom_mirror.search.text import attribute_values, html_text, index_text

# Primary keys per read: well under SQLite's 32,766 variables, and a sync page is smaller.
READ_BATCH = 2_000
STORED = ("id", "owner_id", "author", "title", "email", "body")


@dataclass(frozen=True)
class Source:
    """Where one kind of entry comes from: the model, the columns read, and how they become an entry."""

    kind: int
    model: type[MirrorModel]
    columns: tuple[str, ...]  # attnames, the primary key first
    build: Callable[..., Doc]

    def read(self, where: str, params: Sequence[Any]) -> list[tuple[Doc, tuple | None]]:
        """Return each row matching `where` (on `s`) as the entry it makes, with the entry stored for it (or None)."""
        quote = connection.ops.quote_name
        meta = self.model._meta
        columns = ", ".join(
            f"s.{quote(meta.get_field(c).column if c != 'pk' else meta.pk.column)}" for c in self.columns
        )
        stored = ", ".join(f"e.{c}" for c in STORED)
        sql = (
            f"SELECT {columns}, {stored} FROM {quote(meta.db_table)} s"
            f" LEFT JOIN {ENTRY} e ON e.kind = {int(self.kind)} AND e.row_id = s.{quote(meta.pk.column)} {where}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        width = len(self.columns)
        return [
            (
                self.build(self.kind, *row[:width]),
                None if row[width] is None else (row[width], self.kind, row[0], *row[width + 1 :]),
            )
            for row in rows
        ]


def conversation_doc(kind: int, pk: int, subject: str, body: str, author: str) -> Doc:
    return Doc(kind, pk, pk, author or "", "", "", html_text(subject, body))


def part_doc(kind: int, pk: int, conversation_id: int, body: str, author: str) -> Doc:
    return Doc(kind, pk, conversation_id, author or "", "", "", html_text(body))


def contact_doc(kind: int, pk: int, name, email, user_id, phone, pseudonym, custom: Any) -> Doc:
    text = index_text(name, email, user_id, phone, pseudonym, *attribute_values(json_value(custom)))
    return Doc(kind, pk, pk, "", (name or "")[:255], (email or "").lower()[:255], text)


def company_doc(kind: int, pk: int, name, company_id, custom: Any) -> Doc:
    text = index_text(name, company_id, *attribute_values(json_value(custom)))
    return Doc(kind, pk, pk, "", (name or "")[:255], "", text)


def note_doc(kind: int, pk: int, body: str) -> Doc:
    return Doc(kind, pk, pk, "", "", "", html_text(body))


def json_value(value: Any) -> Any:
    """Return a JSON column read by raw SQL as Python (the drivers hand it over as text)."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


SOURCES = {
    s.model: s
    for s in (
        Source(
            SearchEntry.CONVERSATION, Conversation, ("pk", "subject", "body", "author_intercom_id"), conversation_doc
        ),
        Source(SearchEntry.PART, ConversationPart, ("pk", "conversation_id", "body", "author_intercom_id"), part_doc),
        Source(
            SearchEntry.CONTACT,
            Contact,
            ("pk", "name", "email", "user_id", "phone", "pseudonym", "custom_attributes"),
            contact_doc,
        ),
        Source(SearchEntry.COMPANY, Company, ("pk", "name", "company_id", "custom_attributes"), company_doc),
        Source(SearchEntry.NOTE, Note, ("pk", "body"), note_doc),
    )
}


def index_applied(model: type[MirrorModel], pks: list[int]) -> None:
    """Bring the entries of rows just written up to date (the apply path's listener)."""
    source = SOURCES.get(model)
    if source is None or not pks:
        return  # admins, teams, tags and segments have no entries of their own
    for start in range(0, len(pks), READ_BATCH):
        batch = [int(pk) for pk in pks[start : start + READ_BATCH]]
        index_docs(source.read(f"WHERE s.id IN ({', '.join(['%s'] * len(batch))})", batch))


def index_docs(found: Sequence[tuple[Doc, tuple | None]]) -> int:
    """Write the entries whose text or links changed, delete those whose text is now empty; return how many.

    `found` pairs each entry as it should be with the stored one, as (id, kind,
    row id, owner id, author, title, email, body), or None.
    """
    changed = [doc for doc, stored in found if doc.body and (stored is None or stored[1:] != doc.values())]
    replaced = {stored[0]: stored[-1] for doc, stored in found if stored and doc.body and stored[1:] != doc.values()}
    emptied = {stored[0]: stored[-1] for doc, stored in found if stored and not doc.body}
    backends.write(changed, replaced)
    backends.delete(emptied)
    return len(changed) + len(emptied)


# --- rebuilding --------------------------------------------------------------------------------


Progress = Callable[[str, int, int | None], None]


def rebuild(progress: Progress | None = None, *, clear: bool = False) -> dict[str, int]:
    """Re-derive every entry from the mirror; return the entries written per kind.

    `clear` empties the index first (searches find less until it is done);
    otherwise unchanged entries are left alone and searches keep working. On
    SQLite the FTS5 index is then rebuilt from the entries, which also repairs
    any drift between the two.
    """
    progress = progress or (lambda name, done, total: None)
    if clear:
        with transaction.atomic():
            backends.clear()
    written = {}
    for source in SOURCES.values():
        name = str(source.model._meta.verbose_name_plural)
        total, done, written[name] = source.model.objects.count(), 0, 0
        progress(name, 0, total)
        for rows, changed in rebuild_source(source):
            done, written[name] = done + rows, written[name] + changed
            progress(name, done, total)
    with transaction.atomic():
        backends.rebuild_fts()
    backends.analyze()
    return written


def rebuild_source(source: Source, batch_size: int = READ_BATCH) -> Iterator[tuple[int, int]]:
    """Re-index every row of one source, streaming by primary key; yield (rows read, entries written).

    Each batch is its own transaction, so a long rebuild never holds the
    database (SQLite has one writer) for more than one batch; the listener keeps
    rows written meanwhile current. Entries whose row is gone are deleted at the end.
    """
    # Rows and entries are read in the transaction that writes: on SQLite it holds the database,
    # so FTS5 is told exactly the old text; on PostgreSQL the rows are share-locked, so a writer
    # changing one meanwhile waits, and its listener then indexes the newer text.
    lock = " FOR SHARE OF s" if backends.is_postgres() else ""
    last = 0
    while True:
        with transaction.atomic():
            found = source.read(f"WHERE s.id > %s ORDER BY s.id LIMIT %s{lock}", [last, batch_size])
            written = index_docs(found)
        if not found:
            break
        last = found[-1][0].row_id
        yield len(found), written
    with transaction.atomic():
        delete_orphans(source)


def delete_orphans(source: Source) -> int:
    """Delete the entries of one kind whose row no longer exists."""
    live = source.model.objects.filter(pk=models.OuterRef("row_id"))
    orphans = dict(SearchEntry.objects.filter(kind=source.kind).exclude(models.Exists(live)).values_list("id", "body"))
    backends.delete(orphans)
    return len(orphans)
