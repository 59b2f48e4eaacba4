from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

# How long we assume Intercom keeps retrying one failed webhook delivery (see WEBHOOK_MAX_AGE_HOURS in settings.py).
INTERCOM_WEBHOOK_RETRY_HOURS = 48


class IntercomMirrorConfig(AppConfig):
    name = "intercom_mirror"
    verbose_name = "Intercom mirror"

    def ready(self) -> None:
        checks.register(check_intercom_settings)
        checks.register(check_sync_settings)
        from intercom_mirror import search  # noqa: F401  (registers the search index's apply listener)
        from intercom_mirror.actions import staff  # noqa: F401  (links staff users to admins on login)


def check_intercom_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Warn about Intercom settings that would make the sync or webhooks fail."""
    found = []
    if not settings.INTERCOM_ACCESS_TOKEN:
        found.append(checks.Warning("INTERCOM_ACCESS_TOKEN is not set: syncs and writes will fail.", id="mirror.W001"))
    if not settings.INTERCOM_API_BASE.startswith(("http://", "https://")):
        found.append(checks.Error("INTERCOM_API_BASE must be an http(s) URL.", id="mirror.E001"))
    if not settings.INTERCOM_CLIENT_SECRET:
        found.append(checks.Warning("INTERCOM_CLIENT_SECRET is not set: webhooks will be rejected.", id="mirror.W002"))
    if settings.INTERCOM_TIMEOUT <= 0 or settings.INTERCOM_WEB_TIMEOUT <= 0:
        found.append(checks.Error("INTERCOM_TIMEOUT and INTERCOM_WEB_TIMEOUT must be positive.", id="mirror.E002"))
    if settings.WEBHOOK_MAX_AGE_HOURS < INTERCOM_WEBHOOK_RETRY_HOURS:
        found.append(
            checks.Warning(
                f"WEBHOOK_MAX_AGE_HOURS={settings.WEBHOOK_MAX_AGE_HOURS} is shorter than the "
                f"{INTERCOM_WEBHOOK_RETRY_HOURS} hours Intercom may keep retrying a delivery: "
                "late genuine retries will be refused as replays.",
                id="mirror.W003",
            )
        )
    return found


def check_sync_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Report sync lock settings under which a live lock holder could lose its lease."""
    found = []
    heartbeat, lease = settings.SYNC_LOCK_HEARTBEAT_SECONDS, settings.SYNC_LOCK_LEASE_SECONDS
    if heartbeat <= 0 or lease <= 0 or settings.SYNC_LOCK_WAIT_SECONDS < 0:
        found.append(
            checks.Error(
                "SYNC_LOCK_HEARTBEAT_SECONDS and SYNC_LOCK_LEASE_SECONDS must be positive, "
                "SYNC_LOCK_WAIT_SECONDS zero or more.",
                id="mirror.E003",
            )
        )
    elif lease < 2 * heartbeat:
        # One late heartbeat (a slow write, a busy database) must not hand a live holder's lock to another pass.
        found.append(
            checks.Error(
                f"SYNC_LOCK_LEASE_SECONDS={lease} must be at least twice SYNC_LOCK_HEARTBEAT_SECONDS={heartbeat}.",
                id="mirror.E004",
            )
        )
    return found
