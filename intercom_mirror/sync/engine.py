"""Runs: lock a resource, pass over it, record what happened, move the watermark.

A run holds its resource's lock (`sync.locks`) for the whole pass. A lock frees
itself when its holder dies, so the next run takes over without anyone clearing
it by hand, and says so in its SyncRun. Scheduled incremental passes skip a
locked resource at once; full passes, and any pass inside `waiting_for_locks()`
(an operator typed the command), wait a bounded time first.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from intercom_mirror.api import IntercomClient
from intercom_mirror.logutil import redact
from intercom_mirror.models import SyncRun, SyncState
from intercom_mirror.sync import locks

if TYPE_CHECKING:  # annotation only: the writer's module is being moved
    from intercom_mirror.apply import UpsertResult

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]
# Set by `waiting_for_locks()`: how long every pass in the block waits for its lock, and whom to tell.
lock_wait: ContextVar[tuple[float, locks.Notify | None] | None] = ContextVar("lock_wait", default=None)


class LockLost(Exception):
    """Another run took the resource's lock over (ours was judged dead)."""


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
    # Intercom ids of the contacts this pass wrote.
    changed_contacts: set[str] = field(default_factory=set)

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
        if not locks.renew(self.resource, self.owner):
            raise LockLost(f"the lock on {self.resource} was taken over")


@contextmanager
def waiting_for_locks(seconds: float, notify: locks.Notify | None = None) -> Iterator[None]:
    """Make every pass run in the block wait up to `seconds` for a busy lock instead of skipping."""
    token = lock_wait.set((seconds, notify))
    try:
        yield
    finally:
        lock_wait.reset(token)


def claim(resource: str, owner: str) -> bool:
    """Take the resource's lock without waiting or heartbeats, until `release`; return True on success."""
    return locks.backend().try_claim(resource, owner) is not None


def release(resource: str, owner: str) -> None:
    """Give up a lock taken with `claim`."""
    locks.Lock(resource, owner, advisory_key=locks.advisory_key(resource) if locks.is_advisory() else None).release()


def abandon_stale_runs(resource: str, current: SyncRun) -> int:
    """Mark runs left 'running' by a crashed worker: we hold the lock, so they are dead; return how many."""
    return (
        SyncRun.objects.filter(resource=resource, status=SyncRun.RUNNING)
        .exclude(pk=current.pk)
        .update(status=SyncRun.ABANDONED, finished_at=timezone.now())
    )


def server_time(client: IntercomClient, local: float) -> datetime:
    """Return a moment of the client's clock as the API's clock showed it."""
    return datetime.fromtimestamp(local + client.server_offset, tz=UTC)


def overlap() -> timedelta:
    return timedelta(seconds=settings.SYNC_OVERLAP_SECONDS)


def wait_for(full: bool) -> tuple[float, locks.Notify | None]:
    """Return how long a pass waits for its lock: a full pass or an operator's waits, a scheduled one skips."""
    chosen = lock_wait.get()
    if chosen is not None:
        return chosen
    return (locks.wait_seconds() if full else 0), None


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
    wait, notify = wait_for(full)
    asked = timezone.now()
    try:
        # `sleep` is the client's clock, so a test with a fake clock waits no real time.
        lock = locks.acquire(resource, owner, wait=wait, sleep=sleep, notify=notify)
    except locks.LockBusy as busy:
        return SyncRun.objects.create(
            resource=resource,
            kind=SyncRun.FULL if full else SyncRun.INCREMENTAL,
            status=SyncRun.SKIPPED,
            started_at=asked,
            finished_at=timezone.now(),
            notes=str(busy),
        )
    try:
        return locked_pass(lock, full_pass, incremental_pass, full=full, client=client, progress=progress, sleep=sleep)
    finally:
        lock.release()


def locked_pass(
    lock: locks.Lock,
    full_pass: Callable[[SyncContext], None],
    incremental_pass: Callable[[SyncContext, datetime], None] | None,
    *,
    full: bool,
    client: IntercomClient,
    progress: Progress | None,
    sleep: Callable[[float], None],
) -> SyncRun:
    resource, owner = lock.resource, lock.owner
    state = SyncState.objects.get(resource=resource)
    full = full or incremental_pass is None or state.watermark is None
    run = SyncRun.objects.create(
        resource=resource, kind=SyncRun.FULL if full else SyncRun.INCREMENTAL, took_over_from=lock.took_over_from
    )
    abandoned = abandon_stale_runs(resource, run)
    if lock.took_over_from:
        run.add_note(
            f"took over the lock of {lock.took_over_from}: {lock.reason}"
            + (f"; marked its {abandoned} unfinished run{'s' if abandoned > 1 else ''} abandoned" if abandoned else "")
        )
        log.warning("%s: %s", resource, run.notes)
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
    run.api_requests = client.request_count - requests_before
    for note in ctx.notes:
        run.add_note(note)
    run.finish(status, error)
    return run
