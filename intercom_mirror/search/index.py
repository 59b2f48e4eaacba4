"""Keeping the search index current: the apply path's listener, and the rebuild.

`index_applied` runs inside every write's transaction with the primary keys the
guarded upsert wrote (see `intercom_mirror.apply.on_applied`). Per call it reads
those rows and their current entries (two queries), and writes only the entries
whose text changed, in one statement per 1,000 rows: a full pass over a quiet
workspace rewrites no entry, and a new reply is one INSERT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from intercom_mirror.models import Company, Contact, Conversation, ConversationPart, MirrorModel, Note
from intercom_mirror.search import backends
from intercom_mirror.search.backends import Doc
from intercom_mirror.search.models import SearchEntry
from intercom_mirror.search.text import attribute_values, html_text, index_text

# Primary keys per read: well under SQLite's 32,766 variables, and a sync page is smaller.
READ_BATCH = 2_000


@dataclass(frozen=True)
class Source:
    """Where one kind of entry comes from: the model, the columns read, and how they become an entry."""

    kind: int
    model: type[MirrorModel]
    columns: tuple[str, ...]
    build: Callable[..., Doc]

    def docs(self, rows: Sequence[tuple]) -> list[Doc]:
        return [self.build(self.kind, *row) for row in rows]


def conversation_doc(kind: int, pk: int, subject: str, body: str, author: str) -> Doc:
    return Doc(kind, pk, pk, author or "", "", "", html_text(subject, body))


def part_doc(kind: int, pk: int, conversation_id: int, body: str, author: str) -> Doc:
    return Doc(kind, pk, conversation_id, author or "", "", "", html_text(body))


def contact_doc(kind: int, pk: int, name, email, user_id, phone, pseudonym, custom: Any) -> Doc:
    text = index_text(name, email, user_id, phone, pseudonym, *attribute_values(custom))
    return Doc(kind, pk, pk, "", (name or "")[:255], (email or "").lower()[:255], text)


def company_doc(kind: int, pk: int, name, company_id, custom: Any) -> Doc:
    return Doc(kind, pk, pk, "", (name or "")[:255], "", index_text(name, company_id, *attribute_values(custom)))


def note_doc(kind: int, pk: int, body: str) -> Doc:
    return Doc(kind, pk, pk, "", "", "", html_text(body))


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
        batch = pks[start : start + READ_BATCH]
        rows = source.model.objects.filter(pk__in=batch).values_list(*source.columns)
        index_docs(source.kind, source.docs(list(rows)))


def index_docs(kind: int, docs: Sequence[Doc]) -> int:
    """Write the entries whose text or links changed, delete those whose text is now empty; return how many."""
    if not docs:
        return 0
    stored = {
        row_id: (entry_id, (kind, row_id, *rest))
        for entry_id, row_id, *rest in SearchEntry.objects.filter(kind=kind, row_id__in=[d.row_id for d in docs])
        .order_by()
        .values_list("id", "row_id", "owner_id", "author", "title", "email", "body")
    }
    changed = [d for d in docs if d.body and (d.row_id not in stored or stored[d.row_id][1] != d.values())]
    replaced = {stored[d.row_id][0]: stored[d.row_id][1][-1] for d in changed if d.row_id in stored}
    emptied = {stored[d.row_id][0]: stored[d.row_id][1][-1] for d in docs if not d.body and d.row_id in stored}
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
    last = 0
    while True:
        rows = list(source.model.objects.filter(pk__gt=last).order_by("pk").values_list(*source.columns)[:batch_size])
        if not rows:
            break
        with transaction.atomic():
            written = index_docs(source.kind, source.docs(rows))
        last = rows[-1][0]
        yield len(rows), written
    with transaction.atomic():
        delete_orphans(source)


def delete_orphans(source: Source) -> int:
    """Delete the entries of one kind whose row no longer exists."""
    live = source.model.objects.filter(pk=models.OuterRef("row_id"))
    orphans = dict(SearchEntry.objects.filter(kind=source.kind).exclude(models.Exists(live)).values_list("id", "body"))
    backends.delete(orphans)
    return len(orphans)
