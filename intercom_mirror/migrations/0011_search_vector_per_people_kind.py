"""One full-text index per kind of people entry (contacts, companies, notes) instead of one for the three, PostgreSQL only.

A contacts search asks for `kind = 3 AND vector @@ q`. With one index over kinds 3, 4 and 5,
the planner still had `kind = 3` to apply, and when it expected many matches it ANDed the
index's list with the `(kind, row_id)` index's million contacts: measured with bench/pages.py,
"account" (in 3,922 notes and no contact's fields) cost 141 ms, 140 of them reading that
million. With an index whose predicate is `kind = 3`, the kind is already answered and the same
search reads 0.7 ms of index. Together the three are the size of the one they replace.

SQLite needs nothing (see 0009). Building them takes about 30 s at a million people entries
(writes to the entries wait meanwhile).
"""

from django.db import migrations

ENTRY = "intercom_mirror_searchentry"
KINDS = {"contact": 3, "company": 4, "note": 5}  # SearchEntry.CONTACT, COMPANY, NOTE


def per_kind(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, kind in KINDS.items():
        schema_editor.execute(
            f"CREATE INDEX search_entry_{name}_vector ON {ENTRY} USING gin (vector) WHERE kind = {kind}"
        )
    schema_editor.execute("DROP INDEX IF EXISTS search_entry_people_vector")


def one_for_all(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX search_entry_people_vector ON {ENTRY} USING gin (vector) WHERE kind IN (3, 4, 5)"
    )
    for name in KINDS:
        schema_editor.execute(f"DROP INDEX IF EXISTS search_entry_{name}_vector")


class Migration(migrations.Migration):
    dependencies = [("intercom_mirror", "0010_contact_live_pk")]

    operations = [migrations.RunPython(per_kind, one_for_all)]
