"""Webhook subscriptions (`/subscriptions`): create, update, delete, ping."""

from __future__ import annotations

from typing import Any

from ..records import Subscription
from .base import WorkspaceBase, as_object, flag, invalid, lookup, missing

SUBSCRIPTION_LIMIT = 250
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


class SubscriptionsMixin(WorkspaceBase):
    """Webhook subscriptions (`/subscriptions`): create, update, delete, ping."""

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

    def save_subscription(self, body: Any, subscription_id: str | None = None) -> Subscription:
        """Create (`POST /subscriptions`) or update (`POST /subscriptions/{id}`) a webhook subscription."""
        body = as_object(body)
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
            sub.metadata = dict(as_object(body["metadata"], "metadata"))
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
