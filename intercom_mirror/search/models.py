"""The search index: one entry per piece of searchable text in the mirror."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class SearchEntry(models.Model):
    """The searchable text of one mirrored row, kept current by the apply path's listener.

    One entry per conversation (subject and opening message) and per part, so a
    reply to a 500-part conversation is one new entry, never a re-index of the
    thread. Contacts, companies and notes have one each. Tags are not indexed:
    their names are matched at query time, so a new tag is found at once.

    Besides these columns, each database has its full-text index (created by the
    migration, not described by this model):
    - PostgreSQL: `vector`, a tsvector generated from `body` in the same INSERT
      (configuration `im_search`: unaccent where available, then lower case),
      with a GIN index, and another over the people's entries only (contacts,
      companies, notes: migration 0009); trigram GIN indexes on `title` and `email`;
    - SQLite: the FTS5 table `intercom_mirror_search_fts` over `body` (external
      content, rowid = this id), written by the listener in the same transaction.
    """

    CONVERSATION, PART, CONTACT, COMPANY, NOTE = 1, 2, 3, 4, 5
    KINDS = [(CONVERSATION, "Conversation"), (PART, "Part"), (CONTACT, "Contact"), (COMPANY, "Company"), (NOTE, "Note")]

    kind = models.PositiveSmallIntegerField(choices=KINDS)
    row_id = models.BigIntegerField(help_text="Primary key of the row the text is from.")
    # The result it leads to: the conversation for a part, else the row itself
    # (a note's contact is joined at query time: notes follow a merged lead).
    owner_id = models.BigIntegerField()
    author = models.CharField(max_length=64, blank=True, help_text="Intercom id of who wrote it (for from:).")
    title = models.CharField(max_length=255, blank=True, help_text="A contact's or company's name.")
    email = models.CharField(max_length=255, blank=True, help_text="A contact's email, lower case.")
    body = models.TextField(blank=True, help_text="Plain text as indexed (see intercom_mirror/search/text.py).")

    class Meta:
        verbose_name_plural = "search entries"
        constraints = [models.UniqueConstraint(fields=["kind", "row_id"], name="search_entry_row")]
        indexes = [
            models.Index(fields=["owner_id", "kind"], name="search_entry_owner"),
            models.Index(fields=["author"], name="search_entry_author", condition=~Q(author="")),
            # from:<a whole address>; a part of one (a domain) uses the trigram index (PostgreSQL).
            models.Index(fields=["email"], name="search_entry_email", condition=~Q(email="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.row_id}"
