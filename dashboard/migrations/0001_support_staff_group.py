"""Create the "Support staff" group: what a staff user who is not a superuser needs to use the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Support staff"
# Every mirrored model, and the sync's bookkeeping, viewed (never changed) in the admin.
VIEWED_MODELS = [
    "admin", "team", "tag", "segment", "company", "contact", "conversation", "conversationpart", "note",
    "syncstate", "syncrun", "webhookdelivery",
]  # fmt: skip


def create_support_staff_group(apps, schema_editor):
    using = schema_editor.connection.alias
    # Permissions are made by a post_migrate signal, after every migration ran: on a new
    # database they don't exist yet, so make them now (create_permissions skips an app
    # config without a models module, which the migration state's stub configs lack).
    app_config = apps.get_app_config("intercom_mirror")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    try:
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
    finally:
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(using).get_or_create(name=GROUP)
    codenames = [f"view_{model}" for model in VIEWED_MODELS]
    permissions = Permission.objects.using(using).filter(
        content_type__app_label="intercom_mirror", codename__in=codenames
    )
    group.permissions.add(*permissions)


def remove_support_staff_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("intercom_mirror", "0002_trust"),
    ]

    operations = [migrations.RunPython(create_support_staff_group, remove_support_staff_group)]
