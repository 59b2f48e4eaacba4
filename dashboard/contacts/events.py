"""A contact's recent events, read from Intercom on demand: the one read-only API call of the contacts pages.

Only the htmx-loaded events region calls this (never the page itself), through the
web client (short timeouts, one retry, no rate-limit sleeps), and the answer is
cached for a minute so that reopening a contact costs no request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache

from dashboard.contacts.attributes import Value, typed_rows
from intercom_mirror.actions import core
from intercom_mirror.api import NotFound

CACHE_SECONDS = 60
SHOWN = 20


@dataclass(frozen=True)
class Event:
    name: str
    created_at: datetime | None
    metadata: list[Value]


def cache_key(contact_id: str) -> str:
    return f"contact-events:{contact_id}"


def recent_events(contact_id: str) -> list[Event]:
    """Return the contact's newest events (last 90 days) with their typed metadata; raises IntercomError."""
    events = cache.get(cache_key(contact_id))
    if events is None:
        with core.web_client() as client:  # looked up on each call: tests point it at the sandbox
            try:
                answer = client.list_events_for_user(intercom_user_id=contact_id, per_page=SHOWN)
            except NotFound:  # Intercom keeps events for users only: a lead (or a deleted user) has none
                answer = {}
        events = [event_of(item) for item in (answer.get("events") or [])[:SHOWN] if isinstance(item, dict)]
        cache.set(cache_key(contact_id), events, CACHE_SECONDS)
    return events


def event_of(item: dict) -> Event:
    created = item.get("created_at")
    when = datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) and created > 0 else None
    return Event(
        name=str(item.get("event_name") or "(unnamed)"), created_at=when, metadata=typed_rows(item.get("metadata"))
    )
