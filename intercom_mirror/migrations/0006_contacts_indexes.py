"""Indexes for the contacts list: its three sorts (keyset) and its prefix search.

- `contact_live_seen`, `contact_live_created`, `contact_live_name`: each holds a
  sort key and the id, so a keyset page starts reading at its cursor (the rows
  without a value, read last, are one range of the same index);
- `contact_lower_email|name|user_id`: LOWER(column), for the case-insensitive prefix
  search (`LOWER(email) LIKE 'ab%'`). On PostgreSQL they use text_pattern_ops, which
  serves LIKE prefixes under any collation; SQLite gets plain expression indexes.

All are partial (live rows only): the list never shows deleted contacts. They are
added to the database only: Contact.Meta does not list them (the contacts pages own
no model code), so the migration state is left alone and makemigrations stays clean.
"""

from django.db import migrations, models

LIVE = models.Q(deleted_at__isnull=True)
SEARCHED = ("email", "name", "user_id")

SORT_INDEXES = [
    models.Index(fields=["-last_request_at", "-id"], condition=LIVE, name="contact_live_seen"),
    models.Index(fields=["-created_at", "-id"], condition=LIVE, name="contact_live_created"),
    models.Index(fields=["name", "id"], condition=LIVE, name="contact_live_name"),
]


TABLE = "intercom_mirror_contact"


def search_indexes(schema_editor) -> list[str]:
    """Return the CREATE INDEX statements of the search (written out: OpClass needs django.contrib.postgres)."""
    opclass = " text_pattern_ops" if schema_editor.connection.vendor == "postgresql" else ""
    return [
        f"CREATE INDEX contact_lower_{c} ON {TABLE} (LOWER({c}){opclass}) WHERE deleted_at IS NULL" for c in SEARCHED
    ]


def add(apps, schema_editor) -> None:
    contact = apps.get_model("intercom_mirror", "Contact")
    for index in SORT_INDEXES:
        schema_editor.add_index(contact, index)
    for statement in search_indexes(schema_editor):
        schema_editor.execute(statement)


def remove(apps, schema_editor) -> None:
    contact = apps.get_model("intercom_mirror", "Contact")
    for index in SORT_INDEXES:
        schema_editor.remove_index(contact, index)
    for column in SEARCHED:
        schema_editor.execute(f"DROP INDEX IF EXISTS contact_lower_{column}")


class Migration(migrations.Migration):
    dependencies = [("intercom_mirror", "0005_search")]

    operations = [migrations.RunPython(add, remove)]
