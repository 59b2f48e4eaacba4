"""Conversations: rendering, the list filters, replies and their state machine, customers."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Any

from ..records import Contact, Conversation, Part, to_html, to_plaintext
from .base import SandboxError, WorkspaceBase, as_object, as_timestamp, flag, invalid, lookup, missing, not_found

PARTS_CAP = 500  # v2 docs: at most the 500 most recent parts; assumed for v1 too
CONVERSATION_SORTS = ("created_at", "updated_at", "waiting_since")
ADMIN_REPLY_TYPES = ("comment", "note", "assignment", "open", "close", "snoozed")


class ConversationsMixin(WorkspaceBase):
    """Conversations: rendering, the list filters, replies and their state machine, customers."""

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
            # python-intercom's find_all(type='admin', id=…) names the admin `id`; the docs say `admin_id`.
            found = self._for_admin(found, filters.get("admin_id") or filters.get("id"))
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
        body = as_object(body)
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
        body = as_object(body)
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
        until = as_timestamp(body.get("snoozed_until", body.get("snooze_until")), "snoozed_until")
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
        body = as_object(body)
        conv = self.get_conversation(conversation_id)
        if "read" not in body:
            raise missing("read")
        conv.read = flag(body["read"])
        conv.updated_at = self.now()
        return conv

    def add_customer(self, conversation_id: str, body: Any) -> Conversation:
        """Add a customer to a (group) conversation, as an admin or as a participant."""
        body = as_object(body)
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
        customer = self.resolve_customer(as_object(body.get("customer"), "customer"))
        if not customer.email:
            raise invalid("customer", "Customers without an email cannot be added to a conversation")
        if customer.id not in conv.customers:
            conv.customers.append(customer.id)
            conv.customer_types[customer.id] = "user" if customer.type == "user" else "lead"
            self._add_part(conv, Part(self.next_id("part", 100_000), "participant_added", None, self.now(), author))
        return conv

    def remove_customer(self, conversation_id: str, customer_id: str, body: Any) -> Conversation:
        """Remove a customer from a group conversation; the last one cannot go (inferred)."""
        body = as_object(body)
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
