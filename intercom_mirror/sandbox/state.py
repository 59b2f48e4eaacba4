"""The sandbox workspace: in-memory Intercom v1 state and every rule that changes it.

Nothing here knows about HTTP. Methods take request bodies (dicts) or plain
arguments, return records, and raise `SandboxError` for what the API would answer
with an `error.list`. `render_*` methods turn records into the JSON objects of the
v1 API (see /work/shared/intercom-v1-api.md §6). Writes queue webhook topics in
`outbox`; the app drains it after each request.
"""

from __future__ import annotations

import mimetypes
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Any

from .records import (
    DERIVED_FIELDS,
    EMPTY,
    Admin,
    Company,
    Contact,
    Conversation,
    DataAttribute,
    Event,
    Note,
    Part,
    Segment,
    Subscription,
    Tag,
    Team,
    derived_fields,
    to_html,
    to_plaintext,
)

PARTS_CAP = 500  # v2 docs: at most the 500 most recent parts; assumed for v1 too
EVENT_WINDOW = 90 * 86400  # events older than 90 days are not listed
CUSTOM_ATTRIBUTE_LIMIT = 250
SUBSCRIPTION_LIMIT = 250

USER_SORTS = ("created_at", "last_request_at", "signed_up_at", "updated_at")
CONVERSATION_SORTS = ("created_at", "updated_at", "waiting_since")
ADMIN_REPLY_TYPES = ("comment", "note", "assignment", "open", "close", "snoozed")

TOPICS = (
    "conversation.user.created",
    "conversation.user.replied",
    "conversation.admin.replied",
    "conversation.admin.single.created",
    "conversation.admin.assigned",
    "conversation.admin.noted",
    "conversation.admin.closed",
    "conversation.admin.opened",
    "conversation.admin.snoozed",
    "conversation.admin.unsnoozed",
    "conversation_part.tag.created",
    "conversation.deleted",
    "user.created",
    "user.deleted",
    "user.unsubscribed",
    "user.email.updated",
    "user.tag.created",
    "user.tag.deleted",
    "contact.created",
    "contact.signed_up",
    "contact.added_email",
    "contact.tag.created",
    "contact.tag.deleted",
    "contact.deleted",
    "visitor.signed_up",
    "company.created",
    "event.created",
    "ping",
)

# Writable fields kept on the record itself vs. stored as overrides of derived fields.
_TIME_FIELDS = ("signed_up_at", "remote_created_at", "last_request_at")
_EXTRA_FIELDS = ("referrer", "utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term", "last_seen_ip")

STANDARD_ATTRIBUTES = {
    "customer": (
        ("name", "string", "Name"),
        ("email", "string", "Email"),
        ("user_id", "string", "User ID"),
        ("phone", "string", "Phone"),
        ("signed_up_at", "date", "Signed up"),
        ("last_request_at", "date", "Last seen"),
        ("session_count", "integer", "Web sessions"),
        ("unsubscribed_from_emails", "boolean", "Unsubscribed from emails"),
        ("created_at", "date", "First seen"),
        ("updated_at", "date", "Last updated"),
    ),
    "company": (
        ("name", "string", "Company name"),
        ("company_id", "string", "Company ID"),
        ("monthly_spend", "float", "Monthly spend"),
        ("plan", "string", "Plan"),
        ("size", "integer", "Company size"),
        ("website", "string", "Website"),
        ("industry", "string", "Industry"),
        ("session_count", "integer", "Company web sessions"),
        ("user_count", "integer", "People"),
        ("created_at", "date", "Company first seen"),
    ),
}


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


def _object(body: Any, name: str = "body") -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise SandboxError(400, "invalid_document", f"{name} must be a JSON object", name)
    return body


def _timestamp(value: Any, name: str) -> int | None:
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


def _identifier(value: Any, name: str) -> str | None:
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


def _data_type(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "date" if key.endswith("_at") else "integer"
    if isinstance(value, float):
        return "float"
    return "string"


class Workspace:
    """One Intercom app's data, held in memory, with the v1 API's rules as methods."""

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
        self._counters: Counter[str] = Counter()
        self._hex_seq = 0
        self._machine = f"{uuid.uuid5(uuid.NAMESPACE_DNS, app_id).int % 16**8:08x}"
        self._rev = 0
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._cache_rev = -1
        self._install_standard_attributes()

    # ----------------------------------------------------------------- ids and bookkeeping

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
        self.outbox.append((topic, item, only))

    def drain_outbox(self) -> list[tuple[str, dict[str, Any], str | None]]:
        """Return and forget the queued webhook topics."""
        items = list(self.outbox)
        self.outbox.clear()
        return items

    def touch(self, record: Any) -> None:
        record.updated_at = self.now()
        self.changed()

    # ----------------------------------------------------------------- rendering

    def render_contact(self, c: Contact) -> dict[str, Any]:
        """Return a user, lead or visitor as the API shows it."""
        extra = derived_fields(c)
        d: dict[str, Any] = {
            "type": c.type,
            "id": c.id,
            "user_id": c.user_id,
            "email": c.email,
            "phone": c.phone,
            "name": c.name,
            "pseudonym": c.pseudonym,
            "anonymous": c.type != "user",
            "avatar": extra["avatar"],
            "app_id": self.app_id,
            "created_at": c.created_at,
            "remote_created_at": c.remote_created_at,
            "updated_at": c.updated_at,
            "last_request_at": c.last_request_at,
            "session_count": c.session_count,
        }
        if c.type == "user":
            d["signed_up_at"] = c.signed_up_at
        elif c.type == "visitor":
            d["signed_up_at"] = None
        d["unsubscribed_from_emails"] = c.unsubscribed
        for key in DERIVED_FIELDS:
            if key != "avatar":
                d[key] = extra[key]
        d["companies"] = {
            "type": "company.list",
            "companies": [
                self.render_company(self.companies[i], nested=True) for i in c.company_ids if i in self.companies
            ],
        }
        d["segments"] = {
            "type": "segment.list",
            "segments": [{"type": "segment", "id": i} for i in c.segment_ids if i in self.segments],
        }
        d["tags"] = {"type": "tag.list", "tags": [self.render_tag(self.tags[i]) for i in c.tag_ids if i in self.tags]}
        d["custom_attributes"] = dict(c.custom)
        return d

    def user_count(self, co: Company) -> int:
        users = self.users
        return sum(1 for m in co.members if m in users)

    def render_company(self, co: Company, nested: bool = False) -> dict[str, Any]:
        """Return a company; nested in a contact it carries `tag_ids` like the SDK fixture."""
        d: dict[str, Any] = {
            "type": "company",
            "company_id": co.company_id,
            "id": co.id,
            "app_id": self.app_id,
            "name": co.name,
            "remote_created_at": co.remote_created_at,
            "created_at": co.created_at,
            "updated_at": co.updated_at,
            "last_request_at": co.last_request_at,
            "monthly_spend": co.monthly_spend,
            "session_count": co.session_count,
            "user_count": self.user_count(co),
        }
        if nested:
            d["tag_ids"] = [i for i in co.tag_ids if i in self.tags]
        else:
            d["size"] = co.size
            d["website"] = co.website
            d["industry"] = co.industry
            d["plan"] = {"type": "plan", "id": self.plans[co.plan], "name": co.plan} if co.plan else {}
            d["tags"] = {
                "type": "tag.list",
                "tags": [self.render_tag(self.tags[i]) for i in co.tag_ids if i in self.tags],
            }
            d["segments"] = {
                "type": "segment.list",
                "segments": [{"type": "segment", "id": i} for i in co.segment_ids if i in self.segments],
            }
        d["custom_attributes"] = dict(co.custom)
        return d

    def render_admin(self, a: Admin) -> dict[str, Any]:
        return {
            "type": "admin",
            "id": a.id,
            "name": a.name,
            "email": a.email,
            "away_mode_enabled": a.away_mode_enabled,
            "away_mode_reassign": a.away_mode_reassign,
            "avatar": {"image_url": a.avatar_url},
            "team_ids": [int(t) for t in a.team_ids],
        }

    def render_team(self, t: Team) -> dict[str, Any]:
        return {"type": "team", "id": t.id, "name": t.name, "admin_ids": [int(a) for a in t.admin_ids]}

    def render_tag(self, t: Tag) -> dict[str, Any]:
        return {"type": "tag", "id": t.id, "name": t.name}

    def render_segment(self, s: Segment, include_count: bool = False) -> dict[str, Any]:
        d = {
            "type": "segment",
            "id": s.id,
            "name": s.name,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
            "person_type": s.person_type,
        }
        if include_count:
            d["count"] = self.segment_counts().get(s.id, 0)
        return d

    def render_note(self, n: Note) -> dict[str, Any]:
        author = self.admins.get(n.author_id)
        contact = self.contact_any(n.contact_id)
        return {
            "type": "note",
            "id": n.id,
            "created_at": n.created_at,
            "body": n.body,
            "author": {"type": "admin", "id": n.author_id, "name": author.name, "email": author.email}
            if author
            else {"type": "admin", "id": n.author_id},
            "user": {"type": contact.type if contact else "user", "id": n.contact_id},
        }

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

    def render_part(self, p: Part, plaintext: bool = False) -> dict[str, Any]:
        return {
            "type": "conversation_part",
            "id": p.id,
            "part_type": p.part_type,
            "body": to_plaintext(p.body) if plaintext else p.body,
            "created_at": p.created_at,
            "updated_at": p.created_at,
            "notified_at": p.notified_at,
            "assigned_to": {"type": p.assigned_to[0], "id": p.assigned_to[1]} if p.assigned_to else None,
            "author": {"type": p.author[0], "id": p.author[1]},
            "attachments": [dict(a) for a in p.attachments],
            "external_id": None,
        }

    def render_conversation(
        self,
        conv: Conversation,
        *,
        version: str = "1.4",
        parts: Iterable[Part] | str | None = "all",
        plaintext: bool = False,
    ) -> dict[str, Any]:
        """Return a conversation; `parts` is "all" (the last 500), None (as in lists) or the parts to show."""
        starter = conv.customers[0]
        d: dict[str, Any] = {
            "type": "conversation",
            "id": conv.id,
            "created_at": conv.created_at,
            "updated_at": conv.updated_at,
            "waiting_since": conv.waiting_since,
            "snoozed_until": conv.snoozed_until,
            "open": conv.state != "closed",
            "state": conv.state,
            "read": conv.read,
            "conversation_message": self._render_message(conv, version, plaintext),
            "user": {"type": conv.customer_types.get(starter, "user"), "id": starter},
            "customers": [{"type": conv.customer_types.get(c, "user"), "id": c} for c in conv.customers],
            "assignee": {"type": conv.assignee[0], "id": conv.assignee[1]},
            "tags": {"type": "tag.list", "tags": self._render_conversation_tags(conv)},
            "conversation_rating": conv.rating
            or {"rating": None, "remark": None, "created_at": None, "customer": None, "teammate": None},
            "links": {"conversation_web": f"https://app.intercom.io/a/apps/{self.app_id}/inbox/conversation/{conv.id}"},
        }
        if version >= "1.2":  # fields the 1.2 reference pages added
            d["sent_at"] = conv.created_at
            d["customer_first_reply"] = {"created_at": conv.first_reply_at, "type": "conversation", "url": None}
        if parts is not None:
            d["conversation_parts"] = self._render_parts(conv, parts, plaintext)
        return d

    def _render_message(self, conv: Conversation, version: str, plaintext: bool) -> dict[str, Any]:
        m = conv.message
        message = {
            "type": "conversation_message",
            "id": m.id,
            "subject": conv.subject,
            "body": to_plaintext(m.body) if plaintext else m.body,
            "author": {"type": m.author[0], "id": m.author[1]},
            "attachments": [dict(a) for a in m.attachments],
            "url": None,
        }
        if version >= "1.2":
            message["delivered_as"] = conv.delivered_as
        return message

    def _render_conversation_tags(self, conv: Conversation) -> list[dict[str, Any]]:
        return [
            {**self.render_tag(self.tags[t]), "applied_at": at, "applied_by": {"type": "admin", "id": by}}
            for t, at, by in conv.tags
            if t in self.tags
        ]

    def _render_parts(self, conv: Conversation, parts: Iterable[Part] | str, plaintext: bool) -> dict[str, Any]:
        """Return the parts envelope: the 500 most recent with the true total, or just the given parts."""
        shown = conv.parts[-PARTS_CAP:] if parts == "all" else list(parts)
        return {
            "type": "conversation_part.list",
            "conversation_parts": [self.render_part(p, plaintext) for p in shown],
            "total_count": len(conv.parts) if parts == "all" else len(shown),
        }

    def render_subscription(self, s: Subscription, base: str = "https://api.intercom.io") -> dict[str, Any]:
        me = f"{base}/subscriptions/{s.id}"
        return {
            "type": "notification_subscription",
            "id": s.id,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
            "service_type": "web",
            "app_id": self.app_id,
            "url": s.url,
            "self": me,
            "topics": list(s.topics),
            "active": s.active,
            "metadata": dict(s.metadata),
            "hub_secret": s.hub_secret,
            "mode": "point",
            "links": {"sent": f"{me}/sent", "retry": f"{me}/retry", "errors": f"{me}/errors"},
            "notes": [],
        }

    def render_data_attribute(self, a: DataAttribute, version: str = "1.4") -> dict[str, Any]:
        d = {
            "type": "data_attribute",
            "name": a.name,
            "full_name": f"custom_attributes.{a.name}" if a.custom else a.name,
            "label": a.label,
            "description": a.description,
            "data_type": a.data_type,
            "options": a.options,
            "api_writable": a.api_writable,
            "ui_writable": a.ui_writable,
            "messenger_writable": False,
            "custom": a.custom,
            "archived": a.archived,
            "admin_id": a.admin_id,
            "created_at": a.created_at,
            "updated_at": a.created_at,
        }
        if version >= "1.4":
            d["model"] = a.model
        return d

    # ----------------------------------------------------------------- contact lookups

    def contact_any(self, contact_id: str) -> Contact | None:
        """Return a live or archived contact of any type by Intercom id."""
        return (
            self.users.get(contact_id)
            or self.leads.get(contact_id)
            or self.visitors.get(contact_id)
            or self.archived.get(contact_id)
        )

    def _live(self, contact_id: str) -> Contact | None:
        return self.users.get(contact_id) or self.leads.get(contact_id) or self.visitors.get(contact_id)

    def by_email(self, email: str, types: tuple[str, ...] = ("user",)) -> list[Contact]:
        """Return the live contacts of the given types with this email, oldest first."""
        found = []
        for cid in self.emails.get(email.lower(), ()):
            c = self._live(cid)
            if c is not None and c.type in types:
                found.append(c)
        return found

    def get_user(self, user_id: str) -> Contact:
        return lookup(self.users, user_id, "User")

    def find_user(self, user_id: str) -> Contact:
        """Return the user with this (customer-side) user_id."""
        cid = self.user_ids.get(user_id)
        if cid is None:
            raise not_found("User")
        return self.users[cid]

    def one_user_by_email(self, email: str) -> Contact:
        """Return the single user with this email; several → 409 conflict."""
        matches = self.by_email(email)
        if not matches:
            raise not_found("User")
        if len(matches) > 1:
            raise SandboxError(
                409,
                "conflict",
                "Multiple existing users match this email address - must be more specific using user_id",
                "email",
            )
        return matches[0]

    def resolve_customer(self, ident: dict[str, Any], *, leads: bool = True) -> Contact:
        """Return the user (or lead) named by intercom_user_id/id, user_id or email."""
        types = ("user", "contact") if leads else ("user",)
        cid = ident.get("intercom_user_id") or ident.get("id")
        if cid:
            c = self._live(str(cid))
            if c is None or c.type not in types:
                raise not_found("User")
            return c
        if ident.get("user_id"):
            uid = str(ident["user_id"])
            if uid in self.user_ids:
                return self.users[self.user_ids[uid]]
            anon = self.anon_ids.get(uid)
            if leads and anon in self.leads:
                return self.leads[anon]
            raise not_found("User")
        if ident.get("email"):
            email = str(ident["email"])
            if self.by_email(email):
                return self.one_user_by_email(email)
            found = self.by_email(email, ("contact",)) if leads else []
            if found:
                return found[-1]  # the newest lead with that email
            raise not_found("User")
        raise missing("intercom_user_id, user_id or email")

    # ----------------------------------------------------------------- indexes

    def index_contact(self, c: Contact) -> None:
        """Add a contact to the lookup indexes and to its companies."""
        if c.user_id is not None:
            if c.type == "user":
                self.user_ids[c.user_id] = c.id
            else:
                self.anon_ids[c.user_id] = c.id
        if c.email:
            self.emails.setdefault(c.email.lower(), []).append(c.id)
        for co_id in c.company_ids:
            co = self.companies.get(co_id)
            if co is not None:
                co.members.add(c.id)

    def unindex_contact(self, c: Contact) -> None:
        """Remove a contact from the lookup indexes and from its companies."""
        if c.user_id is not None:
            table = self.user_ids if c.type == "user" else self.anon_ids
            if table.get(c.user_id) == c.id:
                del table[c.user_id]
        if c.email:
            ids = self.emails.get(c.email.lower())
            if ids and c.id in ids:
                ids.remove(c.id)
                if not ids:
                    del self.emails[c.email.lower()]
        for co_id in c.company_ids:
            co = self.companies.get(co_id)
            if co is not None:
                co.members.discard(c.id)

    def _table(self, type_: str) -> dict[str, Contact]:
        return {"user": self.users, "contact": self.leads, "visitor": self.visitors}[type_]

    def add_contact(self, c: Contact) -> Contact:
        """Store and index a new contact."""
        self._table(c.type)[c.id] = c
        self.index_contact(c)
        self.changed()
        return c

    def _new_contact(self, type_: str, user_id: str | None = None) -> Contact:
        now = self.now()
        if type_ != "user" and user_id is None:
            user_id = str(uuid.UUID(int=uuid.uuid4().int))
        return Contact(
            id=self.new_hex_id(now),
            type=type_,
            user_id=user_id,
            email=None,
            name=None,
            phone=None,
            pseudonym=None,
            created_at=now,
            updated_at=now,
            signed_up_at=None,
            remote_created_at=None,
            last_request_at=None,
            session_count=0,
            profile=None,
            custom={},
        )

    # ----------------------------------------------------------------- users

    def upsert_user(self, body: Any) -> Contact:
        """Create or update a user (`POST /users`); key `id` > `user_id` > `email`."""
        body = _object(body)
        self.check_contact_body(body)
        user_id = _identifier(body.get("user_id"), "user_id")
        email = _identifier(body.get("email"), "email")
        c = self._match_user(body.get("id"), user_id, email)
        created = False
        if c is None:
            c = self._restore_archived(user_id, email)
        if c is None:
            if user_id is None and email is None:
                raise missing("user_id or email")
            c = self.add_contact(self._new_contact("user", user_id))
            created = True
        self._set_identity(c, user_id, email, created)
        self._apply_profile(c, body, "customer")
        if created:
            self.emit("user.created", self.render_contact(c))
        return c

    def _match_user(self, intercom_id: Any, user_id: str | None, email: str | None) -> Contact | None:
        if intercom_id:
            c = self.users.get(str(intercom_id))
            if c is None and str(intercom_id) in self.archived:
                return self._restore(self.archived[str(intercom_id)])
            if c is None:
                raise not_found("User", "id")
            return c
        if user_id is not None and user_id in self.user_ids:
            return self.users[self.user_ids[user_id]]
        if email is None:
            return None
        matches = self.by_email(email)
        if user_id is not None:
            # A new user_id may claim an email-only user, but never one with its own user_id (inferred).
            orphans = [m for m in matches if m.user_id is None]
            return orphans[0] if len(orphans) == 1 else None
        if len(matches) > 1:
            raise SandboxError(
                409,
                "conflict",
                "Multiple existing users match this email address - must be more specific using user_id",
                "email",
            )
        return matches[0] if matches else None

    def _restore_archived(self, user_id: str | None, email: str | None) -> Contact | None:
        """Bring back an archived user named by user_id or email (inferred behaviour)."""
        for c in self.archived.values():
            if (user_id is not None and c.user_id == user_id) or (
                user_id is None and email is not None and c.email and c.email.lower() == email.lower()
            ):
                return self._restore(c)
        return None

    def _restore(self, c: Contact) -> Contact:
        del self.archived[c.id]
        self.users[c.id] = c
        self.index_contact(c)
        self.changed()
        return c

    def _set_identity(self, c: Contact, user_id: str | None, email: str | None, created: bool) -> None:
        if user_id is not None and user_id != c.user_id:
            holder = self.user_ids.get(user_id)
            if holder is not None and holder != c.id:
                raise SandboxError(409, "unique_user_constraint", "User already exists.", "user_id")
            self.unindex_contact(c)
            c.user_id = user_id
            self.index_contact(c)
        if email is not None and email != c.email:
            had_email = c.email
            self.unindex_contact(c)
            c.email = email
            self.index_contact(c)
            if not created and c.type == "user":
                self.emit("user.email.updated", self.render_contact(c))
            if had_email is None and c.type == "contact" and not created:
                self.emit("contact.added_email", self.render_contact(c))

    def check_contact_body(self, body: dict[str, Any], model: str = "customer") -> None:
        """Raise for anything in a user/lead/visitor body that `_apply_profile` would refuse.

        Writes call this before changing anything, so a refused request leaves no trace.
        """
        for key in ("user_id", "email"):
            _identifier(body.get(key), key)
        for key in _TIME_FIELDS:
            if key in body:
                _timestamp(body[key], key)
        if "custom_attributes" in body:
            self.check_custom(model, body["custom_attributes"])
        if "companies" in body:
            self._check_company_entries(body["companies"])

    def _check_company_entries(self, entries: Any) -> None:
        if not isinstance(entries, list):
            raise invalid("companies", "companies must be an array")
        for entry in entries:
            if not isinstance(entry, dict):
                raise invalid("companies", "each company must be an object")
            self._company_for_entry(entry)
            self.check_company_body(entry)

    def _apply_profile(self, c: Contact, body: dict[str, Any], model: str) -> None:
        """Apply the writable profile fields of a user/lead/visitor body, then touch it."""
        if "name" in body:
            c.name = None if body["name"] is None else str(body["name"])
        if "phone" in body:
            c.phone = None if body["phone"] is None else str(body["phone"])
        for key in _TIME_FIELDS:
            if key in body and (c.type == "user" or key != "signed_up_at"):
                setattr(c, key, _timestamp(body[key], key))
        if flag(body.get("update_last_request_at")):
            c.last_request_at = self.now()
        if flag(body.get("new_session")):
            c.session_count += 1
        if "unsubscribed_from_emails" in body:
            was = c.unsubscribed
            c.unsubscribed = flag(body["unsubscribed_from_emails"])
            if c.unsubscribed and not was and c.type == "user":
                self.emit("user.unsubscribed", self.render_contact(c))
        self._apply_extras(c, body)
        if "custom_attributes" in body:
            c.custom = self.merge_custom(model, c.custom, body["custom_attributes"])
        if "companies" in body:
            self._apply_companies(c, body["companies"])
        self.touch(c)

    def _apply_extras(self, c: Contact, body: dict[str, Any]) -> None:
        updates: dict[str, Any] = {key: body[key] for key in _EXTRA_FIELDS if key in body}
        if "last_seen_user_agent" in body:
            updates["user_agent_data"] = body["last_seen_user_agent"]
        avatar = body.get("avatar")
        if isinstance(avatar, dict) and "image_url" in avatar:
            updates["avatar"] = {"type": "avatar", "image_url": avatar["image_url"]}
        if updates:
            c.extra = {**(c.extra or {}), **updates}

    def check_custom(self, model: str, incoming: Any) -> None:
        """Raise for custom attributes the API refuses: nested values, bad names, too many attributes."""
        if not isinstance(incoming, dict):
            raise invalid("custom_attributes", "custom_attributes must be an object")
        new = 0
        for key, value in incoming.items():
            if not key or "." in key or "$" in key:
                raise invalid("custom_attributes", f"Custom attribute name '{key}' is not valid")
            if isinstance(value, dict | list):
                raise invalid(
                    "custom_attributes", f"Custom attribute '{key}' must be a string, number, boolean or null"
                )
            if isinstance(value, str) and len(value) > 255:
                raise invalid("custom_attributes", f"Custom attribute '{key}' is longer than 255 characters")
            new += value is not None and (model, key) not in self.data_attributes
        live = sum(1 for a in self.data_attributes.values() if a.custom and not a.archived)
        if new and live + new > CUSTOM_ATTRIBUTE_LIMIT:
            raise SandboxError(400, "custom_data_limit_reached", "Custom attribute limit reached", "custom_attributes")

    def merge_custom(self, model: str, current: dict[str, Any], incoming: Any) -> dict[str, Any]:
        """Return current custom attributes merged key by key with incoming (checked first)."""
        self.check_custom(model, incoming)
        for key, value in incoming.items():
            if value is not None:
                self.ensure_attribute(model, key, value)
        return {**current, **incoming}

    def ensure_attribute(self, model: str, name: str, value: Any, admin_id: str | None = None) -> None:
        """Register a custom data attribute the first time it is written."""
        if (model, name) in self.data_attributes:
            return
        self.data_attributes[(model, name)] = DataAttribute(
            name=name,
            model=model,
            data_type=_data_type(name, value),
            label=name,
            description="",
            custom=True,
            created_at=self.now(),
            admin_id=admin_id,
        )

    def _apply_companies(self, c: Contact, entries: Any) -> None:
        if not isinstance(entries, list):
            raise invalid("companies", "companies must be an array")
        ids = list(c.company_ids)
        for entry in entries:
            if not isinstance(entry, dict):
                raise invalid("companies", "each company must be an object")
            co = self._company_for_entry(entry)
            if flag(entry.get("remove")):
                if co is not None and co.id in ids:
                    ids.remove(co.id)
                    co.members.discard(c.id)
                continue
            if co is None:
                co = self.upsert_company(entry)
            elif len(entry) > 1:
                self._apply_company_fields(co, entry)
            if co.id not in ids:
                ids.append(co.id)
            co.members.add(c.id)
        c.company_ids = tuple(ids)
        self.changed()

    def _company_for_entry(self, entry: dict[str, Any]) -> Company | None:
        if entry.get("id"):
            co = self.companies.get(str(entry["id"]))
            if co is None:
                raise SandboxError(404, "company_not_found", "Company Not Found", "id")
            return co
        if entry.get("company_id") is not None:
            found = self.company_ids.get(str(entry["company_id"]))
            return self.companies[found] if found else None
        raise missing("company_id")

    def list_users(
        self,
        sort: str = "created_at",
        order: str = "desc",
        created_since: int | None = None,
        tag_id: str | None = None,
        segment_id: str | None = None,
    ) -> list[Contact]:
        """Return live users in list order (stable tie-break by id)."""
        _check_order(sort, order)
        if tag_id and segment_id:
            raise invalid("tag_id", "tag_id and segment_id cannot be combined")
        key = ("users", sort, order, created_since, tag_id, segment_id)
        return self.cached(key, lambda: self._sorted_users(sort, order, created_since, tag_id, segment_id))

    def _sorted_users(
        self, sort: str, order: str, created_since: int | None, tag_id: str | None, segment_id: str | None
    ) -> list[Contact]:
        users: Iterable[Contact] = self.users.values()
        if created_since is not None:
            since = self.now() - created_since * 86400
            users = [u for u in users if u.created_at >= since]
        if tag_id:
            users = [u for u in users if tag_id in u.tag_ids]
        if segment_id:
            users = [u for u in users if segment_id in u.segment_ids]
        return _sort_contacts(users, sort, order)

    def archive_user(self, id: str | None = None, user_id: str | None = None, email: str | None = None) -> Contact:
        """Archive (soft-delete) a user; it leaves lists and lookups, its conversations stay."""
        if id:
            c = self.get_user(id)
        elif user_id:
            c = self.find_user(user_id)
        elif email:
            c = self.one_user_by_email(email)
        else:
            raise missing("id, user_id or email")
        self.unindex_contact(c)  # keeps c.company_ids, so a restore re-attaches the user
        del self.users[c.id]
        self.archived[c.id] = c
        self.changed()
        self.emit("user.deleted", self.render_contact(c))
        return c

    # ----------------------------------------------------------------- leads

    def get_lead(self, lead_id: str) -> Contact:
        return lookup(self.leads, lead_id, "Contact")

    def find_lead(self, user_id: str) -> Contact:
        return self._find_anon(self.leads, user_id, "Contact")

    def _find_anon(self, store: dict[str, Contact], user_id: str, label: str) -> Contact:
        """Return a lead or visitor by its generated user_id, or raise the API's 404."""
        cid = self.anon_ids.get(user_id)
        if cid is None or cid not in store:
            raise not_found(label)
        return store[cid]

    def upsert_lead(self, body: Any, lead_id: str | None = None) -> Contact:
        """Create a lead, or update the one named by `id`/`user_id` (`POST /contacts`, `PUT /contacts/{id}`)."""
        body = _object(body)
        self.check_contact_body(body)
        lead_id = lead_id or body.get("id")
        uid = _identifier(body.get("user_id"), "user_id")
        created = False
        if lead_id:
            c = self.get_lead(str(lead_id))
        elif uid and uid in self.anon_ids and self.anon_ids[uid] in self.leads:
            c = self.leads[self.anon_ids[uid]]
        else:
            c = self.add_contact(self._new_contact("contact", uid))
            c.pseudonym = self._pseudonym(c)
            created = True
        email = _identifier(body.get("email"), "email")
        self._set_identity(c, None, email, created)
        self._apply_profile(c, body, "customer")
        if created:
            self.emit("contact.created", self.render_contact(c))
        return c

    def _pseudonym(self, c: Contact) -> str:
        colours = ("Lime", "Azure", "Coral", "Violet", "Amber", "Teal", "Crimson", "Olive")
        animals = ("Duck", "Bike", "Otter", "Falcon", "Lynx", "Heron", "Panda", "Koala")
        n = int(c.id[-8:], 16)
        return f"{colours[n % 8]} {animals[(n // 8) % 8]} from Dublin"

    def list_leads(
        self, email: str | None = None, phone: str | None = None, sort: str = "created_at", order: str = "desc"
    ) -> list[Contact]:
        """Return leads in list order (sorted like users, inferred), optionally filtered by email or phone."""
        _check_order(sort, order)
        if email:
            return _sort_contacts(self.by_email(email, ("contact",)), sort, order)
        leads = self.cached(("leads", sort, order), lambda: _sort_contacts(self.leads.values(), sort, order))
        return [c for c in leads if c.phone == phone] if phone else leads

    def delete_lead(self, lead_id: str | None = None, user_id: str | None = None) -> Contact:
        """Delete a lead for good; it then 404s."""
        if lead_id:
            c = self.get_lead(lead_id)
        elif user_id:
            c = self.find_lead(user_id)
        else:
            raise missing("user_id")
        self._drop_contact(c)
        self.emit("contact.deleted", self.render_contact(c))
        return c

    def _drop_contact(self, c: Contact) -> None:
        self.unindex_contact(c)
        del self._table(c.type)[c.id]
        self.changed()

    def convert_lead(self, body: Any) -> Contact:
        """Convert a lead (`POST /contacts/convert`): merge into an existing user, or become one."""
        body = _object(body)
        ident = _object(body.get("contact"), "contact")
        if ident.get("id"):
            lead = self.get_lead(str(ident["id"]))
        elif ident.get("user_id"):
            lead = self.find_lead(str(ident["user_id"]))
        else:
            raise missing("contact")
        return self._convert(lead, _object(body.get("user"), "user"))

    def _convert(self, anon: Contact, target: dict[str, Any]) -> Contact:
        user_id = _identifier(target.get("user_id"), "user_id")
        email = _identifier(target.get("email"), "email")
        if not (target.get("id") or user_id or email):
            raise missing("user")
        self.check_contact_body(target)
        existing = self._match_user(target.get("id"), user_id, email)
        if existing is None:
            user = self._become_user(anon, user_id, email, target)
        else:
            user = self._merge_into(anon, existing)
        self.emit("contact.signed_up" if anon.type != "visitor" else "visitor.signed_up", self.render_contact(user))
        return user

    def _merge_into(self, anon: Contact, user: Contact) -> Contact:
        """Fold a lead or visitor into a user: conversations, events, notes, tags, attributes follow."""
        self._move_activity(anon.id, user.id)
        user.tag_ids = tuple(dict.fromkeys(user.tag_ids + anon.tag_ids))
        user.company_ids = tuple(dict.fromkeys(user.company_ids + anon.company_ids))
        for co_id in anon.company_ids:
            if co_id in self.companies:
                self.companies[co_id].members.add(user.id)
        user.custom = {**anon.custom, **user.custom}  # the user's own values win (inferred)
        self._drop_contact(anon)
        self.touch(user)
        return user

    def _move_activity(self, old_id: str, new_id: str) -> None:
        for conv in self.conversations.values():
            if old_id in conv.customer_types:
                conv.customers = list(dict.fromkeys(new_id if c == old_id else c for c in conv.customers))
                del conv.customer_types[old_id]
                conv.customer_types[new_id] = "user"
        moved = self.events_by_contact.pop(old_id, [])
        for e in moved:
            e.contact_id = new_id
        if moved:
            self.events_by_contact.setdefault(new_id, []).extend(moved)
        for n in self.notes.values():
            if n.contact_id == old_id:
                n.contact_id = new_id

    def _become_user(self, anon: Contact, user_id: str | None, email: str | None, target: dict[str, Any]) -> Contact:
        """Turn a lead or visitor into a user in place; it keeps its Intercom id (inferred)."""
        self._drop_contact(anon)
        anon.type = "user"
        anon.user_id = user_id
        if email is not None:
            anon.email = email
        anon.signed_up_at = anon.signed_up_at or self.now()
        self.add_contact(anon)
        for conv in self.conversations.values():
            if anon.id in conv.customer_types:
                conv.customer_types[anon.id] = "user"
        profile = {k: v for k, v in target.items() if k not in ("id", "user_id", "email")}
        self._apply_profile(anon, profile, "customer")
        return anon

    # ----------------------------------------------------------------- visitors

    def get_visitor(self, visitor_id: str) -> Contact:
        return lookup(self.visitors, visitor_id, "Visitor")

    def find_visitor(self, user_id: str) -> Contact:
        return self._find_anon(self.visitors, user_id, "Visitor")

    def _visitor_from(self, ident: dict[str, Any], visitor_id: str | None = None) -> Contact:
        if visitor_id or ident.get("id"):
            return self.get_visitor(str(visitor_id or ident["id"]))
        if ident.get("user_id"):
            return self.find_visitor(str(ident["user_id"]))
        if ident.get("email"):
            found = self.by_email(str(ident["email"]), ("visitor",))
            if found:
                return found[0]
            raise not_found("Visitor")
        raise missing("id or user_id")

    def update_visitor(self, body: Any, visitor_id: str | None = None) -> Contact:
        """Update a visitor named by `id` or `user_id` (`PUT /visitors`)."""
        body = _object(body)
        self.check_contact_body(body)
        c = self._visitor_from(body, visitor_id)
        email = _identifier(body.get("email"), "email")
        self._set_identity(c, None, email, False)
        self._apply_profile(c, body, "customer")
        return c

    def delete_visitor(self, visitor_id: str | None = None, user_id: str | None = None) -> Contact:
        if visitor_id:
            c = self.get_visitor(visitor_id)
        elif user_id:
            c = self.find_visitor(user_id)
        else:
            raise missing("user_id")
        self._drop_contact(c)
        return c

    def convert_visitor(self, body: Any) -> Contact:
        """Convert a visitor to a user (`type: user`, merge-or-become) or to a lead (`type: lead`)."""
        body = _object(body)
        visitor = self._visitor_from(_object(body.get("visitor"), "visitor"))
        kind = body.get("type", "user")
        if kind == "user":
            return self._convert(visitor, _object(body.get("user"), "user"))
        if kind in ("lead", "contact"):
            self._drop_contact(visitor)
            visitor.type = "contact"
            self.add_contact(visitor)
            self.touch(visitor)
            self.emit("visitor.signed_up", self.render_contact(visitor))
            return visitor
        raise invalid("type", "type must be user or lead")

    # ----------------------------------------------------------------- companies

    def upsert_company(self, body: Any) -> Company:
        """Create or update a company keyed on `company_id` (or named by `id`)."""
        body = _object(body)
        self.check_company_body(body)
        if body.get("id"):
            co = self.get_company(str(body["id"]))
        else:
            if body.get("company_id") is None or body.get("company_id") == "":
                raise missing("company_id")
            found = self.company_ids.get(str(body["company_id"]))
            co = self.companies[found] if found else None
        if co is None:
            now = self.now()
            co = Company(
                id=self.new_hex_id(now), company_id=str(body["company_id"]), name=None, created_at=now, updated_at=now
            )
            self.companies[co.id] = co
            self.company_ids[co.company_id] = co.id
            self._apply_company_fields(co, body)
            self.emit("company.created", self.render_company(co))
            return co
        self._apply_company_fields(co, body)
        return co

    def check_company_body(self, body: dict[str, Any]) -> None:
        """Raise for anything in a company body that `_apply_company_fields` would refuse."""
        for key in ("remote_created_at", "last_request_at"):
            if key in body:
                _timestamp(body[key], key)
        for key in ("monthly_spend", "size", "session_count"):
            value = body.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise invalid(key, f"{key} must be a number")
        if "custom_attributes" in body:
            self.check_custom("company", body["custom_attributes"])

    def _apply_company_fields(self, co: Company, body: dict[str, Any]) -> None:
        if "name" in body:
            co.name = None if body["name"] is None else str(body["name"])
        for key in ("remote_created_at", "last_request_at"):
            if key in body:
                setattr(co, key, _timestamp(body[key], key))
        for key in ("monthly_spend", "size", "session_count"):
            if key in body:
                setattr(co, key, body[key])
        for key in ("website", "industry"):
            if key in body:
                setattr(co, key, None if body[key] is None else str(body[key]))
        if "plan" in body:
            plan = body["plan"]
            if isinstance(plan, dict):
                plan = plan.get("name")
            co.plan = None if plan in (None, "") else str(plan)
            if co.plan and co.plan not in self.plans:
                self.plans[co.plan] = str(len(self.plans) + 1)
        if "custom_attributes" in body:
            co.custom = self.merge_custom("company", co.custom, body["custom_attributes"])
        self.touch(co)

    def get_company(self, company_id: str) -> Company:
        return lookup(self.companies, company_id, SandboxError(404, "company_not_found", "Company Not Found"))

    def find_company(self, company_id: str | None = None, name: str | None = None) -> Company:
        """Return the company with this company_id, or the first one with this name."""
        if company_id is not None:
            found = self.company_ids.get(company_id)
            if found:
                return self.companies[found]
        elif name is not None:
            for co in self.companies.values():
                if co.name == name:
                    return co
        raise SandboxError(404, "company_not_found", "Company Not Found")

    def list_companies(
        self, order: str = "desc", tag_id: str | None = None, segment_id: str | None = None
    ) -> list[Company]:
        """Return companies that have users, by `last_request_at` (ties by id)."""
        if order not in ("asc", "desc"):
            raise invalid("order", "order must be asc or desc")
        if tag_id and segment_id:
            raise invalid("tag_id", "tag_id and segment_id cannot be combined")
        return self.cached(
            ("companies", order, tag_id, segment_id), lambda: self._sorted_companies(order, tag_id, segment_id)
        )

    def _sorted_companies(self, order: str, tag_id: str | None, segment_id: str | None) -> list[Company]:
        users = self.users
        found = [co for co in self.companies.values() if any(m in users for m in co.members)]
        if tag_id:
            found = [co for co in found if tag_id in co.tag_ids]
        if segment_id:
            found = [co for co in found if segment_id in co.segment_ids]
        return sorted(found, key=lambda co: (co.last_request_at or 0, co.id), reverse=order == "desc")

    def company_users(self, co: Company) -> list[Contact]:
        """Return the company's users, newest first."""
        users = [self.users[m] for m in co.members if m in self.users]
        return sorted(users, key=lambda u: (u.created_at, u.id), reverse=True)

    def delete_company(self, id: str | None = None, company_id: str | None = None) -> Company:
        """Delete a company and detach it from its contacts (inferred: v1 never documented this)."""
        co = self.get_company(id) if id else self.find_company(company_id=company_id) if company_id else None
        if co is None:
            raise missing("company_id")
        for member in list(co.members):
            c = self.contact_any(member)
            if c is not None:
                c.company_ids = tuple(i for i in c.company_ids if i != co.id)
        for c in self.archived.values():
            if co.id in c.company_ids:
                c.company_ids = tuple(i for i in c.company_ids if i != co.id)
        del self.companies[co.id]
        self.company_ids.pop(co.company_id, None)
        self.changed()
        return co

    # ----------------------------------------------------------------- tags and segments

    def get_tag(self, tag_id: str) -> Tag:
        return lookup(self.tags, str(tag_id), "Tag")

    def save_tag(self, body: Any) -> Tag:
        """Handle every form of `POST /tags`: create, rename, tag and untag users/leads or companies."""
        body = _object(body)
        users, companies = body.get("users"), body.get("companies")
        if users is not None and companies is not None:
            raise invalid("users", "Users and companies cannot be tagged in the same request")
        for key, entries in (("users", users), ("companies", companies)):
            if entries is not None and (not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries)):
                raise invalid(key, f"{key} must be an array of objects")
        tag = self._tag_for(body)
        if users is not None:
            self._tag_contacts(tag, users)
        if companies is not None:
            self._tag_companies(tag, companies)
        return tag

    def _tag_for(self, body: dict[str, Any]) -> Tag:
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise invalid("name", "name must be a non-empty string")
        if body.get("id"):
            tag = self.get_tag(str(body["id"]))
            if name and name != tag.name:
                self._rename_tag(tag, name)
            return tag
        if not name:
            raise missing("name")
        found = self.tag_names.get(name.lower())
        if found:
            return self.tags[found]
        tag = Tag(id=self.next_id("tag", 100_000), name=name, created_at=self.now())
        self.tags[tag.id] = tag
        self.tag_names[name.lower()] = tag.id
        self.changed()
        return tag

    def _rename_tag(self, tag: Tag, name: str) -> None:
        holder = self.tag_names.get(name.lower())
        if holder and holder != tag.id:
            raise invalid("name", f"A tag named '{name}' already exists")
        del self.tag_names[tag.name.lower()]
        tag.name = name
        self.tag_names[name.lower()] = tag.id
        self.changed()

    def _tag_contacts(self, tag: Tag, entries: Any) -> None:
        if not isinstance(entries, list):
            raise invalid("users", "users must be an array")
        for entry in entries:
            if not isinstance(entry, dict):
                raise invalid("users", "each user must be an object")
            for c in self._tag_targets(entry):
                self._set_contact_tag(c, tag, untag=flag(entry.get("untag")))

    def _tag_targets(self, entry: dict[str, Any]) -> list[Contact]:
        """Return the contacts a tagging entry names; unknown ones are skipped (inferred)."""
        if entry.get("id"):
            c = self._live(str(entry["id"]))
            return [c] if c is not None else []
        if entry.get("user_id"):
            cid = self.user_ids.get(str(entry["user_id"]))
            return [self.users[cid]] if cid else []
        if entry.get("email"):
            return self.by_email(str(entry["email"]))
        return []

    def _set_contact_tag(self, c: Contact, tag: Tag, untag: bool) -> None:
        has = tag.id in c.tag_ids
        if untag == (not has):
            return
        c.tag_ids = tuple(t for t in c.tag_ids if t != tag.id) if untag else c.tag_ids + (tag.id,)
        self.touch(c)
        prefix = "user" if c.type == "user" else "contact"
        item = {
            "type": f"{prefix}_tag",
            "created_at": self.now(),
            "tag": self.render_tag(tag),
            prefix: self.render_contact(c),
        }
        self.emit(f"{prefix}.tag.{'deleted' if untag else 'created'}", item)

    def _tag_companies(self, tag: Tag, entries: Any) -> None:
        if not isinstance(entries, list):
            raise invalid("companies", "companies must be an array")
        for entry in entries:
            if not isinstance(entry, dict):
                raise invalid("companies", "each company must be an object")
            try:
                co = self._company_for_entry(entry)
            except SandboxError:
                co = None
            if co is None:
                continue
            untag = flag(entry.get("untag"))
            if untag and tag.id in co.tag_ids:
                co.tag_ids = tuple(t for t in co.tag_ids if t != tag.id)
                self.touch(co)
            elif not untag and tag.id not in co.tag_ids:
                co.tag_ids = co.tag_ids + (tag.id,)
                self.touch(co)

    def delete_tag(self, tag_id: str) -> None:
        """Delete a tag and strip it from every contact, company and conversation."""
        tag = self.get_tag(tag_id)
        for table in (self.users, self.leads, self.visitors, self.archived):
            for c in table.values():
                if tag.id in c.tag_ids:
                    c.tag_ids = tuple(t for t in c.tag_ids if t != tag.id)
        for co in self.companies.values():
            if tag.id in co.tag_ids:
                co.tag_ids = tuple(t for t in co.tag_ids if t != tag.id)
        for conv in self.conversations.values():
            conv.tags = [t for t in conv.tags if t[0] != tag.id]
        del self.tags[tag.id]
        self.tag_names.pop(tag.name.lower(), None)
        self.changed()

    def get_segment(self, segment_id: str) -> Segment:
        return lookup(self.segments, segment_id, "Segment")

    def list_segments(self, company: bool = False) -> list[Segment]:
        return [s for s in self.segments.values() if (s.person_type == "company") == company]

    def segment_counts(self) -> dict[str, int]:
        """Return members per segment, counted from state (memoised until the next write)."""
        return self.cached(("segment_counts",), self._count_segments)

    def _count_segments(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for table in (self.users, self.leads, self.companies):
            for record in table.values():
                counts.update(record.segment_ids)
        return dict(counts)

    # ----------------------------------------------------------------- notes and events

    def create_note(self, body: Any) -> Note:
        """Add a note to a user or lead; plain text comes back wrapped in <p>."""
        body = _object(body)
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise missing("body")
        contact = self.resolve_customer(_object(body.get("user"), "user"))
        author = self.get_admin(str(body["admin_id"])) if body.get("admin_id") else self.me()
        note = Note(
            id=self.next_id("note"),
            created_at=self.now(),
            body=to_html(text),
            author_id=author.id,
            contact_id=contact.id,
        )
        self.notes[note.id] = note
        return note

    def get_note(self, note_id: str) -> Note:
        return lookup(self.notes, note_id, "Note")

    def list_notes(self, contact: Contact) -> list[Note]:
        """Return the contact's notes, newest first."""
        found = [n for n in self.notes.values() if n.contact_id == contact.id]
        return sorted(found, key=lambda n: (n.created_at, int(n.id)), reverse=True)

    def create_event(self, body: Any) -> Event:
        """Record an event for a user or lead (`POST /events`)."""
        body = _object(body)
        name = body.get("event_name")
        if not isinstance(name, str) or not name.strip():
            raise missing("event_name")
        created_at = _timestamp(body.get("created_at"), "created_at")
        if created_at is None:
            raise missing("created_at")
        contact = self.resolve_customer({k: body.get(k) for k in ("id", "user_id", "email")})
        metadata = _object(body.get("metadata"), "metadata")
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
                    "first": _iso(min(times)),
                    "last": _iso(max(times)),
                    "count": len(times),
                    "description": None,
                }
                for name, times in by_name.items()
            ],
        }

    # ----------------------------------------------------------------- admins, teams, counts

    def me(self) -> Admin:
        """Return the admin who owns the access token: the first admin."""
        if not self.admins:
            # A hand-built workspace still has someone behind the token.
            self.add_admin("Workspace Owner", "owner@sandbox.example")
        return next(iter(self.admins.values()))

    def add_admin(self, name: str, email: str, team_ids: Iterable[str] = ()) -> Admin:
        """Add a teammate (for hand-built workspaces; the generator makes its own)."""
        admin = Admin(id=self.next_id("admin", 493_880), name=name, email=email)
        self.admins[admin.id] = admin
        for team_id in team_ids:
            self._join(admin, self.get_team(team_id))
        return admin

    def add_team(self, name: str, admin_ids: Iterable[str] = ()) -> Team:
        """Add a team; admins and teams share one id space, so an assignee id is never ambiguous."""
        team = Team(id=self.next_id("admin", 493_880), name=name)
        self.teams[team.id] = team
        for admin_id in admin_ids:
            self._join(self.get_admin(admin_id), team)
        return team

    def _join(self, admin: Admin, team: Team) -> None:
        if team.id not in admin.team_ids:
            admin.team_ids.append(team.id)
            team.admin_ids.append(admin.id)

    def get_admin(self, admin_id: str) -> Admin:
        missing = SandboxError(404, "admin_not_found", "Admin for admin_id not found", "admin_id")
        return lookup(self.admins, str(admin_id), missing)

    def get_team(self, team_id: str) -> Team:
        return lookup(self.teams, str(team_id), SandboxError(404, "team_not_found", "Team not found"))

    def set_away(self, admin_id: str, body: Any) -> Admin:
        """Switch an admin's away mode (`PUT /admins/{id}/away`)."""
        body = _object(body)
        admin = self.get_admin(admin_id)
        if "away_mode_enabled" not in body:
            raise missing("away_mode_enabled")
        admin.away_mode_enabled = flag(body["away_mode_enabled"])
        admin.away_mode_reassign = flag(body.get("away_mode_reassign", False))
        return admin

    def list_activity_logs(self, after: int, before: int | None = None) -> list[dict[str, Any]]:
        found = [
            a for a in self.activity_logs if a["created_at"] >= after and (before is None or a["created_at"] <= before)
        ]
        return sorted(found, key=lambda a: a["created_at"], reverse=True)

    def counts(self, type_: str | None = None, count: str | None = None) -> dict[str, Any]:
        """Return `GET /counts` computed from the current state."""
        if type_ is None:
            return {
                "type": "count.hash",
                "company": {"count": len(self.companies)},
                "segment": {"count": len(self.segments)},
                "tag": {"count": len(self.tags)},
                "user": {"count": len(self.users)},
                "lead": {"count": len(self.leads)},
            }
        if type_ == "conversation" and count in (None, ""):
            return {"type": "count", "conversation": self._conversation_counts()}
        if type_ == "conversation" and count == "admin":
            return {"type": "count", "conversation": {"admin": self._admin_counts()}}
        if type_ == "user" and count in ("tag", "segment"):
            return {"type": "count", "user": {count: self._named_counts(self.users.values(), count)}}
        if type_ == "company" and count in ("tag", "segment", "user"):
            if count == "user":
                rows = [{co.name or co.company_id: self.user_count(co)} for co in self.companies.values()]
            else:
                rows = self._named_counts(self.companies.values(), count)
            return {"type": "count", "company": {count: rows}}
        raise invalid("count" if count else "type", "Unsupported count type")

    def _named_counts(self, records: Iterable[Any], kind: str) -> list[dict[str, int]]:
        counts: Counter[str] = Counter()
        attr = "tag_ids" if kind == "tag" else "segment_ids"
        for r in records:
            counts.update(getattr(r, attr))
        table = self.tags if kind == "tag" else self.segments
        return [{item.name: counts.get(item_id, 0)} for item_id, item in table.items()]

    def _conversation_counts(self) -> dict[str, int]:
        self.wake_snoozed()
        convs = self.conversations.values()
        open_ = [c for c in convs if c.state != "closed"]
        assigned = sum(1 for c in open_ if c.assignee[0] != "nobody_admin")
        return {
            "open": len(open_),
            "closed": len(self.conversations) - len(open_),
            "unassigned": len(open_) - assigned,
            "assigned": assigned,
        }

    def _admin_counts(self) -> list[dict[str, Any]]:
        rows = []
        for a in self.admins.values():
            mine = [c for c in self.conversations.values() if c.assignee == ("admin", a.id)]
            open_ = sum(1 for c in mine if c.state != "closed")
            rows.append({"id": a.id, "name": a.name, "open": open_, "closed": len(mine) - open_})
        return rows

    # ----------------------------------------------------------------- conversations

    def get_conversation(self, conversation_id: str) -> Conversation:
        self.wake_snoozed()
        return lookup(self.conversations, conversation_id, "Conversation")

    def wake_snoozed(self) -> None:
        """Reopen conversations whose snooze has run out, as Intercom's timer does."""
        now = self.now()
        for conv in self.conversations.values():
            if conv.state == "snoozed" and conv.snoozed_until is not None and conv.snoozed_until <= now:
                at = conv.snoozed_until
                conv.parts.append(Part(self.next_id("part", 100_000), "timer_unsnooze", None, at, ("bot", None)))
                conv.state, conv.snoozed_until = "open", None
                conv.updated_at = max(conv.updated_at, at)
                self.emit("conversation.admin.unsnoozed", self.render_conversation(conv, parts=conv.parts[-1:]))

    def list_conversations(self, filters: dict[str, str]) -> list[Conversation]:
        """Return conversations matching the `GET /conversations` filters, in the asked order."""
        self.wake_snoozed()
        sort = filters.get("sort") or "updated_at"
        order = filters.get("order") or "desc"
        if sort not in CONVERSATION_SORTS:
            raise invalid("sort", f"sort must be one of {', '.join(CONVERSATION_SORTS)}")
        if order not in ("asc", "desc"):
            raise invalid("order", "order must be asc or desc")
        found = list(self.conversations.values())
        kind = filters.get("type")
        if kind == "user":
            found = self._for_customer(found, filters)
        elif kind == "admin":
            found = self._for_admin(found, filters.get("admin_id"))
        elif kind:
            raise invalid("type", "type must be user or admin")
        if filters.get("open") not in (None, ""):
            want_open = flag(filters["open"])
            found = [c for c in found if (c.state != "closed") == want_open]
        if flag(filters.get("unread", "false")):
            found = [c for c in found if not c.read]
        return sorted(found, key=lambda c: (getattr(c, sort) or 0, int(c.id)), reverse=order == "desc")

    def _for_customer(self, convs: list[Conversation], filters: dict[str, str]) -> list[Conversation]:
        ident = {k: filters.get(k) for k in ("intercom_user_id", "user_id", "email") if filters.get(k)}
        if not ident:
            raise missing("intercom_user_id, user_id or email")
        if "email" in ident and len(ident) == 1:
            ids = {c.id for c in self.by_email(ident["email"], ("user", "contact"))}
        else:
            ids = {self.resolve_customer(ident).id}
        return [c for c in convs if ids.intersection(c.customers)]

    def _for_admin(self, convs: list[Conversation], admin_id: str | None) -> list[Conversation]:
        if not admin_id:
            raise missing("admin_id")
        if admin_id == "nobody":
            return [c for c in convs if c.assignee[0] == "nobody_admin"]
        self.get_admin(admin_id)
        return [c for c in convs if c.assignee == ("admin", admin_id)]

    def reply(self, conversation_id: str, body: Any) -> Conversation:
        """Apply `POST /conversations/{id}/reply`; see the state table in §7.5 of the reference."""
        body = _object(body)
        conv = self.get_conversation(conversation_id)
        kind = body.get("type")
        message_type = body.get("message_type") or "comment"
        if kind == "admin":
            self._admin_reply(conv, body, message_type)
        elif kind == "user":
            self._user_reply(conv, body, message_type)
        elif kind is None:
            raise missing("type")
        else:
            raise invalid("type", "type must be admin or user")
        return conv

    def reply_to_last(self, body: Any) -> Conversation:
        """Reply as a user to their most recently updated conversation."""
        body = _object(body)
        if body.get("type", "user") != "user":
            raise invalid("type", "Only users can reply to their last conversation")
        contact = self.resolve_customer(body)
        mine = [c for c in self.conversations.values() if contact.id in c.customers]
        if not mine:
            raise not_found("Conversation")
        last = max(mine, key=lambda c: (c.updated_at, int(c.id)))
        return self.reply(last.id, {**body, "type": "user"})

    def _admin_reply(self, conv: Conversation, body: dict[str, Any], message_type: str) -> None:
        if not body.get("admin_id"):
            raise missing("admin_id")
        admin = self.get_admin(str(body["admin_id"]))
        if message_type not in ADMIN_REPLY_TYPES:
            raise invalid("message_type", f"message_type must be one of {', '.join(ADMIN_REPLY_TYPES)}")
        now = self.now()
        text = self._reply_body(body, required=message_type in ("comment", "note"))
        part = Part(self.next_id("part", 100_000), message_type, text, now, ("admin", admin.id), notified_at=now)
        part.attachments = self._attachments(body)
        topic = self._apply_admin_action(conv, body, message_type, part)
        self._add_part(conv, part)
        self.emit(topic, self.render_conversation(conv, parts=[part]))

    def _apply_admin_action(self, conv: Conversation, body: dict[str, Any], message_type: str, part: Part) -> str:
        """Change the conversation for an admin reply and return the webhook topic."""
        if message_type == "comment":
            conv.waiting_since = None
            conv.read = True
            return "conversation.admin.replied"
        if message_type == "note":
            return "conversation.admin.noted"
        if message_type == "assignment":
            conv.assignee = part.assigned_to = self._assignee(body.get("assignee_id"))
            return "conversation.admin.assigned"
        if message_type == "close":
            # A closed conversation waits for nobody (inferred), so waiting_since goes too.
            conv.state, conv.snoozed_until, conv.waiting_since = "closed", None, None
            return "conversation.admin.closed"
        if message_type == "open":
            was_snoozed = conv.state == "snoozed"
            conv.state, conv.snoozed_until = "open", None
            return "conversation.admin.unsnoozed" if was_snoozed else "conversation.admin.opened"
        until = _timestamp(body.get("snoozed_until", body.get("snooze_until")), "snoozed_until")
        if until is None:
            raise missing("snoozed_until")
        if until <= part.created_at:
            raise invalid("snoozed_until", "snoozed_until must be in the future")
        conv.state, conv.snoozed_until = "snoozed", until
        return "conversation.admin.snoozed"

    def _assignee(self, assignee_id: Any) -> tuple[str, str | None]:
        if assignee_id is None or assignee_id == "":
            raise missing("assignee_id")
        assignee_id = str(assignee_id)
        if assignee_id == "0":
            return ("nobody_admin", None)
        if assignee_id in self.admins:
            return ("admin", assignee_id)
        if assignee_id in self.teams:
            return ("team", assignee_id)
        raise SandboxError(404, "admin_not_found", "Admin for assignee_id not found", "assignee_id")

    def _user_reply(self, conv: Conversation, body: dict[str, Any], message_type: str) -> None:
        if message_type != "comment":
            raise invalid("message_type", "Users can only reply with message_type comment")
        contact = self.resolve_customer(body)
        now = self.now()
        text = self._reply_body(body, required=True)
        author_type = "user" if contact.type == "user" else "lead"
        part = Part(self.next_id("part", 100_000), "comment", text, now, (author_type, contact.id), notified_at=now)
        part.attachments = self._attachments(body)
        if conv.state != "open":
            conv.state, conv.snoozed_until = "open", None
        conv.waiting_since = conv.waiting_since or now
        conv.read = False
        conv.first_reply_at = conv.first_reply_at or now
        self._add_part(conv, part)
        shown = [part, *self._away_reassign(conv, now)]
        self.emit("conversation.user.replied", self.render_conversation(conv, parts=shown))

    def _away_reassign(self, conv: Conversation, now: int) -> list[Part]:
        """Send a reply for an away admin (with reassign on) back to the unassigned inbox."""
        kind, admin_id = conv.assignee
        admin = self.admins.get(admin_id or "") if kind == "admin" else None
        if admin is None or not (admin.away_mode_enabled and admin.away_mode_reassign):
            return []
        conv.assignee = ("nobody_admin", None)
        part = Part(
            self.next_id("part", 100_000),
            "away_mode_assignment",
            None,
            now,
            ("admin", admin.id),
            ("nobody_admin", None),
        )
        self._add_part(conv, part)
        return [part]

    def _reply_body(self, body: dict[str, Any], required: bool) -> str | None:
        text = body.get("body")
        if text is None or (isinstance(text, str) and not text.strip()):
            if required:
                raise missing("body")
            return None
        if not isinstance(text, str):
            raise invalid("body", "body must be a string")
        return to_html(text)

    def _attachments(self, body: dict[str, Any]) -> tuple[dict[str, Any], ...]:
        urls = body.get("attachment_urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls) or len(urls) > 10:
            raise invalid("attachment_urls", "attachment_urls must be a list of at most 10 URLs")
        return tuple(
            {
                "type": "upload",
                "name": u.rstrip("/").rsplit("/", 1)[-1] or "file",
                "url": u,
                "content_type": mimetypes.guess_type(u)[0] or "application/octet-stream",
                "filesize": 0,
                "width": None,
                "height": None,
            }
            for u in urls
        )

    def _add_part(self, conv: Conversation, part: Part) -> None:
        conv.parts.append(part)
        conv.updated_at = max(conv.updated_at, part.created_at)

    def mark_read(self, conversation_id: str, body: Any) -> Conversation:
        """Apply `PUT /conversations/{id}` with `{"read": true}`."""
        body = _object(body)
        conv = self.get_conversation(conversation_id)
        if "read" not in body:
            raise missing("read")
        conv.read = flag(body["read"])
        conv.updated_at = self.now()
        return conv

    def add_customer(self, conversation_id: str, body: Any) -> Conversation:
        """Add a customer to a (group) conversation, as an admin or as a participant."""
        body = _object(body)
        conv = self.get_conversation(conversation_id)
        if body.get("admin_id"):
            author: tuple[str, str | None] = ("admin", self.get_admin(str(body["admin_id"])).id)
        elif any(body.get(k) for k in ("intercom_user_id", "user_id", "email")):
            actor = self.resolve_customer(body)
            if actor.id not in conv.customers:
                raise SandboxError(403, "action_forbidden", "Only participants can add customers", "intercom_user_id")
            author = ("user" if actor.type == "user" else "lead", actor.id)
        else:
            raise missing("admin_id")
        customer = self.resolve_customer(_object(body.get("customer"), "customer"))
        if not customer.email:
            raise invalid("customer", "Customers without an email cannot be added to a conversation")
        if customer.id not in conv.customers:
            conv.customers.append(customer.id)
            conv.customer_types[customer.id] = "user" if customer.type == "user" else "lead"
            self._add_part(conv, Part(self.next_id("part", 100_000), "participant_added", None, self.now(), author))
        return conv

    def remove_customer(self, conversation_id: str, customer_id: str, body: Any) -> Conversation:
        """Remove a customer from a group conversation; the last one cannot go (inferred)."""
        body = _object(body)
        conv = self.get_conversation(conversation_id)
        if customer_id not in conv.customers:
            raise not_found("Customer")
        if len(conv.customers) == 1:
            raise invalid("id", "A conversation must keep at least one customer")
        admin_id = str(body["admin_id"]) if body.get("admin_id") else self.me().id
        self.get_admin(admin_id)
        conv.customers.remove(customer_id)
        conv.customer_types.pop(customer_id, None)
        self._add_part(
            conv, Part(self.next_id("part", 100_000), "participant_removed", None, self.now(), ("admin", admin_id))
        )
        return conv

    def post_message(self, body: Any) -> dict[str, Any]:
        """Send a message (`POST /messages`); it starts a conversation and returns the message."""
        body = _object(body)
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise missing("body")
        sender = _object(body.get("from"), "from")
        if sender.get("type") == "admin":
            return self._admin_message(body, sender, text)
        return self._customer_message(body, sender, text)

    def _admin_message(self, body: dict[str, Any], sender: dict[str, Any], text: str) -> dict[str, Any]:
        admin = self.get_admin(str(sender.get("id")))
        to = _object(body.get("to"), "to")
        if not to:
            raise missing("to")
        recipient = self.resolve_customer(to, leads=to.get("type") in ("contact", "lead", None))
        message_type = body.get("message_type") or "inapp"
        if message_type not in ("inapp", "email"):
            raise invalid("message_type", "message_type must be inapp or email")
        subject = body.get("subject") or ""
        if message_type == "email" and not subject:
            raise missing("subject")
        if message_type == "email" and recipient.unsubscribed:
            raise SandboxError(403, "action_forbidden", "This user is unsubscribed from emails")
        template = body.get("template") or "plain"
        now = self.now()
        message = Part(self.next_id("part", 100_000), "comment", to_html(text), now, ("admin", admin.id))
        conv = self._start_conversation(message, subject, "admin_initiated", recipient)
        conv.assignee, conv.read = ("admin", admin.id), True
        self.emit("conversation.admin.single.created", self.render_conversation(conv, parts=[]))
        return {
            "type": "admin_message",
            "id": message.id,
            "created_at": now,
            "message_type": message_type,
            "subject": subject,
            "body": message.body,
            "template": template,
            "owner": {"type": "admin", "id": admin.id, "name": admin.name, "email": admin.email},
        }

    def _customer_message(self, body: dict[str, Any], sender: dict[str, Any], text: str) -> dict[str, Any]:
        if sender.get("type") == "visitor":
            visitor = self._visitor_from(sender)
            contact = self.convert_visitor({"visitor": {"id": visitor.id}, "type": "lead"})
        elif sender.get("type") in ("user", "contact", "lead", None):
            contact = self.resolve_customer(sender, leads=sender.get("type") != "user")
        else:
            raise invalid("from", "from.type must be admin, user, contact or visitor")
        now = self.now()
        author = ("user" if contact.type == "user" else "lead", contact.id)
        message = Part(self.next_id("part", 100_000), "comment", to_html(text), now, author)
        conv = self._start_conversation(message, "", "customer_initiated", contact)
        conv.waiting_since, conv.read, conv.first_reply_at = now, False, now
        self.emit("conversation.user.created", self.render_conversation(conv, parts=[]))
        return {
            "type": "user_message",
            "id": message.id,
            "created_at": now,
            "body": message.body,
            "message_type": "inapp",
        }

    def _start_conversation(self, message: Part, subject: str, delivered_as: str, customer: Contact) -> Conversation:
        now = message.created_at
        conv = Conversation(
            id=self.next_id("conversation", 10_000),
            created_at=now,
            updated_at=now,
            message=message,
            subject=subject,
            delivered_as=delivered_as,
            customers=[customer.id],
            customer_types={customer.id: "user" if customer.type == "user" else "lead"},
        )
        self.conversations[conv.id] = conv
        return conv

    # ----------------------------------------------------------------- data attributes

    def _install_standard_attributes(self) -> None:
        for model, rows in STANDARD_ATTRIBUTES.items():
            for name, data_type, label in rows:
                self.data_attributes[(model, name)] = DataAttribute(
                    name=name,
                    model=model,
                    data_type=data_type,
                    label=label,
                    description=f"The {label.lower()} of the {'company' if model == 'company' else 'user or lead'}",
                    custom=False,
                    created_at=self.app_created_at,
                    api_writable=name not in ("created_at", "updated_at", "session_count", "user_count"),
                    ui_writable=False,
                )

    def list_data_attributes(self, model: str, include_archived: bool = False) -> list[DataAttribute]:
        if model not in ("customer", "company"):
            raise invalid("model", "model must be customer or company")
        return [a for a in self.data_attributes.values() if a.model == model and (include_archived or not a.archived)]

    # ----------------------------------------------------------------- subscriptions

    def save_subscription(self, body: Any, subscription_id: str | None = None) -> Subscription:
        """Create (`POST /subscriptions`) or update (`POST /subscriptions/{id}`) a webhook subscription."""
        body = _object(body)
        sub = self.get_subscription(subscription_id) if subscription_id else None
        url = body.get("url", sub.url if sub else None)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise invalid("url", "url must be an http(s) URL") if url else missing("url")
        topics = body.get("topics", sub.topics if sub else None)
        if not isinstance(topics, list) or not topics:
            raise missing("topics")
        unknown = [t for t in topics if t not in TOPICS]
        if unknown:
            raise invalid("topics", f"Unknown topics: {', '.join(map(str, unknown))}")
        now = self.now()
        if sub is None:
            if len(self.subscriptions) >= SUBSCRIPTION_LIMIT:
                raise invalid("url", "Too many subscriptions")
            sub = Subscription(
                id=f"nsub_{self.next_id('subscription', 10_000_000)}",
                url=url,
                topics=[],
                created_at=now,
                updated_at=now,
            )
            self.subscriptions[sub.id] = sub
        sub.url, sub.topics, sub.updated_at = url, list(topics), now
        if "hub_secret" in body:
            sub.hub_secret = body["hub_secret"] or None
        if "metadata" in body:
            sub.metadata = dict(_object(body["metadata"], "metadata"))
        if "active" in body:
            sub.active = flag(body["active"])
        return sub

    def get_subscription(self, subscription_id: str) -> Subscription:
        return lookup(self.subscriptions, subscription_id, "Subscription")

    def delete_subscription(self, subscription_id: str) -> Subscription:
        return self.subscriptions.pop(self.get_subscription(subscription_id).id)

    def ping(self, subscription_id: str) -> Subscription:
        sub = self.get_subscription(subscription_id)
        self.emit("ping", {"type": "ping", "message": "something something interzen"}, only=sub.id)
        return sub


def _check_order(sort: str, order: str) -> None:
    if sort not in USER_SORTS:
        raise invalid("sort", f"sort must be one of {', '.join(USER_SORTS)}")
    if order not in ("asc", "desc"):
        raise invalid("order", "order must be asc or desc")


def _sort_contacts(contacts: Iterable[Contact], sort: str, order: str) -> list[Contact]:
    """Return contacts sorted on one field, ties broken by id so paging never repeats or skips."""
    return sorted(contacts, key=lambda c: (getattr(c, sort) or 0, c.id), reverse=order == "desc")


def event_cursor(e: Event) -> int:
    """Return the `before=` cursor of an event: its time and sequence in one sortable integer."""
    return e.created_at * 1_000_000 + e.seq % 1_000_000


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(ts))


__all__ = ["EMPTY", "SandboxError", "Workspace", "event_cursor"]
