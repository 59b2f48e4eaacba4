"""Bulk tagging: a django-q2 task tags (or untags) contacts in requests of 50 through `do_tag_contacts`.

A run has a random id, carried in each request's StaffAction (`request_body["bulk"]`),
so its progress is a count of those rows by state against the number of requests
known up front (⌈N/50⌉); the database is shared with the q2 worker, the cache may not
be. What never became an action (refused, or not sent because Intercom was down) is
in the task's result, which django-q2 stores when the task ends.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django_q.models import Task
from django_q.tasks import async_task

from dashboard.once import run_for
from intercom_mirror.actions import ActionRefused, do_tag_contacts
from intercom_mirror.actions.people import TAG_BATCH
from intercom_mirror.models import Contact, StaffAction

log = logging.getLogger(__name__)

PAUSE_SECONDS = 10.0  # after Intercom's rate limit was hit: v1 counts requests in 10-second windows
UNREACHABLE_STOP = 3  # this many requests queued in a row (not for the rate limit): Intercom is down, stop
LISTED = 100  # failed contacts listed by name in the summary
RATE_LIMIT_CODES = ("rate_limit_budget", "rate_limit_exceeded")

pause = time.sleep  # replaced in tests


def task_name(run: str) -> str:
    return f"contacts-bulk-{run}"


def batches(n: int) -> int:
    return math.ceil(n / TAG_BATCH)


def start_bulk(user, contact_ids: list[str], name: str, *, untag: bool) -> str:
    """Queue a bulk run (after the current transaction commits) and return its id; a repeat joins the first run."""
    run, new = run_for(user, "contacts", contact_ids, name, untag)
    if not new:
        return run
    transaction.on_commit(
        lambda: async_task(
            "dashboard.contacts.bulk.run_bulk",
            run,
            user.pk,
            contact_ids,
            name,
            untag,
            task_name=task_name(run),
            save=True,
        )  # fmt: skip
    )
    return run


def run_bulk(run: str, user_id: int, contact_ids: list[str], name: str, untag: bool) -> dict:
    """Send one request per 50 contacts, pausing when the rate limit is hit; return what was never sent."""
    user = get_user_model().objects.get(pk=user_id)
    queued_in_a_row = 0
    for start in range(0, len(contact_ids), TAG_BATCH):
        if queued_in_a_row >= UNREACHABLE_STOP:
            return {"not_sent": len(contact_ids) - start, "refused": ""}
        try:
            (action,) = do_tag_contacts(
                contact_ids[start : start + TAG_BATCH], name, acting_user=user, untag=untag, bulk=run
            )
        except ActionRefused as exc:  # the same for every batch (no admin, bad name): stop at once
            return {"not_sent": len(contact_ids) - start, "refused": str(exc)}
        if action.state == StaffAction.QUEUED and action.error_code in RATE_LIMIT_CODES:
            pause(PAUSE_SECONDS)  # this one is retried later; wait for the next window before the next
        elif action.state == StaffAction.QUEUED:
            queued_in_a_row += 1
        else:
            queued_in_a_row = 0
        log.info("contacts bulk %s: %s of %s sent", run, min(start + TAG_BATCH, len(contact_ids)), len(contact_ids))
    return {"not_sent": 0, "refused": ""}


# --- progress ----------------------------------------------------------------------------


@dataclass
class Progress:
    verb: str  # "tag" | "untag"
    name: str
    contacts: int  # contacts in the run
    requests: int  # requests the run sends: ⌈contacts / 50⌉
    done: int = 0  # contacts tagged
    queued: int = 0  # contacts in requests waiting for Intercom
    failed: list[tuple[str, int]] = field(default_factory=list)  # (reason, contacts)
    failed_contacts: list[tuple[str, str]] = field(default_factory=list)  # (intercom id, name)
    not_sent: int = 0
    refused: str = ""
    crashed: bool = False
    finished: bool = False

    @property
    def failed_count(self) -> int:
        return sum(n for _, n in self.failed)

    @property
    def handled(self) -> int:
        return self.done + self.queued + self.failed_count + self.not_sent

    def summary(self) -> str:
        """Return "118 contacts tagged “VIP”, 2 failed" for a finished run."""
        verb = "untagged" if self.verb == "untag" else "tagged"
        parts = [f"{self.done} contact{'s' if self.done != 1 else ''} {verb} “{self.name}”"]
        if self.failed_count:
            parts.append(f"{self.failed_count} failed")
        if self.queued:
            parts.append(f"{self.queued} queued")
        if self.not_sent:
            parts.append(f"{self.not_sent} not sent")
        return ", ".join(parts)


def progress(run: str, verb: str, name: str, contacts: int) -> Progress:
    """Return how far a run has got: its requests by state (one query), and the task's result once it ended."""
    result = Progress(verb=verb, name=name, contacts=contacts, requests=batches(contacts))
    rows = StaffAction.objects.filter(target_type="tag", request_body__bulk=run).values_list(
        "state", "error_message", "request_body"
    )
    failed: dict[str, int] = {}
    failed_ids: list[str] = []
    open_requests = 0
    for state, error, body in rows:
        users = [str(u.get("id")) for u in body.get("users", []) if isinstance(u, dict)]
        if state == StaffAction.DONE:
            result.done += len(users)
        elif state in (StaffAction.FAILED, StaffAction.DISCARDED):
            reason = (error or "no reason given") if state == StaffAction.FAILED else "discarded"
            failed[reason] = failed.get(reason, 0) + len(users)
            failed_ids += users
        elif state == StaffAction.QUEUED:
            result.queued += len(users)
        else:
            open_requests += 1
    result.failed = sorted(failed.items(), key=lambda item: -item[1])
    if failed_ids:
        names = dict(Contact.objects.filter(intercom_id__in=failed_ids[:LISTED]).values_list("intercom_id", "name"))
        result.failed_contacts = [(i, names.get(i) or i) for i in failed_ids[:LISTED]]
    all_recorded = len(rows) >= result.requests and not open_requests
    task = Task.objects.filter(name=task_name(run)).only("success", "result").first()
    if task is not None:
        if task.success and isinstance(task.result, dict):
            result.not_sent = int(task.result.get("not_sent") or 0)
            result.refused = str(task.result.get("refused") or "")
        else:
            result.crashed = True
    result.finished = all_recorded or task is not None
    return result
