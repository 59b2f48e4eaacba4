from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class IntercomMirrorConfig(AppConfig):
    name = "intercom_mirror"
    verbose_name = "Intercom mirror"

    def ready(self) -> None:
        checks.register(check_intercom_settings)


def check_intercom_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Warn about Intercom settings that would make the sync or webhooks fail."""
    found = []
    if not settings.INTERCOM_ACCESS_TOKEN:
        found.append(checks.Warning("INTERCOM_ACCESS_TOKEN is not set: syncs and writes will fail.", id="mirror.W001"))
    if not settings.INTERCOM_API_BASE.startswith(("http://", "https://")):
        found.append(checks.Error("INTERCOM_API_BASE must be an http(s) URL.", id="mirror.E001"))
    if not settings.INTERCOM_CLIENT_SECRET:
        found.append(checks.Warning("INTERCOM_CLIENT_SECRET is not set: webhooks will be rejected.", id="mirror.W002"))
    return found
