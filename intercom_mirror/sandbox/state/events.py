"""Events: `POST /events`, the newest-first list and the summary."""

from __future__ import annotations

import time
from typing import Any

from ..records import Contact, Event
from .base import WorkspaceBase, as_object, as_timestamp, invalid, missing

EVENT_WINDOW = 90 * 86400  # events older than 90 days are not listed


class EventsMixin(WorkspaceBase):
    """Events: `POST /events`, the newest-first list and the summary."""

    def render_event(self, e: Event) -> dict[str, Any]:
        contact = self.contact_any(e.contact_id)
        return {
            "type": "event",
            "id": e.id,
            "event_name": e.event_name,
            "created_at": e.created_at,
            "user_id": contact.user_id if contact else None,
            "email": contact.email if contact else None,
            "intercom_user_id": e.contact_id,
            "metadata": dict(e.metadata),
        }

    def create_event(self, body: Any) -> Event:
        """Record an event for a user or lead (`POST /events`)."""
        body = as_object(body)
        name = body.get("event_name")
        if not isinstance(name, str) or not name.strip():
            raise missing("event_name")
        created_at = as_timestamp(body.get("created_at"), "created_at")
        if created_at is None:
            raise missing("created_at")
        contact = self.resolve_customer({k: body.get(k) for k in ("id", "user_id", "email")})
        metadata = as_object(body.get("metadata"), "metadata")
        for key, value in metadata.items():
            if isinstance(value, list) or (
                isinstance(value, dict) and not ({"url"} <= value.keys() or {"amount", "currency"} <= value.keys())
            ):
                raise invalid("metadata", f"metadata '{key}' must be a string, number, date, link or monetary amount")
        self._counters["event_seq"] += 1
        event = Event(
            id=self.next_id("event", 1_000_000),
            seq=self._counters["event_seq"],
            event_name=name,
            created_at=created_at,
            contact_id=contact.id,
            metadata=dict(metadata),
        )
        self.events_by_contact.setdefault(contact.id, []).append(event)
        self.emit("event.created", self.render_event(event))
        return event

    def list_events(self, contact: Contact) -> list[Event]:
        """Return the contact's events from the last 90 days, newest first."""
        since = self.now() - EVENT_WINDOW
        found = [e for e in self.events_by_contact.get(contact.id, ()) if e.created_at >= since]
        return sorted(found, key=event_cursor, reverse=True)

    def event_summary(self, contact: Contact) -> dict[str, Any]:
        """Return the `event.summary` object: counts and first/last times per event name."""
        by_name: dict[str, list[int]] = {}
        for e in self.events_by_contact.get(contact.id, ()):
            by_name.setdefault(e.event_name, []).append(e.created_at)
        return {
            "type": "event.summary",
            "email": contact.email,
            "intercom_user_id": contact.id,
            "user_id": contact.user_id,
            "events": [
                {
                    "name": name,
                    "first": iso_time(min(times)),
                    "last": iso_time(max(times)),
                    "count": len(times),
                    "description": None,
                }
                for name, times in by_name.items()
            ],
        }


def event_cursor(e: Event) -> int:
    """Return the `before=` cursor of an event: its time and sequence in one sortable integer."""
    return e.created_at * 1_000_000 + e.seq % 1_000_000


def iso_time(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(ts))
