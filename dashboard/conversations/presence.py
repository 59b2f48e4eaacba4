"""Who has a conversation open: each page view and each poll of the thread refreshes the viewer's row."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from intercom_mirror.models import ConversationViewer

# The thread polls every 10 s: a teammate missing three polls in a row has gone.
PRESENT_FOR = timedelta(seconds=30)


def mark_viewing(user, conversation_id: str) -> None:
    """Record that the user has the conversation open now (one UPDATE, except the first time)."""
    now = timezone.now()
    viewer = ConversationViewer.objects.filter(user=user, conversation_intercom_id=conversation_id)
    if not viewer.update(seen_at=now):
        ConversationViewer.objects.update_or_create(
            user=user, conversation_intercom_id=conversation_id, defaults={"seen_at": now}
        )


def other_viewers(user, conversation_id: str) -> list[str]:
    """Return the names of the other staff users seen on the conversation in the last 30 s."""
    viewers = (
        ConversationViewer.objects.filter(
            conversation_intercom_id=conversation_id, seen_at__gte=timezone.now() - PRESENT_FOR
        )
        .exclude(user=user)
        .select_related("user")
        .order_by("user__username")
    )
    return [v.user.get_full_name() or v.user.get_username() for v in viewers]
