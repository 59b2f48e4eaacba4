"""django-q2 entry points. Each one only calls the sync layer."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from intercom_mirror import sync

INCREMENTAL_TASK = "intercom_mirror.tasks.incremental_sync"
FULL_TASK = "intercom_mirror.tasks.full_sync"
PRUNE_TASK = "intercom_mirror.tasks.prune_webhook_deliveries"
ACTIONS_TASK = "intercom_mirror.tasks.send_queued_actions"
RETRY_NAME = "Intercom full sync retry"
RETRY_MINUTES = 15
FULL_SYNC_ATTEMPTS = 4  # the nightly run and three retries: a lock held longer than that is a stuck worker


class SyncFailed(Exception):
    """Raised so that django-q2 records the task as failed, not successful."""


class SyncSkipped(SyncFailed):
    """A full sync could not lock some resources (another sync held them past the wait)."""


def incremental_sync() -> str:
    # A resource locked by another sync is skipped: the next pass, minutes later, catches up.
    return checked(sync.sync_all(full=False))


def full_sync(only: list[str] | None = None, attempt: int = 1) -> str:
    """Run a full sync; resources another sync kept locked are retried later, and the task fails."""
    runs = sync.sync_all(full=True, only=only)
    skipped = [r.resource for r in runs if r.status == r.SKIPPED]
    if not skipped:
        return checked(runs)
    if attempt >= FULL_SYNC_ATTEMPTS:
        raise SyncSkipped(f"{summarise(runs)}; gave up after {attempt} attempts")
    retry = schedule_full_retry(skipped, attempt + 1)
    raise SyncSkipped(f"{summarise(runs)}; retrying {', '.join(skipped)} at {retry.next_run:%H:%M}")


def schedule_full_retry(resources: list[str], attempt: int) -> Schedule:
    """Schedule one full sync of these resources in RETRY_MINUTES, replacing any retry still pending."""
    Schedule.objects.filter(name=RETRY_NAME).delete()
    return schedule(
        FULL_TASK,
        name=RETRY_NAME,
        schedule_type=Schedule.ONCE,
        next_run=timezone.now() + timedelta(minutes=RETRY_MINUTES),
        only=resources,
        attempt=attempt,
    )


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
    queue_task("intercom_mirror.tasks.resync_record", kind, intercom_id)


def queue_task(func: str, *args) -> None:
    """Queue a django-q2 task once the current transaction commits."""
    transaction.on_commit(lambda: async_task(func, *args))


def find_merged_lead(user_id: str) -> str:
    """After `contact.signed_up` for an existing user: find and record the lead merged into it."""
    from intercom_mirror.sync.merges import find_leads_merged_into

    with sync.make_client() as client:
        user = client.get_user(user_id)
        return "; ".join(find_leads_merged_into(client, user)) or f"no merged lead found for user {user_id}"


def send_queued_actions() -> str:
    """Send the staff actions queued while Intercom was unreachable, in order, with backoff."""
    from intercom_mirror.actions import process_queued_actions

    figures = process_queued_actions()
    return ", ".join(f"{k}={v}" for k, v in figures.items())


def prune_webhook_deliveries() -> str:
    """Drop webhook payloads older than WEBHOOK_MAX_AGE_HOURS (their id, topic and outcome stay)."""
    from intercom_mirror.webhooks import prune_deliveries

    return f"pruned {prune_deliveries()} webhook payloads"


def summarise(runs) -> str:
    return ", ".join(f"{r.resource}={r.status}" for r in runs)


def ensure_schedules() -> list[Schedule]:
    """Create or update the sync schedules and the hourly webhook pruning (safe to run repeatedly)."""
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
    prune, _ = Schedule.objects.update_or_create(
        name="Prune webhook payloads",
        defaults={"func": PRUNE_TASK, "schedule_type": Schedule.HOURLY, "repeats": -1},
    )
    actions, _ = Schedule.objects.update_or_create(
        name="Send queued staff actions",
        defaults={"func": ACTIONS_TASK, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
    return [incremental, full, prune, actions]
