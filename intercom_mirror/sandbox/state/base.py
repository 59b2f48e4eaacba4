"""The workspace's foundations: the API error, body-parsing helpers, storage and bookkeeping."""

from __future__ import annotations

import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from ..records import (
    Admin,
    Company,
    Contact,
    Conversation,
    DataAttribute,
    Event,
    Job,
    Note,
    Segment,
    Subscription,
    Tag,
    Team,
)


class SandboxError(Exception):
    """An API error: the app answers it as an `error.list` with this status and code."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def not_found(what: str = "Resource", field: str | None = None) -> SandboxError:
    """Return the 404 the API gives for an unknown object."""
    return SandboxError(404, "not_found", f"{what} Not Found", field)


def lookup(store: dict[str, Any], key: str, missing: str | SandboxError) -> Any:
    """Return store[key], or raise the API's 404: `missing` names the object, or is the error itself."""
    found = store.get(key)
    if found is None:
        raise not_found(missing) if isinstance(missing, str) else missing
    return found


def missing(name: str) -> SandboxError:
    """Return the 400 for a missing required parameter."""
    return SandboxError(400, "parameter_not_found", f"Please provide the following parameters: {name}", name)


def invalid(name: str, message: str) -> SandboxError:
    """Return the 400 for a malformed parameter."""
    return SandboxError(400, "parameter_invalid", message, name)


def as_object(body: Any, name: str = "body") -> dict[str, Any]:
    """Return a JSON body (or a nested part of one) as a dict; absent is empty, anything else is refused."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise SandboxError(400, "invalid_document", f"{name} must be a JSON object", name)
    return body


def as_timestamp(value: Any, name: str) -> int | None:
    """Return value as UNIX seconds; accept ints and numeric strings like the SDKs send."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise invalid(name, f"{name} must be a UNIX timestamp")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise invalid(name, f"{name} must be a UNIX timestamp")


def as_identifier(value: Any, name: str) -> str | None:
    """Return a user_id/email-like identifier, enforcing the 255-character, no-padding rule."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > 255 or value != value.strip():
        raise invalid(name, f"{name} must be a string of at most 255 characters without surrounding spaces")
    return value


def flag(value: Any) -> bool:
    """Return a boolean from JSON or a query string ("true"/"false")."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


class WorkspaceBase:
    """The storage of one Intercom app and the bookkeeping every resource uses; rules live in the mixins."""

    def __init__(
        self,
        now: Callable[[], int] | None = None,
        app_id: str = "sbx4pp1d",
        app_name: str = "Sandbox",
        created_at: int | None = None,
    ) -> None:
        self.now: Callable[[], int] = now or (lambda: int(time.time()))
        self.app_id = app_id
        self.app_name = app_name
        self.app_created_at = created_at if created_at is not None else self.now() - 3 * 365 * 86400
        self.users: dict[str, Contact] = {}
        self.leads: dict[str, Contact] = {}
        self.visitors: dict[str, Contact] = {}
        self.archived: dict[str, Contact] = {}
        self.companies: dict[str, Company] = {}
        self.admins: dict[str, Admin] = {}
        self.teams: dict[str, Team] = {}
        self.tags: dict[str, Tag] = {}
        self.segments: dict[str, Segment] = {}
        self.notes: dict[str, Note] = {}
        self.conversations: dict[str, Conversation] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.jobs: dict[str, Job] = {}
        self.data_attributes: dict[tuple[str, str], DataAttribute] = {}
        self.activity_logs: list[dict[str, Any]] = []
        self.events_by_contact: dict[str, list[Event]] = {}
        self.plans: dict[str, str] = {}
        # Lookup indexes; emails are lower-cased and may be shared by several contacts.
        self.user_ids: dict[str, str] = {}
        self.anon_ids: dict[str, str] = {}
        self.emails: dict[str, list[str]] = {}
        self.company_ids: dict[str, str] = {}
        self.tag_names: dict[str, str] = {}
        self.outbox: deque[tuple[str, dict[str, Any], str | None]] = deque(maxlen=5000)
        self.muted: frozenset[str] = frozenset()  # topics not emitted for now (bulk writes)
        # The Intercom-Version of the request being served: the app sets it (under its lock) before each call.
        self.api_version = "1.4"
        self._counters: Counter[str] = Counter()
        self._hex_seq = 0
        self._machine = f"{uuid.uuid5(uuid.NAMESPACE_DNS, app_id).int % 16**8:08x}"
        self._rev = 0
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._cache_rev = -1
        self._install_standard_attributes()  # from DataAttributesMixin: Workspace composes the two

    def new_hex_id(self, ts: int | None = None) -> str:
        """Return a fresh 24-hex id shaped like a Mongo ObjectId (timestamp, machine, counter)."""
        self._hex_seq += 1
        return f"{(ts if ts is not None else self.now()) & 0xFFFFFFFF:08x}{self._machine}{self._hex_seq:08x}"

    def next_id(self, kind: str, start: int = 1000) -> str:
        """Return the next numeric string id of a kind; counters are per kind and deterministic."""
        if kind not in self._counters:
            self._counters[kind] = start
        self._counters[kind] += 1
        return str(self._counters[kind])

    def changed(self) -> None:
        """Invalidate cached sort orders and counts after a write."""
        self._rev += 1

    def cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """Return build(), memoised until the next write."""
        if self._cache_rev != self._rev:
            self._cache.clear()
            self._cache_rev = self._rev
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def emit(self, topic: str, item: dict[str, Any], only: str | None = None) -> None:
        """Queue a webhook topic with its item; `only` limits delivery to one subscription (pings)."""
        if topic not in self.muted:
            self.outbox.append((topic, item, only))

    def drain_outbox(self) -> list[tuple[str, dict[str, Any], str | None]]:
        """Return and forget the queued webhook topics."""
        items = list(self.outbox)
        self.outbox.clear()
        return items

    def touch(self, record: Any) -> None:
        record.updated_at = self.now()
        self.changed()
