"""Indexes for the inbox's default sort (latest activity) and its counts, over live conversations only.

Measured with bench/pages.py at 200,000 conversations on PostgreSQL, before these:
- a folder's first page in the default sort read its rows through `conv_state_updated`
  (state, updated_at), which has no id and is not partial: PostgreSQL sorted every row
  of the range it read again by (updated_at, id), and for Unassigned read and filtered
  4,500 open conversations, joining each one's customer, to show 50 (110 ms; All closed
  260 ms);
- the folders' grouped count of open conversations, and each list's count, read every
  counted conversation's row from the table (wide: raw JSON, the opening message): the
  grouped count read 18,600 table blocks (150 MB) for 28,000 open conversations (360 ms).

With these, a first page reads 51 index entries in order (3-7 ms), and the counts are
index-only scans (grouped count 8 ms):
- `conv_live_state_updated` (state, updated_at desc, id desc): All and Unassigned's rows;
- `conv_live_admin_state_updated`, `conv_live_team_state_updated` (assignee, state,
  updated_at desc, id desc): an admin's (Mine) and a team's rows, and their counts;
- `conv_live_state_assignees` (state, team, admin, id): the grouped count of open
  conversations (it counts ids, so the id is in the index), and the counts of All and
  Unassigned.
Descending columns put NULLs first, as the inbox's descending sorts do.

Added to the database only, as 0004's: Conversation.Meta does not list them (the inbox
owns no model code), so the migration state is left alone and makemigrations stays clean.
"""

from django.db import migrations, models

LIVE = models.Q(deleted_at__isnull=True)

INDEXES = [
    models.Index(fields=["state", "-updated_at", "-id"], condition=LIVE, name="conv_live_state_updated"),
    models.Index(
        fields=["assignee_admin", "state", "-updated_at", "-id"], condition=LIVE, name="conv_live_admin_state_updated"
    ),
    models.Index(
        fields=["assignee_team", "state", "-updated_at", "-id"], condition=LIVE, name="conv_live_team_state_updated"
    ),
    models.Index(
        fields=["state", "assignee_team", "assignee_admin", "id"], condition=LIVE, name="conv_live_state_assignees"
    ),
]


class Migration(migrations.Migration):
    dependencies = [("intercom_mirror", "0007_search_email")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AddIndex(model_name="conversation", index=index) for index in INDEXES],
            state_operations=[],
        )
    ]
