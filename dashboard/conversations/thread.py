"""A conversation as the page shows it: the opening message, its parts in order, and every name resolved.

Names are looked up once per kind (admins, teams, contacts), whatever the number
of parts, so the thread costs the same few queries for 5 parts or 700.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR

from intercom_mirror.actions import open_actions_for
from intercom_mirror.models import Admin, Contact, Conversation, ConversationPart, StaffAction, Tag, Team, from_unix

CUSTOMER_TYPES = ("user", "lead", "contact")
ASSIGNMENTS = ("assignment", "away_mode_assignment", "default_assignment")
BUBBLE_VERBS = ("reply", "note")  # open actions shown as message bubbles ("sending…"); the others as lines
LOG_LIMIT = 50
# Parts a thread shows at first, and adds with each "Show earlier messages"; the most it ever shows at once
# (Intercom's API gives at most 500, and a few hundred more can come by webhook or from staff).
WINDOW = 100
MAX_SHOWN = 2_000


@dataclass
class Entry:
    """One item of the thread: a message (customer, admin, bot), a note, or an event."""

    kind: str  # "customer", "admin", "bot", "note" or "event"
    author: str
    created_at: datetime | None
    body: str = ""  # untrusted HTML: rendered through the `untrusted_html` filter only
    event: str = ""  # the text of an event: "Closed by Alice"
    attachments: list[dict[str, Any]] = field(default_factory=list)
    part_type: str = ""
    intercom_id: str = ""
    iso: str = ""  # created_at in the dashboard's time zone, as <time datetime> wants it
    when: str = ""  # "Tue 8 Dec, 09:00"


@dataclass
class People:
    """Names of everyone a conversation mentions, each kind read in one query."""

    admins: dict[str, Admin]
    teams: dict[str, Team]
    contacts: dict[str, Contact]

    def author(self, kind: str, intercom_id: str) -> str:
        if kind == "admin":
            admin = self.admins.get(intercom_id)
            return str(admin) if admin else f"Admin {intercom_id}".strip()
        if kind == "bot":
            return "Operator"
        contact = self.contacts.get(intercom_id)
        return contact.display_name if contact else f"Customer {intercom_id}".strip()

    def assignee(self, kind: str, intercom_id: str) -> str:
        if kind == "team":
            team = self.teams.get(intercom_id)
            return str(team) if team else f"team {intercom_id}"
        if kind == "admin" and intercom_id:
            return self.author("admin", intercom_id)
        return "Unassigned"


def get_conversation(intercom_id: str) -> Conversation | None:
    """Return the conversation with its customer, assignee and tags, or None."""
    return (
        Conversation.objects.select_related("customer", "assignee_admin", "assignee_team")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("intercom_id", "name").order_by("name")))
        .filter(intercom_id=intercom_id)
        .first()
    )


def customer_refs(conversation: Conversation) -> list[tuple[str, str]]:
    """Return (type, id) of every customer of the conversation (group conversations have several)."""
    refs = [
        (str(c.get("type") or "user"), str(c["id"]))
        for c in (conversation.raw or {}).get("customers") or []
        if isinstance(c, dict) and c.get("id")
    ]
    if not refs and conversation.customer_id:
        refs = [("user", conversation.customer_id)]
    return refs


def load_people(conversation: Conversation, parts: list[ConversationPart]) -> People:
    """Read the admins and teams (all of them: the Assign menu lists them too) and the contacts named."""
    contact_ids = {cid for _, cid in customer_refs(conversation)}
    if conversation.author_type in CUSTOMER_TYPES:
        contact_ids.add(conversation.author_intercom_id)
    contact_ids.update(p.author_intercom_id for p in parts if p.author_type in CUSTOMER_TYPES)
    contacts = Contact.objects.filter(intercom_id__in=contact_ids).only(
        "intercom_id", "name", "email", "pseudonym", "user_id", "role"
    )
    return People(
        admins={a.intercom_id: a for a in Admin.objects.only("intercom_id", "name", "email", "deleted_at")},
        teams={t.intercom_id: t for t in Team.objects.only("intercom_id", "name", "deleted_at")},
        contacts={c.intercom_id: c for c in contacts},
    )


def build_entries(
    conversation: Conversation, parts: list[ConversationPart], people: People, *, with_opening: bool = True
) -> list[Entry]:
    """Return the opening message (unless earlier parts are left out) then the parts, in order, as the thread shows them."""
    message = (conversation.raw or {}).get("conversation_message") or {}
    opening = Entry(
        kind=message_kind(conversation.author_type),
        author=people.author(conversation.author_type, conversation.author_intercom_id),
        created_at=conversation.created_at,
        body=conversation.body,
        attachments=attachments(message),
        part_type="opening",
        intercom_id=str(message.get("id") or ""),
    )
    last_snooze = next((p.pk for p in reversed(parts) if p.part_type == "snoozed"), None)
    entries = [part_entry(p, people, conversation, p.pk == last_snooze) for p in parts]
    entries = [opening, *entries] if with_opening else entries
    label_times(entries)
    return entries


def label_times(entries: list[Entry]) -> None:
    """Set each entry's time as the template shows it, in the dashboard's time zone.

    The same text as `|date:"c"` and `|date:"D j M, H:i"`, with the day and month names
    translated once for the thread: that filter, called twice for each of 500 parts,
    was a fifth of a long thread's render.
    """
    days = [str(d) for d in WEEKDAYS_ABBR.values()]
    months = {n: str(m).title() for n, m in MONTHS_3.items()}
    for entry in entries:
        if entry.created_at is not None:
            moment = timezone.localtime(entry.created_at)
            entry.iso = moment.isoformat()
            entry.when = f"{days[moment.weekday()]} {moment.day} {months[moment.month]}, {moment:%H:%M}"


def part_entry(part: ConversationPart, people: People, conversation: Conversation, last_snooze: bool) -> Entry:
    author = people.author(part.author_type, part.author_intercom_id)
    entry = Entry(
        kind=message_kind(part.author_type),
        author=author,
        created_at=part.created_at,
        body=part.body,
        attachments=attachments(part.raw),
        part_type=part.part_type,
        intercom_id=part.intercom_id,
    )
    if part.part_type == "note":
        entry.kind = "note"
    elif part.part_type != "comment":
        entry.kind, entry.event = "event", event_text(part, author, people, conversation, last_snooze)
    return entry


def message_kind(author_type: str) -> str:
    if author_type == "admin":
        return "admin"
    return "bot" if author_type == "bot" else "customer"


def event_text(part: ConversationPart, author: str, people: People, conversation: Conversation, last: bool) -> str:
    """Return an event part as a sentence: "Assigned to Billing by Alice", "Closed by Alice"…"""
    kind = part.part_type
    if kind in ASSIGNMENTS:
        target = people.assignee(part.assigned_to_type, part.assigned_to_intercom_id)
        suffix = " (away mode)" if kind == "away_mode_assignment" else ""
        return f"Assigned to {target} by {author}{suffix}"
    if kind == "close":
        return f"Closed by {author}"
    if kind == "open":
        return f"Reopened by {author}"
    if kind == "snoozed":
        # v1 parts do not say until when; the conversation does, for its current snooze.
        until = from_unix((part.raw or {}).get("snoozed_until"))
        if until is None and last and conversation.state == Conversation.SNOOZED:
            until = conversation.snoozed_until
        return f"Snoozed until {local(until)} by {author}" if until else f"Snoozed by {author}"
    if kind == "timer_unsnooze":
        return "Reopened: the snooze ended"
    if kind == "participant_added":
        return f"{author} added a customer to the conversation"
    if kind == "participant_removed":
        return f"{author} removed a customer from the conversation"
    return f"{kind.replace('_', ' ').capitalize()} by {author}"


def local(moment: datetime | None) -> str:
    """Return "Tue 8 Dec, 09:00" in the dashboard's time zone (TIME_ZONE)."""
    return format_date(timezone.localtime(moment), "D j M, H:i") if moment else ""


def attachments(payload: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Return the attachments of a message or part payload (name and url; rendered with safe_url)."""
    found = (payload or {}).get("attachments") or []
    return [
        {"name": str(a.get("name") or "attachment"), "url": str(a.get("url") or "")}
        for a in found
        if isinstance(a, dict)
    ]


def shown_parts(requested: str | None) -> int:
    """Return how many of the latest parts to show, from the page's `parts` (WINDOW unless it asked for more)."""
    try:
        return window_for(int(requested or WINDOW))
    except ValueError:
        return WINDOW


def window_for(parts: int) -> int:
    """Return the multiple of WINDOW that shows this many of the latest parts (at least WINDOW, at most MAX_SHOWN)."""
    return min(max(WINDOW, math.ceil(parts / WINDOW) * WINDOW), MAX_SHOWN)


def matched_part(conversation: Conversation, part_pk: str) -> ConversationPart | None:
    """Return the live part of this conversation a search result pointed at (its primary key), or None."""
    if not part_pk.isdigit():
        return None
    parts = ConversationPart.objects.live().filter(conversation=conversation, pk=int(part_pk))
    return parts.only("id", "intercom_id", "created_at").first()


def parts_to_show(conversation: Conversation, part: ConversationPart) -> int:
    """Return how many of the latest parts to show so that this part is among them."""
    later = (
        ConversationPart.objects.live()
        .filter(conversation=conversation)
        .filter(Q(created_at__gt=part.created_at) | Q(created_at=part.created_at, id__gte=part.id))
    )
    return window_for(later.count())


def latest_parts(conversation: Conversation, shown: int) -> tuple[list[ConversationPart], bool]:
    """Return the latest `shown` parts in order, and whether earlier ones exist (one query: one part more)."""
    newest_first = list(
        ConversationPart.objects.live()
        .filter(conversation=conversation)
        .only(*PART_FIELDS)
        .order_by("-created_at", "-id")[: shown + 1]
    )
    return newest_first[:shown][::-1], len(newest_first) > shown


def thread_context(conversation: Conversation, shown: int = 0) -> dict[str, Any]:
    """Return what the thread region shows: entries, people, open actions (queued, failed) and the action log.

    The thread is the latest `shown` parts (WINDOW by default): the page costs the same for a
    thread of 100 parts or 800, and the 10-second poll renders no more than the reader sees.
    "Show earlier messages" asks for WINDOW more.
    """
    shown = shown or WINDOW
    parts, earlier = latest_parts(conversation, shown)
    people = load_people(conversation, parts)
    open_actions, log = actions_of(conversation)
    customers = [(kind, people.contacts.get(cid), cid) for kind, cid in customer_refs(conversation)]
    return {
        "conversation": conversation,
        "entries": build_entries(conversation, parts, people, with_opening=not earlier),
        "earlier": earlier,
        "shown": shown,
        "show_more": shown + WINDOW,
        "customers": customers,
        "admins": sorted((a for a in people.admins.values() if a.deleted_at is None), key=str),
        "teams": sorted((t for t in people.teams.values() if t.deleted_at is None), key=str),
        "pending_bubbles": [a for a in open_actions if a.verb in BUBBLE_VERBS],
        "pending_changes": [a for a in open_actions if a.verb not in BUBBLE_VERBS],
        "queued_changes": any(a.is_open for a in open_actions),
        "action_log": log,
    }


def actions_of(conversation: Conversation) -> tuple[list[StaffAction], list[StaffAction]]:
    """Return the conversation's open actions (oldest first) and its latest LOG_LIMIT actions (newest first).

    One query: the rows that are either, each flagged with what it is.
    """
    actions = StaffAction.objects.filter(target_type="conversation", target_intercom_id=conversation.intercom_id)
    is_open = Q(pk__in=open_actions_for("conversation", conversation.intercom_id).values("pk"))
    is_logged = Q(pk__in=actions.order_by("-created_at", "-id").values("pk")[:LOG_LIMIT])
    rows = list(
        actions.filter(is_open | is_logged)
        .annotate(
            is_pending=ExpressionWrapper(is_open, output_field=BooleanField()),
            is_logged=ExpressionWrapper(is_logged, output_field=BooleanField()),
        )
        .select_related("user")
        .order_by("-created_at", "-id")
    )
    return [a for a in reversed(rows) if a.is_pending], [a for a in rows if a.is_logged]


PART_FIELDS = (
    "id", "intercom_id", "conversation_id", "part_type", "body", "author_type", "author_intercom_id",
    "assigned_to_type", "assigned_to_intercom_id", "created_at", "raw",
)  # fmt: skip
