"""What the mirror holds and how fresh it is: the figures an operator checks first."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from intercom_mirror.models import Company, Contact, Conversation, SyncRun, SyncState
from intercom_mirror.sync.resources import RESOURCES


@dataclass
class MirrorStatus:
    users: int
    leads: int
    companies: int
    conversations: dict[str, int]
    runs: list[SyncRun]  # the latest run of each resource, in sync order; running ones carry `holder`
    failing: list[SyncRun]


def mirror_status() -> MirrorStatus:
    """Return record counts and the latest run of every resource (a handful of queries)."""
    contacts = Contact.objects.live().aggregate(
        users=Count("pk", filter=Q(role=Contact.USER)), leads=Count("pk", filter=Q(role=Contact.LEAD))
    )
    conversations = Conversation.objects.live().aggregate(
        open=Count("pk", filter=Q(state=Conversation.OPEN)),
        snoozed=Count("pk", filter=Q(state=Conversation.SNOOZED)),
        closed=Count("pk", filter=Q(state=Conversation.CLOSED)),
        unassigned=Count(
            "pk", filter=Q(state=Conversation.OPEN, assignee_admin__isnull=True, assignee_team__isnull=True)
        ),
        drifting=Count("pk", filter=Q(parts_total__gt=F("parts_synced"))),
    )
    runs = latest_runs()
    show_holders(runs)
    return MirrorStatus(
        users=contacts["users"],
        leads=contacts["leads"],
        companies=Company.objects.live().count(),
        conversations=conversations,
        runs=runs,
        failing=[r for r in runs if r.status == SyncRun.FAILED],
    )


def latest_runs() -> list[SyncRun]:
    """Return the most recent run of each resource that has run, in sync order (one query)."""
    newest_first = Window(RowNumber(), partition_by=[F("resource")], order_by=F("started_at").desc())
    runs = SyncRun.objects.exclude(status=SyncRun.SKIPPED).annotate(rank=newest_first).filter(rank=1)
    by_resource = {run.resource: run for run in runs}
    return [by_resource[r] for r in RESOURCES if r in by_resource]


def show_holders(runs: list[SyncRun]) -> None:
    """Give each running run the description of its lock's holder (host, pid, last heartbeat)."""
    running = {run.resource: run for run in runs if run.status == SyncRun.RUNNING}
    if not running:
        return
    for state in SyncState.objects.filter(resource__in=list(running)).exclude(locked_by=""):
        running[state.resource].holder = state.describe_lock()
