"""Bulk actions: a django-q2 task sends one action per conversation through the action functions.

A run has a random id. Each of its actions carries the one-time key
`bulk-<run>-<n>`, so the run's progress is a count of the StaffAction rows with
that prefix (the database is shared with the q2 worker; the cache may not be),
and a task that runs twice sends nothing twice. What never became an action
(refused before recording, or not sent because Intercom was down) is in the
task's result, which django-q2 stores when the task ends.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django_q.models import Task
from django_q.tasks import async_task

from dashboard.once import run_for
from intercom_mirror.actions import (
    ActionRefused,
    do_assign_conversation,
    do_close_conversation,
    do_snooze_conversation,
    do_tag_conversation,
)
from intercom_mirror.models import VERBS_PAST, StaffAction

log = logging.getLogger(__name__)

BATCH = 20  # actions sent back to back before looking at the rate limit again
PAUSE_SECONDS = 10.0  # after Intercom's rate limit was hit: v1 counts requests in 10-second windows
UNREACHABLE_STOP = 5  # this many queued answers in a row (not a rate limit): Intercom is down, stop sending
LISTED = 100  # conversations listed one by one in the summary (failed or queued)
RATE_LIMIT_CODES = ("rate_limit_budget", "rate_limit_exceeded")

pause = time.sleep  # replaced in tests


def task_name(run: str) -> str:
    return f"bulk-{run}"


def key_prefix(run: str) -> str:
    return f"bulk-{run}-"


def start_bulk(user, verb: str, conversation_ids: list[str], options: dict[str, Any]) -> str:
    """Queue a bulk run (after the current transaction commits) and return its id; a repeat joins the first run."""
    run, new = run_for(user, "conversations", verb, conversation_ids, options)
    if not new:
        return run
    transaction.on_commit(
        lambda: async_task(
            "dashboard.inbox.bulk.run_bulk",
            run,
            user.pk,
            verb,
            conversation_ids,
            options,
            task_name=task_name(run),
            save=True,
        )  # fmt: skip
    )
    return run


def run_bulk(run: str, user_id: int, verb: str, conversation_ids: list[str], options: dict[str, Any]) -> dict:
    """Send the action to each conversation in turn, in batches that back off when the rate limit is hit.

    Return what never became an action: refusals by message, and how many were not sent.
    """
    user = get_user_model().objects.get(pk=user_id)
    refused: Counter[str] = Counter()
    not_sent = queued_in_a_row = 0
    for n, conversation_id in enumerate(conversation_ids):
        if queued_in_a_row >= UNREACHABLE_STOP:
            not_sent = len(conversation_ids) - n
            break
        if n and n % BATCH == 0:
            log.info("bulk %s: %s of %s sent", run, n, len(conversation_ids))
        try:
            action = send_one(verb, conversation_id, options, user, f"{key_prefix(run)}{n}")
        except ActionRefused as exc:
            refused[str(exc)] += 1
            continue
        if action.state == StaffAction.QUEUED and action.error_code in RATE_LIMIT_CODES:
            pause(PAUSE_SECONDS)  # this one is queued and retried later; wait for the next window
        elif action.state == StaffAction.QUEUED:
            queued_in_a_row += 1
        else:
            queued_in_a_row = 0
    return {"total": len(conversation_ids), "refused": dict(refused), "not_sent": not_sent}


def send_one(verb: str, conversation_id: str, options: dict[str, Any], user, key: str) -> StaffAction:
    if verb == "assign":
        return do_assign_conversation(conversation_id, options["assignee"], acting_user=user, idempotency_key=key)
    if verb == "close":
        return do_close_conversation(conversation_id, acting_user=user, idempotency_key=key)
    if verb == "snooze":
        until: datetime = options["until"]
        return do_snooze_conversation(conversation_id, until, acting_user=user, idempotency_key=key)
    if verb == "tag":
        return do_tag_conversation(conversation_id, options["tag"], acting_user=user, idempotency_key=key)
    raise ActionRefused(f"Unknown bulk action {verb!r}.")


# --- progress ----------------------------------------------------------------------------


@dataclass
class Progress:
    verb: str
    total: int
    done: int = 0
    queued: int = 0
    sending: int = 0
    discarded: int = 0
    failed: list[tuple[str, int]] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    not_sent: int = 0
    finished: bool = False
    crashed: str = ""
    unfinished: list[tuple[str, str, str]] = field(default_factory=list)  # (conversation, state, error)

    @property
    def handled(self) -> int:
        failed = sum(n for _, n in self.failed) + sum(n for _, n in self.refused)
        return self.done + self.queued + self.discarded + failed + self.not_sent

    @property
    def verb_past(self) -> str:
        return VERBS_PAST.get(self.verb, self.verb)

    def summary(self) -> str:
        """Return "12 closed, 2 failed: <reason>, 1 queued" for a finished run."""
        parts = [f"{self.done} {self.verb_past}"]
        parts += [f"{n} failed: {message}" for message, n in self.failed]
        parts += [f"{n} refused: {message}" for message, n in self.refused]
        if self.queued or self.sending:
            parts.append(f"{self.queued + self.sending} queued")
        if self.not_sent:
            parts.append(f"{self.not_sent} not sent")
        if self.discarded:
            parts.append(f"{self.discarded} discarded")
        return ", ".join(parts)


def progress(run: str, verb: str, total: int) -> Progress:
    """Return how far a run has got: its actions by state (one query), and its task's result once it ended."""
    result = Progress(verb=verb, total=total)
    rows = (
        StaffAction.objects.filter(idempotency_key__startswith=key_prefix(run))
        .values("state", "error_message")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    for row in rows:
        state, n = row["state"], row["n"]
        if state == StaffAction.DONE:
            result.done += n
        elif state == StaffAction.FAILED:
            result.failed.append((row["error_message"] or "no reason given", n))
        elif state == StaffAction.DISCARDED:
            result.discarded += n
        elif state == StaffAction.QUEUED:
            result.queued += n
        else:
            result.sending += n
    result.unfinished = list(
        StaffAction.objects.filter(idempotency_key__startswith=key_prefix(run))
        .exclude(state=StaffAction.DONE)
        .order_by("id")
        .values_list("target_intercom_id", "state", "error_message")[:LISTED]
    )
    task = Task.objects.filter(name=task_name(run)).only("success", "result").first()
    if task is not None:
        result.finished = True
        if task.success and isinstance(task.result, dict):
            result.refused = sorted(task.result.get("refused", {}).items(), key=lambda item: -item[1])
            result.not_sent = task.result.get("not_sent", 0)
        else:
            result.crashed = "The bulk run stopped with an error; the actions listed were recorded."
    return result
