from __future__ import annotations

import ast
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from intercom_mirror import tasks
from intercom_mirror.models import Contact, SyncRun
from intercom_mirror.sync import engine


@pytest.mark.django_db
def test_it_creates_the_schedules_once(settings):
    settings.SYNC_INTERVAL_MINUTES = 7
    tasks.ensure_schedules()
    tasks.ensure_schedules()
    schedules = {s.name: s for s in Schedule.objects.all()}
    assert len(schedules) == 4
    incremental = schedules["Intercom incremental sync"]
    assert (incremental.func, incremental.schedule_type, incremental.minutes) == (tasks.INCREMENTAL_TASK, "I", 7)
    full = schedules["Intercom full sync"]
    assert (full.func, full.schedule_type) == (tasks.FULL_TASK, "D")
    assert full.next_run.hour == settings.SYNC_FULL_HOUR
    prune = schedules["Prune webhook payloads"]
    assert (prune.func, prune.schedule_type) == (tasks.PRUNE_TASK, "H")


@pytest.mark.django_db
def test_it_runs_the_scheduled_syncs_through_the_sync_layer(live_sandbox):
    assert "users=ok" in tasks.full_sync()
    assert Contact.objects.filter(role="user").count() == 80
    assert "users=ok" in tasks.incremental_sync()
    assert SyncRun.objects.filter(kind="incremental", resource="users").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_queues_a_record_resync_that_runs_inline_in_tests(live_sandbox):
    contact_id = next(iter(live_sandbox.workspace.users))
    tasks.queue_resync("contact", str(contact_id))
    assert Contact.objects.filter(intercom_id=str(contact_id)).exists()


@pytest.mark.django_db
def test_it_fails_the_task_when_a_resource_fails(live_sandbox, settings):
    settings.INTERCOM_ACCESS_TOKEN = "not-the-token"
    with pytest.raises(tasks.SyncFailed, match="admins=failed"):
        tasks.incremental_sync()


@pytest.mark.django_db
def test_it_fails_the_full_sync_and_retries_it_later_when_a_resource_stays_locked(live_sandbox, settings):
    settings.SYNC_LOCK_WAIT_SECONDS = 0
    assert engine.claim("tags", "another-run")
    with pytest.raises(tasks.SyncSkipped, match=r"tags=skipped.*; retrying tags at \d\d:\d\d"):
        tasks.full_sync()
    retry = Schedule.objects.get(name=tasks.RETRY_NAME)
    assert (retry.func, retry.schedule_type) == (tasks.FULL_TASK, Schedule.ONCE)
    assert ast.literal_eval(retry.kwargs) == {"only": ["tags"], "attempt": 2}
    assert abs(retry.next_run - timezone.now() - timedelta(minutes=tasks.RETRY_MINUTES)) < timedelta(seconds=30)

    engine.release("tags", "another-run")
    assert tasks.full_sync(**ast.literal_eval(retry.kwargs)) == "tags=ok"


@pytest.mark.django_db
def test_it_gives_up_retrying_after_the_last_attempt(live_sandbox, settings):
    settings.SYNC_LOCK_WAIT_SECONDS = 0
    assert engine.claim("tags", "stuck-run")
    with pytest.raises(tasks.SyncSkipped, match="gave up after 4 attempts"):
        tasks.full_sync(only=["tags"], attempt=tasks.FULL_SYNC_ATTEMPTS)
    assert not Schedule.objects.filter(name=tasks.RETRY_NAME).exists()
    engine.release("tags", "stuck-run")


@pytest.mark.django_db
def test_it_lets_the_incremental_sync_skip_a_locked_resource(live_sandbox):
    assert engine.claim("tags", "another-run")
    assert "tags=skipped" in tasks.incremental_sync()
    assert not Schedule.objects.filter(name=tasks.RETRY_NAME).exists()
    engine.release("tags", "another-run")
