"""`POST /messages`: admin- and customer-initiated messages, each starting a conversation."""

from __future__ import annotations

from typing import Any

from ..records import Part, to_html
from .base import SandboxError, WorkspaceBase, as_object, invalid, missing


class MessagesMixin(WorkspaceBase):
    """`POST /messages`: admin- and customer-initiated messages, each starting a conversation."""

    def post_message(self, body: Any) -> dict[str, Any]:
        """Send a message (`POST /messages`); it starts a conversation and returns the message."""
        body = as_object(body)
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise missing("body")
        sender = as_object(body.get("from"), "from")
        if sender.get("type") == "admin":
            return self._admin_message(body, sender, text)
        return self._customer_message(body, sender, text)

    def _admin_message(self, body: dict[str, Any], sender: dict[str, Any], text: str) -> dict[str, Any]:
        admin = self.get_admin(str(sender.get("id")))
        to = as_object(body.get("to"), "to")
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
