"""The sync engine: Intercom API → mirror models.

`sync(resource)` runs one pass (full or incremental) over one resource and
returns its `SyncRun`; `sync_all()` runs every resource in dependency order;
`resync_*` refresh one record. Tasks, commands and the admin call these only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from django.conf import settings

from intercom_mirror.api import IntercomClient
from intercom_mirror.models import SyncRun
from intercom_mirror.sync.engine import Progress, run_pass
from intercom_mirror.sync.records import resync_company, resync_contact, resync_conversation
from intercom_mirror.sync.resources import RESOURCES

RESYNCERS = {"contact": resync_contact, "company": resync_company, "conversation": resync_conversation}

__all__ = [
    "RESOURCES",
    "RESYNCERS",
    "make_client",
    "resync_company",
    "resync_contact",
    "resync_conversation",
    "sync",
    "sync_all",
]


def resync_many(kind: str, intercom_ids: Iterable[str]) -> tuple[int, int, list[str]]:
    """Resync several records of one kind; return (synced, flagged deleted, errors)."""
    from intercom_mirror.api import IntercomError

    synced = deleted = 0
    errors: list[str] = []
    with make_client() as client:
        for intercom_id in intercom_ids:
            try:
                row = RESYNCERS[kind](client, intercom_id)
            except IntercomError as exc:
                errors.append(f"{kind} {intercom_id}: {exc}")
                continue
            synced, deleted = (synced + 1, deleted) if row is not None else (synced, deleted + 1)
    return synced, deleted, errors


def make_client(**overrides) -> IntercomClient:
    """Return a client that leaves part of every rate-limit window to staff writes."""
    return IntercomClient.from_settings(reserve=settings.INTERCOM_SYNC_RESERVE, **overrides)


def sync(
    resource: str,
    *,
    full: bool = False,
    client: IntercomClient | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncRun:
    """Run one pass over a resource and return its SyncRun."""
    full_pass, incremental_pass = RESOURCES[resource]
    if client is not None:
        return run_pass(resource, full_pass, incremental_pass, full=full, client=client, progress=progress, sleep=sleep)
    with make_client() as own_client:
        return run_pass(
            resource, full_pass, incremental_pass, full=full, client=own_client, progress=progress, sleep=sleep
        )


def sync_all(
    *,
    full: bool = False,
    only: Iterable[str] | None = None,
    client: IntercomClient | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SyncRun]:
    """Run every resource (or those in `only`) in an order where references resolve."""
    wanted = list(only) if only else list(RESOURCES)
    unknown = set(wanted) - set(RESOURCES)
    if unknown:
        raise ValueError(f"unknown resources: {', '.join(sorted(unknown))}")
    ordered = [r for r in RESOURCES if r in wanted]
    if client is not None:
        return [sync(r, full=full, client=client, progress=progress, sleep=sleep) for r in ordered]
    with make_client() as own_client:
        return [sync(r, full=full, client=own_client, progress=progress, sleep=sleep) for r in ordered]
