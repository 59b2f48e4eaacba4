"""Runs: claim a resource, pass over it, record what happened, move the watermark.

A run holds a lease on its resource (`SyncState.locked_until`), claimed with a
conditional UPDATE and renewed after every page; a crashed worker's lease runs
out, so the next run can take over without anyone clearing it by hand.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from intercom_mirror.api import IntercomClient
from intercom_mirror.logutil import redact
from intercom_mirror.models import SyncRun, SyncState
from intercom_mirror.sync.upsert import UpsertResult

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
Progress = Callable[[str, int, int | None], None]


class LockLost(Exception):
    """Another worker took the resource over (our lease ran out)."""


@dataclass
class SyncContext:
    """What a resource pass needs: the client, its run, the clock, and a way to report progress."""

    client: IntercomClient
    run: SyncRun
    owner: str
    progress: Progress | None = None
    sleep: Callable[[float], None] = time.sleep
    # Highest `updated_at` seen in this pass (server time), for the incremental watermark.
    newest: datetime | None = None
    total: int | None = None
    notes: list[str] = field(default_factory=list)
    # Intercom id → pk of tags, segments and companies already in the mirror, per model.
    known_refs: dict = field(default_factory=dict)
    # Set by an incremental pass that had to read the resource whole.
    did_full: bool = False

    @property
    def resource(self) -> str:
        return self.run.resource

    def now(self) -> datetime:
        return timezone.now()

    def record(self, result: UpsertResult, fetched: int) -> None:
        """Add one written page to the run's figures and keep the lease alive."""
        self.run.fetched += fetched
        self.run.created += result.created
        self.run.updated += result.updated
        self.renew_lease()
        if self.progress:
            self.progress(self.resource, self.run.fetched, self.total)

    def saw(self, updated_at: datetime | None) -> None:
        if updated_at and (self.newest is None or updated_at > self.newest):
            self.newest = updated_at

    def renew_lease(self) -> None:
        until = timezone.now() + LEASE
        if not SyncState.objects.filter(resource=self.resource, locked_by=self.owner).update(locked_until=until):
            raise LockLost(f"the lock on {self.resource} was taken over")


def claim(resource: str, owner: str) -> bool:
    """Take the resource's lease if nobody holds a live one; return True on success."""
    SyncState.objects.get_or_create(resource=resource)
    now = timezone.now()
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    return bool(SyncState.objects.filter(free, resource=resource).update(locked_by=owner, locked_until=now + LEASE))


def release(resource: str, owner: str) -> None:
    SyncState.objects.filter(resource=resource, locked_by=owner).update(locked_by="", locked_until=None)


def abandon_stale_runs(resource: str, current: SyncRun) -> None:
    """Mark runs left 'running' by a crashed worker: we hold the lock, so they are dead."""
    SyncRun.objects.filter(resource=resource, status=SyncRun.RUNNING).exclude(pk=current.pk).update(
        status=SyncRun.ABANDONED, finished_at=timezone.now()
    )


def server_time(client: IntercomClient, local: float) -> datetime:
    """Return a moment of the client's clock as the API's clock showed it."""
    return datetime.fromtimestamp(local + client.server_offset, tz=UTC)


def overlap() -> timedelta:
    return timedelta(seconds=settings.SYNC_OVERLAP_SECONDS)


def run_pass(
    resource: str,
    full_pass: Callable[[SyncContext], None],
    incremental_pass: Callable[[SyncContext, datetime], None] | None,
    *,
    full: bool,
    client: IntercomClient,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncRun:
    """Run one pass over a resource under its lock and return the finished SyncRun."""
    owner = uuid.uuid4().hex
    if not claim(resource, owner):
        return SyncRun.objects.create(
            resource=resource,
            kind=SyncRun.FULL if full else SyncRun.INCREMENTAL,
            status=SyncRun.SKIPPED,
            finished_at=timezone.now(),
            errors="Another sync of this resource is running.",
        )
    state = SyncState.objects.get(resource=resource)
    full = full or incremental_pass is None or state.watermark is None
    run = SyncRun.objects.create(resource=resource, kind=SyncRun.FULL if full else SyncRun.INCREMENTAL)
    abandon_stale_runs(resource, run)
    ctx = SyncContext(client=client, run=run, owner=owner, progress=progress, sleep=sleep)
    requests_before = client.request_count
    started = client.clock()  # in the client's clock, which its Date headers relate to the API's
    try:
        if full:
            full_pass(ctx)
            # Everything changed since the API's clock read `started` is caught next time.
            watermark = server_time(client, started)
        else:
            incremental_pass(ctx, state.watermark - overlap())
            # Never past the pass's own start: a record dated in the future must not
            # hide the updates that come before it.
            newest = min(ctx.newest, server_time(client, started)) if ctx.newest else None
            watermark = max(filter(None, [state.watermark, newest]))
        full_done = full or ctx.did_full
        # The pages are committed by now: only then may the watermark move past them,
        # and only while this run still holds the lock.
        moved = SyncState.objects.filter(resource=resource, locked_by=owner).update(
            watermark=watermark, **({"last_full_at": run.started_at} if full_done else {})
        )
        if not moved:
            raise LockLost(f"the lock on {resource} was taken over before the watermark moved")
        status, error = SyncRun.OK, ""
    except Exception as exc:  # a run records any failure; the next run resumes from the watermark
        log.warning("sync of %s failed: %s", resource, redact(str(exc)))
        status, error = SyncRun.FAILED, redact(f"{type(exc).__name__}: {exc}")
    finally:
        release(resource, owner)
    run.api_requests = client.request_count - requests_before
    if ctx.notes:
        run.errors = "\n".join(ctx.notes)
    run.finish(status, error)
    return run
