"""A full-text index over the people's entries only (contacts, companies, notes), PostgreSQL only.

Searching contacts or companies asks for entries of their kinds (`kind IN (3)`) whose
vector matches. The GIN index over every entry cannot tell kinds apart, and conversations'
parts are most of the entries: measured with bench/pages.py at 5.8 million entries, the
phrase "credit card" found 195,000 matching entries through it, visited their table blocks
(lossy: 66,000 of them) and kept none of kind 3, to show 5 contacts (1.9 s). This partial
GIN index holds the million people entries only, and answers the same in 8 ms. The
conversation searches (kinds 1 and 2) keep using the index over every entry.

SQLite needs nothing: its FTS5 index is matched first and joined to the entries by rowid.
Building it takes about 30 s at a million people entries (writes to the entries wait meanwhile).
"""

from django.db import migrations

ENTRY = "intercom_mirror_searchentry"


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX search_entry_people_vector ON {ENTRY} USING gin (vector) WHERE kind IN (3, 4, 5)"
        )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_entry_people_vector")


class Migration(migrations.Migration):
    dependencies = [("intercom_mirror", "0008_inbox_latest_indexes")]

    operations = [migrations.RunPython(create, drop)]
