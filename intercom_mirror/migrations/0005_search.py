"""The search index: SearchEntry, plus each database's full-text index (database only, not in the model).

PostgreSQL
- extensions `unaccent` and `pg_trgm`, each optional: without unaccent, accented
  words match only as written; without pg_trgm, name and email substrings are
  matched by a scan;
- text search configuration `im_search`: `simple` (no stemming, no stop words:
  the mirror holds many languages), preceded by `unaccent` where available;
- `vector`, a tsvector generated from `body` by the INSERT that writes the entry,
  with a GIN index; trigram GIN indexes on the non-empty titles and emails.

SQLite
- `intercom_mirror_search_fts`, an FTS5 table over the entries' bodies (external
  content: the text is stored once, in the entries), tokeniser `unicode61
  remove_diacritics 2`. It is written by the index's listener, not by triggers.
"""

from django.db import migrations, models, transaction

FTS = "intercom_mirror_search_fts"
ENTRY = "intercom_mirror_searchentry"
# Token types that can hold non-ASCII letters: these go through unaccent first.
ACCENTED = "word, hword, hword_part, numword, numhword, hword_numpart"


def extension(schema_editor, name: str) -> bool:
    """Create an extension if the server has it and we may; return whether it is there."""
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
        return True
    except Exception:  # not installed on the server, or not allowed: the search still works without it
        return False


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        create_postgres(schema_editor)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE {FTS} USING fts5(body, content='{ENTRY}', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )


def create_postgres(schema_editor) -> None:
    unaccent, trigrams = extension(schema_editor, "unaccent"), extension(schema_editor, "pg_trgm")
    run = schema_editor.execute
    run("DROP TEXT SEARCH CONFIGURATION IF EXISTS im_search")
    run("CREATE TEXT SEARCH CONFIGURATION im_search (COPY = pg_catalog.simple)")
    if unaccent:
        run(f"ALTER TEXT SEARCH CONFIGURATION im_search ALTER MAPPING FOR {ACCENTED} WITH unaccent, simple")
    run(
        f"ALTER TABLE {ENTRY} ADD COLUMN vector tsvector"
        " GENERATED ALWAYS AS (to_tsvector('im_search'::regconfig, body)) STORED"
    )
    run(f"CREATE INDEX search_entry_vector ON {ENTRY} USING gin (vector)")
    if trigrams:
        for column in ("title", "email"):
            run(
                f"CREATE INDEX search_entry_{column}_trgm ON {ENTRY} USING gin ({column} gin_trgm_ops)"
                f" WHERE {column} <> ''"
            )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {ENTRY} DROP COLUMN IF EXISTS vector")
        schema_editor.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS im_search")
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS}")


class Migration(migrations.Migration):
    dependencies = [("intercom_mirror", "0004_inbox_indexes")]

    operations = [
        migrations.CreateModel(
            name="SearchEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.PositiveSmallIntegerField(
                        choices=[(1, "Conversation"), (2, "Part"), (3, "Contact"), (4, "Company"), (5, "Note")]
                    ),
                ),
                ("row_id", models.BigIntegerField(help_text="Primary key of the row the text is from.")),
                ("owner_id", models.BigIntegerField()),
                (
                    "author",
                    models.CharField(blank=True, help_text="Intercom id of who wrote it (for from:).", max_length=64),
                ),
                ("title", models.CharField(blank=True, help_text="A contact's or company's name.", max_length=255)),
                ("email", models.CharField(blank=True, help_text="A contact's email, lower case.", max_length=255)),
                (
                    "body",
                    models.TextField(
                        blank=True, help_text="Plain text as indexed (see intercom_mirror/search/text.py)."
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "search entries",
                "indexes": [
                    models.Index(fields=["owner_id", "kind"], name="search_entry_owner"),
                    models.Index(condition=~models.Q(author=""), fields=["author"], name="search_entry_author"),
                ],
                "constraints": [models.UniqueConstraint(fields=("kind", "row_id"), name="search_entry_row")],
            },
        ),
        migrations.RunPython(create, drop),
    ]
