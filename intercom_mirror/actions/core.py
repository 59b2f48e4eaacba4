"""The write path shared by every staff action: record, send, apply, record the outcome; queue when Intercom fails.

Never twice:
- a composer submit carries a one-time key (`StaffAction.idempotency_key`): a
  double click or a resend of the same key returns the action already recorded;
- once a request has gone out (`sent_at`) and its answer was lost (a timeout, a
  dropped connection, a 5xx after sending), the next attempt first reads the
  record back and looks for the change (each verb's `find`); only when it is not
  there is the request sent again. v1 has no idempotency key of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from intercom_mirror.api import IntercomClient, IntercomError, RateLimited
from intercom_mirror.logutil import redact
from intercom_mirror.models import StaffAction

log = logging.getLogger(__name__)

WEB_MAX_SLEEP = 1.0  # seconds a web request may wait for Intercom's rate limit; longer and the action is queued
BACKOFF_BASE, BACKOFF_CAP = 15, 600  # seconds between attempts of a queued action


class ActionRefused(Exception):
    """The action cannot be recorded at all (no linked admin, unknown record, junk input); the message says why."""


@dataclass(frozen=True)
class Verb:
    """How one kind of write is sent, applied, and recognised after a lost answer."""

    send: Callable[[IntercomClient, StaffAction], dict[str, Any]]
    apply: Callable[[StaffAction, dict[str, Any]], None]
    # Read the record back and return it if the change is already there (else None).
    find: Callable[[IntercomClient, StaffAction], dict[str, Any] | None]
    result_id: Callable[[StaffAction, dict[str, Any]], str] = lambda action, answer: ""


VERBS: dict[str, Verb] = {}


def no_long_sleep(delay: float) -> None:
    """The web client's sleep: a short backoff is fine, waiting out a rate-limit window is not."""
    if delay > WEB_MAX_SLEEP:
        raise RateLimited(429, "rate_limit_budget", f"Intercom's rate limit is spent for the next {delay:.0f} s")
    time.sleep(delay)


def web_client() -> IntercomClient:
    """Return a client for use inside a web request: short timeouts, one retry, no long sleeps."""
    return IntercomClient.from_settings(timeout=settings.INTERCOM_WEB_TIMEOUT, max_retries=1, sleep=no_long_sleep)


def worker_client() -> IntercomClient:
    return IntercomClient.from_settings(max_retries=2)


# --- recording ------------------------------------------------------------------------


def record_action(
    verb: str,
    target_type: str,
    target_id: str,
    body: dict[str, Any],
    *,
    acting_user,
    admin_id: str,
    idempotency_key: str | None = None,
) -> tuple[StaffAction, bool]:
    """Record the action (committed before anything is sent); return (action, created).

    With a key already used, the action recorded for it is returned instead.
    """
    if idempotency_key:
        existing = StaffAction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    earlier_open = StaffAction.objects.filter(
        target_type=target_type, target_intercom_id=target_id, state__in=[StaffAction.QUEUED, StaffAction.SENDING]
    ).exists()
    try:
        with transaction.atomic():
            action = StaffAction.objects.create(
                user=acting_user,
                admin_intercom_id=admin_id,
                verb=verb,
                target_type=target_type,
                target_intercom_id=target_id,
                request_body=body,
                idempotency_key=idempotency_key or None,
                # Behind a queued action on the same record: wait your turn, keep the order.
                state=StaffAction.QUEUED if earlier_open else StaffAction.PENDING,
                next_attempt_at=timezone.now() if earlier_open else None,
            )
    except IntegrityError:  # the same key submitted twice at once
        return StaffAction.objects.get(idempotency_key=idempotency_key), False
    return action, True


def perform(action: StaffAction, client: IntercomClient | None = None) -> StaffAction:
    """Send a recorded action now, unless it must wait behind another; return it with its outcome."""
    if action.state != StaffAction.PENDING:
        return action
    if client is not None:
        return attempt(action, client)
    with web_client() as own:
        return attempt(action, own)


def attempt(action: StaffAction, client: IntercomClient) -> StaffAction:
    """One attempt: look for the change if an earlier answer was lost, else send; then record the outcome."""
    verb = VERBS[action.verb]
    started = time.monotonic()
    try:
        answer = verb.find(client, action) if action.sent_at else None
        if answer is None:
            StaffAction.objects.filter(pk=action.pk).update(sent_at=timezone.now(), attempts=action.attempts + 1)
            action.sent_at, action.attempts = timezone.now(), action.attempts + 1
            answer = verb.send(client, action)
    except IntercomError as exc:
        return record_failure(action, exc, started)
    with transaction.atomic():
        verb.apply(action, answer)
        action.state, action.http_status = StaffAction.DONE, 200
        action.error_code = action.error_message = ""
        action.result_intercom_id = verb.result_id(action, answer)[:64]
        finish(action, started)
    return action


def record_failure(action: StaffAction, exc: IntercomError, started: float) -> StaffAction:
    """A 4xx fails the action (retry or discard is the user's call); anything else queues it."""
    action.http_status = exc.status
    action.error_code = (exc.code or "")[:64]
    action.error_message = redact(exc.message or str(exc))
    if is_permanent(exc):
        action.state = StaffAction.FAILED
    else:
        action.state = StaffAction.QUEUED
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(action.attempts - 1, 0))
        action.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    log.info("staff action %s %s: %s", action.pk, action.verb, action.error_message)
    finish(action, started, done=action.state == StaffAction.FAILED)
    return action


def is_permanent(exc: IntercomError) -> bool:
    return exc.status is not None and 400 <= exc.status < 500 and exc.status not in (408, 409, 429)


def finish(action: StaffAction, started: float, *, done: bool = True) -> None:
    action.duration_ms = int((time.monotonic() - started) * 1000)
    action.finished_at = timezone.now() if done else None
    action.save()


# --- the queue ---------------------------------------------------------------------------


def process_queued_actions(client: IntercomClient | None = None, limit: int = 200) -> dict[str, int]:
    """Send queued actions whose time has come, oldest first; keep each record's actions in order."""
    due = StaffAction.objects.filter(state=StaffAction.QUEUED, next_attempt_at__lte=timezone.now())
    figures = {"done": 0, "failed": 0, "queued": 0}
    blocked: set[tuple[str, str]] = set()
    own = client is None
    client = client or worker_client()
    try:
        for action in due.order_by("created_at", "id")[:limit]:
            target = (action.target_type, action.target_intercom_id)
            if target in blocked or not claim(action):
                continue
            outcome = attempt(action, client)
            figures[outcome.state if outcome.state in figures else "queued"] += 1
            if outcome.state == StaffAction.QUEUED:
                blocked.add(target)  # the later ones on this record wait behind it
    finally:
        if own:
            client.close()
    return figures


def claim(action: StaffAction) -> bool:
    """Take a queued action for sending (two workers never send one action twice)."""
    claimed = StaffAction.objects.filter(pk=action.pk, state=StaffAction.QUEUED).update(state=StaffAction.PENDING)
    action.state = StaffAction.PENDING
    return bool(claimed)


def retry_action(action: StaffAction, *, acting_user) -> StaffAction:
    """Send a failed or queued action again now."""
    if action.state not in (StaffAction.FAILED, StaffAction.QUEUED):
        return action
    StaffAction.objects.filter(pk=action.pk).update(state=StaffAction.PENDING)
    action.state = StaffAction.PENDING
    return perform(action)


def discard_action(action: StaffAction, *, acting_user) -> StaffAction:
    """Give up on a failed or queued action; it stays in the log as discarded."""
    if action.state in (StaffAction.FAILED, StaffAction.QUEUED):
        action.state, action.finished_at = StaffAction.DISCARDED, timezone.now()
        action.save(update_fields=["state", "finished_at"])
    return action


def open_actions_for(target_type: str, target_id: str):
    """Return the actions on a record not done yet (queued, sending, failed), oldest first."""
    states = [*StaffAction.OPEN_STATES, StaffAction.FAILED]
    return StaffAction.objects.filter(target_type=target_type, target_intercom_id=target_id, state__in=states).order_by(
        "created_at", "id"
    )
