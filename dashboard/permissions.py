"""Permissions of the "Support staff" group, for the data migrations that grant them."""

from django.contrib.auth.management import create_permissions

GROUP = "Support staff"


def ensure_permissions(apps, using: str) -> None:
    # Permissions are made by a post_migrate signal, after every migration ran: on a new
    # database they don't exist yet (the migration state's app configs lack a models module).
    app_config = apps.get_app_config("intercom_mirror")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    try:
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
    finally:
        app_config.models_module = models_module


def view_permissions(apps, using: str, models: list[str]):
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"view_{model}" for model in models]
    return Permission.objects.using(using).filter(content_type__app_label="intercom_mirror", codename__in=codenames)


def grant_view(apps, schema_editor, models: list[str]) -> None:
    using = schema_editor.connection.alias
    ensure_permissions(apps, using)
    group, _ = apps.get_model("auth", "Group").objects.using(using).get_or_create(name=GROUP)
    group.permissions.add(*view_permissions(apps, using, models))


def revoke_view(apps, schema_editor, models: list[str]) -> None:
    using = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*view_permissions(apps, using, models))
