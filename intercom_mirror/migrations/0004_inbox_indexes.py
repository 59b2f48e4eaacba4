"""Indexes for the inbox's sorts by creation and by waiting time (latest activity has its own already).

Each holds the whole sort key, id last, so a keyset page starts reading at its
cursor; partial (live rows only), as the inbox never lists deleted ones. They are
added to the database only: Conversation.Meta does not list them (the inbox owns
no model code), so the migration state is left alone and makemigrations stays clean.
"""

from django.db import migrations, models

LIVE = models.Q(deleted_at__isnull=True)

INDEXES = [
    models.Index(fields=["state", "created_at", "id"], condition=LIVE, name="conv_live_state_created"),
    models.Index(fields=["state", "waiting_since", "created_at", "id"], condition=LIVE, name="conv_live_state_waiting"),
]


class Migration(migrations.Migration):
    dependencies = [("intercom_mirror", "0003_staff_write_path")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AddIndex(model_name="conversation", index=index) for index in INDEXES],
            state_operations=[],
        )
    ]
