"""The mirror: one row per Intercom object, plus the bookkeeping of the sync.

Every mirrored row keeps its Intercom id, typed columns for what the dashboard
filters, sorts and searches on, the raw JSON it was last built from, and when it
was last confirmed against the API (`synced_at`). Rows that vanish from the API
are flagged (`deleted_at`), never removed, so history stays explainable.

Links between mirrored rows point at Intercom ids (`to_field="intercom_id"`,
no database constraint): a conversation can arrive before its customer, and a
lead merged into a user only needs its id rewritten.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.db import models
from django.db.models.base import ModelState
from django.utils import timezone


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """Return value as compact JSON (orjson: a full sync encodes every record).

    orjson refuses integers beyond 64 bits, which Python's parser accepts from
    the API; those rare values go through the standard library instead.
    """
    try:
        option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
        return orjson.dumps(value, option=option, default=str).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(payload: dict[str, Any]) -> str:
    return json_text(payload, sort_keys=True)


def without_nul(value: Any) -> Any:
    """Return value with NUL characters removed from every string: PostgreSQL refuses them."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def payload_hash(payload: dict[str, Any], encoded: str | None = None) -> str:
    """Return a stable fingerprint of a payload, to skip rewriting unchanged rows."""
    encoded = canonical_json(payload) if encoded is None else encoded
    return hashlib.blake2b(encoded.encode(), digest_size=16).hexdigest()


def from_unix(value: Any) -> datetime | None:
    """Return an aware datetime for an Intercom timestamp (int, numeric string, 0/None → None)."""
    if value in (None, "", 0, "0"):
        return None
    try:
        return datetime.fromtimestamp(int(float(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def ref_id(ref: Any) -> str:
    """Return the id of a `{type, id}` reference, or "" for null ids and missing refs."""
    if isinstance(ref, dict) and ref.get("id") not in (None, ""):
        return str(ref["id"])
    return ""


def unwrap(value: Any, key: str) -> list[dict[str, Any]]:
    """Return the items of a nested list, wrapped (`{"type": "x.list", key: [...]}`) or plain."""
    if isinstance(value, dict):
        value = value.get(key)
    return [item for item in value or [] if isinstance(item, dict)]


def text(value: Any, limit: int = 255) -> str:
    """Return value as a string that fits a CharField (None becomes "")."""
    return "" if value is None else str(value)[:limit]


INT_RANGE = range(-(2**31), 2**31)  # IntegerField on PostgreSQL


def number(value: Any, kind: type = int) -> Any:
    """Return value as int (within IntegerField's range) or float; None when it is neither."""
    try:
        result = None if value in (None, "") else kind(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if kind is int and result is not None and result not in INT_RANGE:
        return None
    return result


class MirrorQuerySet(models.QuerySet):
    def live(self) -> MirrorQuerySet:
        """Return the rows that still exist in Intercom."""
        return self.filter(deleted_at__isnull=True)


class MirrorModel(models.Model):
    intercom_id = models.CharField(max_length=64, unique=True)
    raw = models.JSONField(default=dict, blank=True)
    raw_hash = models.CharField(max_length=32, blank=True, default="")
    # Not indexed: only a full pass reads it (once, to flag what vanished), while every
    # sync writes it, and each index costs every one of those writes.
    synced_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Which kind of answer the stored version came from (see sync/apply.py's precedence
    # table): at an equal `updated_at`, a direct read outranks a list item, which
    # outranks a webhook item.
    source = models.PositiveSmallIntegerField(default=0)

    objects = MirrorQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @classmethod
    def from_payload(cls, payload: dict[str, Any], **extra: Any) -> MirrorModel:
        """Return an unsaved row built from an Intercom object."""
        encoded = canonical_json(payload)
        if "\\u0000" in encoded:  # rare: strip NULs once, here, for every column built below
            payload = without_nul(payload)
            encoded = canonical_json(payload)
        row = cls.unsaved(
            {
                "intercom_id": str(payload["id"]),
                "raw": payload,
                "raw_hash": payload_hash(payload, encoded),
                **cls.fields_from_payload(payload),
                **extra,
            }
        )
        row.raw_json = encoded  # reused by the bulk writer instead of encoding the payload twice
        return row

    @classmethod
    def unsaved(cls, values: dict[str, Any]) -> MirrorModel:
        """Return an unsaved row from column values (attnames), without Model.__init__.

        A full sync builds one row per record; Model.__init__ (signals, descriptors,
        keyword matching) was a fifth of the write time. Every column gets its
        default first, so the row is complete.
        """
        row = cls.__new__(cls)
        row._state = ModelState()
        row.__dict__.update(
            {f.attname: f.get_default() for f in cls._meta.concrete_fields if f.attname not in values}, **values
        )
        return row

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the typed columns for an Intercom object."""
        raise NotImplementedError

    @classmethod
    def placeholder(cls, ref: dict[str, Any]) -> MirrorModel:
        """Return a row for an object known only by a short reference; its own sync fills it in."""
        return cls(intercom_id=ref_id(ref), raw=ref, raw_hash="", **cls.fields_from_payload(ref))

    @classmethod
    def synced_fields(cls) -> list[str]:
        """Return the columns a sync rewrites (everything but the key and local bookkeeping)."""
        skip = {"id", "intercom_id"}
        return [f.name for f in cls._meta.concrete_fields if f.name not in skip]


class Admin(MirrorModel):
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True, db_index=True)
    away_mode_enabled = models.BooleanField(default=False)
    away_mode_reassign = models.BooleanField(default=False)
    avatar_url = models.URLField(max_length=1000, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.email or self.intercom_id

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": text(payload.get("name")),
            "email": text(payload.get("email")),
            "away_mode_enabled": bool(payload.get("away_mode_enabled")),
            "away_mode_reassign": bool(payload.get("away_mode_reassign")),
            "avatar_url": text((payload.get("avatar") or {}).get("image_url"), 1000),
        }


class Team(MirrorModel):
    name = models.CharField(max_length=255, blank=True)
    admins = models.ManyToManyField(Admin, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.intercom_id

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {"name": text(payload.get("name"))}


class Tag(MirrorModel):
    name = models.CharField(max_length=255, db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {"name": text(payload.get("name"))}


class Segment(MirrorModel):
    name = models.CharField(max_length=255)
    person_type = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": text(payload.get("name")),
            "person_type": text(payload.get("person_type"), 20),
            "created_at": from_unix(payload.get("created_at")),
            "updated_at": from_unix(payload.get("updated_at")),
        }


class Company(MirrorModel):
    company_id = models.CharField(max_length=255, blank=True, db_index=True)
    name = models.CharField(max_length=255, blank=True, db_index=True)
    plan = models.CharField(max_length=255, blank=True)
    monthly_spend = models.FloatField(null=True, blank=True)
    session_count = models.IntegerField(null=True, blank=True)
    user_count = models.IntegerField(null=True, blank=True)
    size = models.IntegerField(null=True, blank=True)
    website = models.CharField(max_length=1000, blank=True)
    industry = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_request_at = models.DateTimeField(null=True, blank=True)
    remote_created_at = models.DateTimeField(null=True, blank=True)
    custom_attributes = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField(Tag, related_name="companies", blank=True)
    segments = models.ManyToManyField(Segment, related_name="companies", blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name or self.company_id or self.intercom_id

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        plan = payload.get("plan")
        return {
            "company_id": text(payload.get("company_id")),
            "name": text(payload.get("name")),
            "plan": text(plan.get("name") if isinstance(plan, dict) else plan),
            "monthly_spend": number(payload.get("monthly_spend"), float),
            "session_count": number(payload.get("session_count")),
            "user_count": number(payload.get("user_count")),
            "size": number(payload.get("size")),
            "website": text(payload.get("website"), 1000),
            "industry": text(payload.get("industry")),
            "created_at": from_unix(payload.get("created_at")),
            "updated_at": from_unix(payload.get("updated_at")),
            "last_request_at": from_unix(payload.get("last_request_at")),
            "remote_created_at": from_unix(payload.get("remote_created_at")),
            "custom_attributes": payload.get("custom_attributes") or {},
        }


class Contact(MirrorModel):
    """A user or a lead: one table, because a conversation's customer can be either."""

    USER, LEAD = "user", "lead"
    ROLES = [(USER, "User"), (LEAD, "Lead")]

    role = models.CharField(max_length=8, choices=ROLES)  # indexed with updated_at below
    user_id = models.CharField(max_length=255, blank=True, db_index=True)
    email = models.CharField(max_length=255, blank=True, db_index=True)
    phone = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255, blank=True, db_index=True)
    pseudonym = models.CharField(max_length=255, blank=True)
    avatar_url = models.URLField(max_length=1000, blank=True)
    city = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    signed_up_at = models.DateTimeField(null=True, blank=True)
    last_request_at = models.DateTimeField(null=True, blank=True)
    session_count = models.IntegerField(default=0)
    unsubscribed_from_emails = models.BooleanField(default=False)
    custom_attributes = models.JSONField(default=dict, blank=True)
    companies = models.ManyToManyField(Company, related_name="contacts", blank=True)
    tags = models.ManyToManyField(Tag, related_name="contacts", blank=True)
    segments = models.ManyToManyField(Segment, related_name="contacts", blank=True)
    # Set when a lead was merged into an existing user: the lead's row stays (flagged
    # deleted) so that old links can be followed to where they went.
    merged_into = models.ForeignKey(
        "self", to_field="intercom_id", db_constraint=False, db_index=False, null=True, blank=True,
        on_delete=models.DO_NOTHING, related_name="merged_leads",
    )  # fmt: skip
    # When this contact's notes were last read from the API (the notes pass's
    # per-contact marker: a pass resumed after a crash skips contacts already read).
    notes_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["role", "-updated_at"], name="contact_role_updated"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.pseudonym or self.user_id or self.intercom_id

    @property
    def is_lead(self) -> bool:
        return self.role == self.LEAD

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        location = payload.get("location_data") or {}
        return {
            "role": cls.LEAD if payload.get("type") in ("contact", "lead") else cls.USER,
            "user_id": text(payload.get("user_id")),
            "email": text(payload.get("email")),
            "phone": text(payload.get("phone"), 64),
            "name": text(payload.get("name")),
            "pseudonym": text(payload.get("pseudonym")),
            "avatar_url": text((payload.get("avatar") or {}).get("image_url"), 1000),
            "city": text(location.get("city_name")),
            "country": text(location.get("country_name")),
            "created_at": from_unix(payload.get("created_at")),
            "updated_at": from_unix(payload.get("updated_at")),
            "signed_up_at": from_unix(payload.get("signed_up_at")),
            "last_request_at": from_unix(payload.get("last_request_at")),
            "session_count": number(payload.get("session_count")) or 0,
            "unsubscribed_from_emails": bool(payload.get("unsubscribed_from_emails")),
            "custom_attributes": payload.get("custom_attributes") or {},
            "merged_into_id": None,
        }


class Conversation(MirrorModel):
    OPEN, CLOSED, SNOOZED = "open", "closed", "snoozed"
    STATES = [(OPEN, "Open"), (CLOSED, "Closed"), (SNOOZED, "Snoozed")]

    customer = models.ForeignKey(
        Contact, to_field="intercom_id", db_constraint=False, null=True, blank=True,
        on_delete=models.DO_NOTHING, related_name="conversations",
    )  # fmt: skip
    assignee_admin = models.ForeignKey(
        Admin, to_field="intercom_id", db_constraint=False, null=True, blank=True,
        on_delete=models.DO_NOTHING, related_name="assigned_conversations",
    )  # fmt: skip
    assignee_team = models.ForeignKey(
        Team, to_field="intercom_id", db_constraint=False, null=True, blank=True,
        on_delete=models.DO_NOTHING, related_name="assigned_conversations",
    )  # fmt: skip
    state = models.CharField(max_length=10, choices=STATES, default=OPEN)
    open = models.BooleanField(default=True)
    read = models.BooleanField(default=False)
    subject = models.CharField(max_length=1000, blank=True)
    body = models.TextField(blank=True, help_text="The opening message, as HTML from Intercom (unsanitised).")
    author_type = models.CharField(max_length=20, blank=True)
    author_intercom_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    waiting_since = models.DateTimeField(
        null=True, blank=True, help_text="Since when the customer has waited for an admin reply (None: not waiting)."
    )
    # Mirrored from the parts: only an admin reply clears waiting; bots and notes do not count.
    last_customer_part_at = models.DateTimeField(null=True, blank=True)
    last_admin_reply_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    parts_total = models.IntegerField(default=0, help_text="Parts Intercom says the conversation has.")
    parts_synced = models.IntegerField(default=0, help_text="Parts the mirror holds.")
    parts_fetched_for = models.DateTimeField(
        null=True, blank=True, help_text="The updated_at the parts were last fetched for."
    )
    tags = models.ManyToManyField(Tag, related_name="conversations", blank=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["state", "-updated_at"], name="conv_state_updated"),
            models.Index(fields=["assignee_admin", "state", "-updated_at"], name="conv_admin_state_updated"),
            models.Index(fields=["assignee_team", "state", "-updated_at"], name="conv_team_state_updated"),
            models.Index(fields=["state", "waiting_since"], name="conv_state_waiting"),
            models.Index(fields=["-updated_at"], name="conv_updated"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.intercom_id}"

    # Computed by the apply path from the parts it holds, never taken from a payload.
    DERIVED_FIELDS = ("waiting_since", "last_customer_part_at", "last_admin_reply_at")
    CUSTOMER_AUTHORS = ("user", "lead", "contact")

    @classmethod
    def synced_fields(cls) -> list[str]:
        return [f for f in super().synced_fields() if f not in cls.DERIVED_FIELDS]

    @property
    def parts_drift(self) -> int:
        """Return how many parts Intercom has that the mirror could not fetch."""
        return max(self.parts_total - self.parts_synced, 0)

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        message = payload.get("conversation_message") or {}
        assignee = payload.get("assignee") or {}
        customers = payload.get("customers") or []
        customer = payload.get("user") or (customers[0] if customers else None)
        # Webhook items can carry `"open": null` and no state: only an explicit false means closed.
        state = payload.get("state") or (cls.CLOSED if payload.get("open") is False else cls.OPEN)
        return {
            "customer_id": ref_id(customer) or None,
            "assignee_admin_id": ref_id(assignee) if assignee.get("type") == "admin" else None,
            "assignee_team_id": ref_id(assignee) if assignee.get("type") == "team" else None,
            "state": state if state in (cls.OPEN, cls.CLOSED, cls.SNOOZED) else cls.OPEN,
            "open": state != cls.CLOSED,
            "read": bool(payload.get("read")),
            "subject": text(message.get("subject"), 1000),
            "body": message.get("body") or "",
            "author_type": text((message.get("author") or {}).get("type"), 20),
            "author_intercom_id": ref_id(message.get("author")),
            "created_at": from_unix(payload.get("created_at")),
            "updated_at": from_unix(payload.get("updated_at")),
            "waiting_since": from_unix(payload.get("waiting_since")),  # until the parts say otherwise
            "snoozed_until": from_unix(payload.get("snoozed_until")),
        }

    @staticmethod
    def without_parts(payload: dict[str, Any]) -> dict[str, Any]:
        """Return the payload minus its parts, which live in their own rows."""
        return {k: v for k, v in payload.items() if k != "conversation_parts"}


class ConversationPart(MirrorModel):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="parts")
    part_type = models.CharField(max_length=40, db_index=True)
    body = models.TextField(blank=True, help_text="HTML from Intercom (unsanitised).")
    author_type = models.CharField(max_length=20, blank=True)
    author_intercom_id = models.CharField(max_length=64, blank=True)
    assigned_to_type = models.CharField(max_length=20, blank=True)
    assigned_to_intercom_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="part_conv_created")]

    def __str__(self) -> str:
        return f"{self.part_type} {self.intercom_id}"

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        assigned = payload.get("assigned_to") or {}
        return {
            "part_type": text(payload.get("part_type"), 40),
            "body": payload.get("body") or "",
            "author_type": text((payload.get("author") or {}).get("type"), 20),
            "author_intercom_id": ref_id(payload.get("author")),
            "assigned_to_type": text(assigned.get("type"), 20),
            "assigned_to_intercom_id": ref_id(assigned),
            "created_at": from_unix(payload.get("created_at")),
            "updated_at": from_unix(payload.get("updated_at")),
            "notified_at": from_unix(payload.get("notified_at")),
        }


class Note(MirrorModel):
    contact = models.ForeignKey(
        Contact, to_field="intercom_id", db_constraint=False, null=True, blank=True,
        on_delete=models.DO_NOTHING, related_name="notes",
    )  # fmt: skip
    author = models.ForeignKey(
        Admin, to_field="intercom_id", db_constraint=False, null=True, blank=True,
        on_delete=models.DO_NOTHING, related_name="notes",
    )  # fmt: skip
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Note {self.intercom_id}"

    @classmethod
    def fields_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "contact_id": ref_id(payload.get("user")) or None,
            "author_id": ref_id(payload.get("author")) or None,
            "body": payload.get("body") or "",
            "created_at": from_unix(payload.get("created_at")),
        }


class SyncState(models.Model):
    """Per-resource watermark, and who holds the resource's sync lock.

    The lock itself is in `sync/locks.py`: a session advisory lock on PostgreSQL,
    a heartbeat-renewed lease (`locked_until`) on SQLite. Either way these columns
    name the holder (host, pid, since) so that a dead one is recognised and taken
    over, and operators can be told who holds it.
    """

    resource = models.CharField(max_length=32, unique=True)
    watermark = models.DateTimeField(null=True, blank=True, help_text="Everything updated before this is mirrored.")
    last_full_at = models.DateTimeField(null=True, blank=True)
    # When the full pass in progress began (cleared when it completes): a pass resumed
    # after a crash skips the records it already did since then.
    full_pass_started_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=64, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Who holds the lock, so that a dead holder can be recognised and operators told.
    locked_host = models.CharField(max_length=255, blank=True)
    locked_pid = models.IntegerField(null=True, blank=True)
    locked_since = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.resource

    @property
    def is_locked(self) -> bool:
        return bool(self.locked_until and self.locked_until > timezone.now())

    def holder(self) -> str:
        """Return who holds (or last held) the lock as "host:pid", else its owner token."""
        if self.locked_host or self.locked_pid:
            return f"{self.locked_host or '?'}:{self.locked_pid or '?'}"
        return self.locked_by or "nobody"

    def holder_since(self) -> str:
        """Return "host:pid since <date and time>", as recorded in a run that took the lock over."""
        if not self.locked_since:
            return self.holder()
        return f"{self.holder()} since {timezone.localtime(self.locked_since):%Y-%m-%d %H:%M:%S %Z}"

    def describe_lock(self, now: datetime | None = None) -> str:
        """Return "host:pid since 21:03:04 (heartbeat 3 s ago)" for an operator."""
        now = now or timezone.now()
        text = self.holder()
        if self.locked_since:
            since = timezone.localtime(self.locked_since)
            same_day = since.date() == timezone.localtime(now).date()
            text += f" since {since:%H:%M:%S}" if same_day else f" since {since:%Y-%m-%d %H:%M:%S}"
        if self.heartbeat_at:
            text += f" (heartbeat {max(now - self.heartbeat_at, timedelta()).total_seconds():.0f} s ago)"
        return text


class SyncRun(models.Model):
    FULL, INCREMENTAL, RECORD = "full", "incremental", "record"
    KINDS = [(FULL, "Full"), (INCREMENTAL, "Incremental"), (RECORD, "Single record")]
    RUNNING, OK, FAILED, SKIPPED, ABANDONED = "running", "ok", "failed", "skipped", "abandoned"
    STATUSES = [(RUNNING, "Running"), (OK, "OK"), (FAILED, "Failed"), (SKIPPED, "Skipped"), (ABANDONED, "Abandoned")]

    resource = models.CharField(max_length=32, db_index=True)
    kind = models.CharField(max_length=12, choices=KINDS)
    status = models.CharField(max_length=10, choices=STATUSES, default=RUNNING, db_index=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched = models.IntegerField(default=0)
    created = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    deleted = models.IntegerField(default=0)
    api_requests = models.IntegerField(default=0)
    drift = models.IntegerField(default=0, help_text="Conversation parts Intercom has but did not return.")
    errors = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="Informational messages about the run (not errors).")
    took_over_from = models.CharField(
        max_length=255, blank=True, help_text="The crashed holder whose lock this run took over."
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.resource} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration(self) -> timedelta | None:
        return (self.finished_at - self.started_at) if self.finished_at else None

    def add_note(self, note: str) -> None:
        """Append an informational line (not an error) to the run; saved with the run."""
        self.notes = (self.notes + "\n" + note).strip()

    def finish(self, status: str, error: str = "") -> None:
        """Close the run with a status and, on failure, the error text."""
        self.status = status
        self.finished_at = timezone.now()
        if error:
            self.errors = (self.errors + "\n" + error).strip()
        self.save()


class WebhookDelivery(models.Model):
    """One notification received from Intercom, kept for deduplication and audit."""

    notification_id = models.CharField(max_length=128, unique=True)
    topic = models.CharField(max_length=64, db_index=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.CharField(max_length=255, blank=True)
    status_code = models.PositiveSmallIntegerField(default=200)
    # Intercom's own timestamp of the notification (`created_at`), for the replay window.
    created_at = models.DateTimeField(null=True, blank=True)
    # The body, kept for audit until WEBHOOK_MAX_AGE_HOURS, then pruned (it holds personal data).
    payload = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.topic} {self.notification_id}"


class StaffProfile(models.Model):
    """A dashboard user's link to the Intercom admin they act as, and their preferences."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="staff_profile")
    # Writes are sent as this admin, decided on the server. Matched by email on first login.
    admin = models.ForeignKey(
        Admin, to_field="intercom_id", db_constraint=False, null=True, blank=True,
        on_delete=models.DO_NOTHING, related_name="staff_profiles",
    )  # fmt: skip
    keyboard_shortcuts = models.BooleanField(default=True, help_text="Single-key shortcuts (WCAG 2.1.4).")

    def __str__(self) -> str:
        return f"{self.user} as {self.admin_id or 'no admin'}"


class StaffAction(models.Model):
    """One write a staff user asked for, sent to Intercom by an action function (`intercom_mirror/actions/`).

    Recorded before the API is called, so nothing typed is lost when Intercom is
    down: a queued action is retried in order by a django-q2 task until it is
    done, fails with a 4xx, or is discarded.
    """

    PENDING, QUEUED, SENDING, DONE, FAILED, DISCARDED = "pending", "queued", "sending", "done", "failed", "discarded"
    STATES = [
        (PENDING, "Pending"), (QUEUED, "Queued"), (SENDING, "Sending"),
        (DONE, "Done"), (FAILED, "Failed"), (DISCARDED, "Discarded"),
    ]  # fmt: skip
    OPEN_STATES = (PENDING, QUEUED, SENDING)

    user = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="staff_actions")
    admin_intercom_id = models.CharField(max_length=64, help_text="The Intercom admin the write is sent as.")
    verb = models.CharField(max_length=32, db_index=True)
    target_type = models.CharField(max_length=20)
    target_intercom_id = models.CharField(max_length=64)
    request_body = models.JSONField(default=dict, blank=True)
    # One per composer submit: a double click or a resend of the same key posts once.
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set when a request went out: after a lost answer, the action reads the record back before sending again.
    sent_at = models.DateTimeField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    result_intercom_id = models.CharField(max_length=64, blank=True, help_text="e.g. the conversation part created.")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_intercom_id", "-created_at"], name="staffaction_target"),
            models.Index(fields=["state", "next_attempt_at"], name="staffaction_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.verb} {self.target_type} {self.target_intercom_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    def summary(self) -> str:
        """Return "<staff user> replied · 201 · 0.4 s" for the conversation's log."""
        parts = [f"{self.user.get_username()} {self.verb_past()}"]
        if self.http_status:
            parts.append(str(self.http_status))
        if self.duration_ms is not None:
            parts.append(f"{self.duration_ms / 1000:.1f} s")
        if self.state != self.DONE:
            parts.append(self.get_state_display().lower())
        return " · ".join(parts)

    def verb_past(self) -> str:
        return VERBS_PAST.get(self.verb, self.verb)


VERBS_PAST = {
    "reply": "replied",
    "note": "added a note",
    "assign": "assigned",
    "close": "closed",
    "reopen": "reopened",
    "snooze": "snoozed",
    "unsnooze": "unsnoozed",
    "mark_read": "marked as read",
    "tag": "tagged",
    "untag": "untagged",
    "add_note": "added a note",
    "bulk_tag": "tagged contacts",
    "bulk_untag": "untagged contacts",
    "convert": "converted the lead",
    "merge": "merged the lead",
    "set_away": "set away mode",
}


class ConversationViewer(models.Model):
    """Who has a conversation open right now (presence), refreshed by the thread's polling."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    conversation_intercom_id = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation_intercom_id", "user"], name="one_viewer_row_per_user"),
        ]
        indexes = [models.Index(fields=["conversation_intercom_id", "seen_at"], name="viewer_conv_seen")]

    def __str__(self) -> str:
        return f"{self.user} viewing {self.conversation_intercom_id}"


# The search index's table (intercom_mirror/search/): its model lives with the search code.
from intercom_mirror.search.models import SearchEntry  # noqa: E402,F401
