"""Per-resource sync locks that free themselves when their holder dies.

One interface (`acquire` → `Lock.renew` / `Lock.release`), two implementations
picked by the database:

- PostgreSQL: a session advisory lock per resource. The server releases it as
  soon as the holder's connection dies (crash, SIGKILL, lost machine), so the
  next run takes over at once.
- SQLite (and anything else): a lease in `SyncState` that names its holder
  (host, pid, start) and is renewed by a heartbeat thread. A lease not renewed
  for SYNC_LOCK_LEASE_SECONDS is free; a lease whose holder ran on this machine
  and whose process is gone is free at once.

Either way `SyncState` records the holder, for operators and for the run that
takes over, and `locked_by` names the holding run: a run that lost its lock
finds out before it moves the watermark.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from intercom_mirror.models import SyncState

log = logging.getLogger(__name__)

# First half of every advisory key ("ICMR"), so that ours never meet another application's locks.
ADVISORY_NAMESPACE = int.from_bytes(b"ICMR")
POLL_SECONDS = 1.0

Notify = Callable[[str, str], None]


def wait_seconds() -> float:
    return getattr(settings, "SYNC_LOCK_WAIT_SECONDS", 120)


def heartbeat_seconds() -> float:
    return getattr(settings, "SYNC_LOCK_HEARTBEAT_SECONDS", 15)


def lease_seconds() -> float:
    return getattr(settings, "SYNC_LOCK_LEASE_SECONDS", 120)


class LockBusy(Exception):
    """A live holder kept the resource's lock for as long as we were willing to wait."""

    def __init__(self, resource: str, state: SyncState | None, waited: float) -> None:
        self.resource, self.state, self.waited = resource, state, waited
        holder = state.describe_lock() if state and (state.locked_by or state.locked_host) else "another worker"
        message = f"{resource}: locked by {holder}"
        if waited:
            message += f"; waited {round(waited, 1):g} s"
        super().__init__(message)


@dataclass
class Lock:
    """A held lock on one resource; `previous` is the dead holder it was taken over from."""

    resource: str
    owner: str
    previous: SyncState | None = None
    reason: str = ""  # why the previous holder counts as dead
    advisory_key: tuple[int, int] | None = None
    heartbeat: Heartbeat | None = None

    @property
    def took_over_from(self) -> str:
        return self.previous.holder_since() if self.previous else ""

    def renew(self) -> bool:
        """Record a heartbeat; return False when another run has taken the lock over."""
        return renew(self.resource, self.owner)

    def release(self) -> None:
        """Give the lock up. Never raises: a lock that cannot be released frees itself anyway."""
        if self.heartbeat:
            self.heartbeat.stop()
        try:
            SyncState.objects.filter(resource=self.resource, locked_by=self.owner).update(
                locked_by="", locked_until=None, locked_host="", locked_pid=None, locked_since=None, heartbeat_at=None
            )
            if self.advisory_key:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", self.advisory_key)
        except Exception as exc:  # e.g. the connection died: its advisory lock went with it
            log.warning("could not release the lock on %s: %s", self.resource, exc)


def renew(resource: str, owner: str) -> bool:
    now = timezone.now()
    lease = timedelta(seconds=lease_seconds())
    return bool(
        SyncState.objects.filter(resource=resource, locked_by=owner).update(heartbeat_at=now, locked_until=now + lease)
    )


def take(state: SyncState, owner: str, now: datetime) -> bool:
    """Write ourselves in as holder, provided the row still names the holder we judged."""
    return bool(
        SyncState.objects.filter(resource=state.resource, locked_by=state.locked_by).update(
            locked_by=owner,
            locked_host=socket.gethostname()[:255],
            locked_pid=os.getpid(),
            locked_since=now,
            heartbeat_at=now,
            locked_until=now + timedelta(seconds=lease_seconds()),
        )
    )


def process_gone(pid: int) -> bool:
    """Return True when no process has this pid on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, owned by another user
        return False
    return False


class LeaseLocks:
    """A lease renewed by heartbeats (SQLite has no lock that outlives a statement)."""

    def try_claim(self, resource: str, owner: str) -> Lock | None:
        state, _ = SyncState.objects.get_or_create(resource=resource)
        now = timezone.now()
        reason = self.dead_because(state, now) if state.locked_by else ""
        if state.locked_by and not reason:
            return None
        if not take(state, owner, now):
            return None
        return Lock(resource, owner, previous=state if state.locked_by else None, reason=reason)

    @staticmethod
    def dead_because(state: SyncState, now: datetime) -> str:
        """Return why the recorded holder counts as dead, or "" while it may be alive."""
        if state.locked_until is None or state.locked_until <= now:
            beat = (
                f" (last heartbeat {(now - state.heartbeat_at).total_seconds():.0f} s ago)"
                if state.heartbeat_at
                else ""
            )
            return f"its lease ran out{beat}"
        if state.locked_host == socket.gethostname()[:255] and state.locked_pid and process_gone(state.locked_pid):
            return "its process is gone"
        return ""


class AdvisoryLocks:
    """PostgreSQL session advisory locks: the server frees them when the holder's connection dies."""

    def try_claim(self, resource: str, owner: str) -> Lock | None:
        SyncState.objects.get_or_create(resource=resource)
        key = advisory_key(resource)
        with connection.cursor() as cursor:
            if self.held_by_this_session(cursor, key):
                # Only a claim made earlier on this very connection and never released lands
                # here (PostgreSQL would grant it again): the lease decides whether it is stale.
                state = SyncState.objects.get(resource=resource)
                if state.locked_by and state.locked_until and state.locked_until > timezone.now():
                    return None
                locked_now, reason = False, "its lease ran out (same database session)"
            else:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
                if not cursor.fetchone()[0]:
                    return None
                locked_now, reason = True, "its database session ended"
            # Read only now that we hold the lock: whoever the row still names is dead.
            state = SyncState.objects.get(resource=resource)
            if take(state, owner, timezone.now()):
                return Lock(resource, owner, state if state.locked_by else None, reason, advisory_key=key)
            if locked_now:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            return None

    @staticmethod
    def held_by_this_session(cursor, key: tuple[int, int]) -> bool:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2 AND granted)",
            key,
        )
        return cursor.fetchone()[0]


def advisory_key(resource: str) -> tuple[int, int]:
    """Return the resource's two-part advisory key, the same in every process and PostgreSQL version."""
    digest = hashlib.blake2b(resource.encode(), digest_size=4).digest()
    return ADVISORY_NAMESPACE, int.from_bytes(digest) & 0x7FFFFFFF


def is_advisory() -> bool:
    return connection.vendor == "postgresql"


def backend() -> LeaseLocks | AdvisoryLocks:
    return AdvisoryLocks() if is_advisory() else LeaseLocks()


def acquire(
    resource: str,
    owner: str,
    *,
    wait: float = 0,
    sleep: Callable[[float], None] = time.sleep,
    notify: Notify | None = None,
) -> Lock:
    """Take the resource's lock, polling for up to `wait` seconds; raise LockBusy if a live holder keeps it.

    `notify(resource, holder)` is called once when the lock is busy and we start waiting.
    """
    locks = backend()
    waited = 0.0
    while True:
        lock = locks.try_claim(resource, owner)
        if lock:
            if not lock.advisory_key:  # a lease lives only as long as it is renewed
                lock.heartbeat = Heartbeat(resource, owner, heartbeat_seconds())
                lock.heartbeat.start()
            return lock
        if waited >= wait:
            raise LockBusy(resource, SyncState.objects.filter(resource=resource).first(), waited)
        if notify and not waited:
            notify(resource, str(LockBusy(resource, SyncState.objects.filter(resource=resource).first(), 0)))
        step = min(POLL_SECONDS, wait - waited)
        sleep(step)
        waited += step


class Heartbeat(threading.Thread):
    """Renew a lease every few seconds from a connection of its own, until stopped."""

    def __init__(self, resource: str, owner: str, interval: float) -> None:
        super().__init__(name=f"sync-lock-{resource}", daemon=True)
        self.resource, self.owner, self.interval = resource, owner, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    if not renew(self.resource, self.owner):
                        return  # taken over: the run finds out at its next page
                except Exception as exc:  # a missed beat is retried; the lease outlasts several
                    log.warning("heartbeat for %s failed: %s", self.resource, exc)
        finally:
            connections[DEFAULT_DB_ALIAS].close()  # Django connections are per thread: this one is ours

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
