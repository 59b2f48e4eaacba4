"""django-q2 entry points. Each one only calls the sync layer."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from intercom_mirror import sync

INCREMENTAL_TASK = "intercom_mirror.tasks.incremental_sync"
FULL_TASK = "intercom_mirror.tasks.full_sync"


class SyncFailed(Exception):
    """Raised so that django-q2 records the task as failed, not successful."""


def incremental_sync() -> str:
    return checked(sync.sync_all(full=False))


def full_sync() -> str:
    return checked(sync.sync_all(full=True))


def checked(runs) -> str:
    """Return the runs' summary, or raise if any resource failed."""
    summary = summarise(runs)
    if any(r.status == r.FAILED for r in runs):
        raise SyncFailed(summary)
    return summary


def resync_record(kind: str, intercom_id: str) -> str:
    """Refresh one contact, company or conversation from the API."""
    with sync.make_client() as client:
        row = sync.RESYNCERS[kind](client, intercom_id)
    return f"{kind} {intercom_id}: {'deleted' if row is None else 'synced'}"


def queue_resync(kind: str, intercom_id: str) -> None:
    """Queue a per-record resync once the current transaction commits."""
    if kind not in sync.RESYNCERS:
        raise ValueError(f"cannot resync a {kind}")
    transaction.on_commit(lambda: async_task("intercom_mirror.tasks.resync_record", kind, intercom_id))


def summarise(runs) -> str:
    return ", ".join(f"{r.resource}={r.status}" for r in runs)


def ensure_schedules() -> list[Schedule]:
    """Create or update the incremental and nightly full sync schedules (safe to run repeatedly)."""
    now = timezone.now()
    nightly = now.replace(hour=settings.SYNC_FULL_HOUR, minute=0, second=0, microsecond=0)
    if nightly <= now:
        nightly += timezone.timedelta(days=1)
    incremental, _ = Schedule.objects.update_or_create(
        name="Intercom incremental sync",
        defaults={
            "func": INCREMENTAL_TASK,
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.SYNC_INTERVAL_MINUTES,
            "repeats": -1,
        },
    )
    full, created = Schedule.objects.get_or_create(
        name="Intercom full sync",
        defaults={"func": FULL_TASK, "schedule_type": Schedule.DAILY, "repeats": -1, "next_run": nightly},
    )
    if not created and (full.func, full.schedule_type) != (FULL_TASK, Schedule.DAILY):
        full.func, full.schedule_type = FULL_TASK, Schedule.DAILY
        full.save()
    return [incremental, full]
