"""Let "Support staff" read the staff-action log and the staff profiles in the admin."""

from django.db import migrations

from dashboard import permissions as support_staff

VIEWED_MODELS = ["staffaction", "staffprofile"]


def grant(apps, schema_editor):
    support_staff.grant_view(apps, schema_editor, VIEWED_MODELS)


def revoke(apps, schema_editor):
    support_staff.revoke_view(apps, schema_editor, VIEWED_MODELS)


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_support_staff_group"),
        ("intercom_mirror", "0003_staff_write_path"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
