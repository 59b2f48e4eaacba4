"""The team page's reads: every admin and team with their open conversations, in a fixed number of queries.

Open conversations are counted in one grouped query (by assigned admin and team:
in v1 a conversation is assigned to one or the other). Each admin's oldest waiting
customer is a subquery of the admins' query, and those conversations are read
together with their customers in one more.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.utils import timezone

from dashboard.inbox.queries import ago
from intercom_mirror.models import Admin, Conversation, Team

ADMIN_COLUMNS = ("intercom_id", "name", "email", "away_mode_enabled", "away_mode_reassign")
OLDEST_COLUMNS = (
    "intercom_id", "subject", "waiting_since", "customer__intercom_id", "customer__name", "customer__email",
    "customer__pseudonym", "customer__user_id",
)  # fmt: skip


@dataclass
class Board:
    admins: list[Admin]
    teams: list[Team]
    unassigned: int = 0
    open_total: int = 0
    away: int = 0


def open_counts() -> tuple[dict[str, int], dict[str, int], int]:
    """Count open conversations by assigned admin and by assigned team in one grouped query; and the unassigned."""
    groups = (
        Conversation.objects.live()
        .filter(state=Conversation.OPEN)
        .values_list("assignee_admin_id", "assignee_team_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_admin: dict[str, int] = {}
    by_team: dict[str, int] = {}
    unassigned = 0
    for admin_id, team_id, n in groups:
        if admin_id:
            by_admin[admin_id] = by_admin.get(admin_id, 0) + n
        elif team_id:
            by_team[team_id] = by_team.get(team_id, 0) + n
        else:
            unassigned += n
    return by_admin, by_team, unassigned


def board() -> Board:
    """Return every live admin (open count, oldest waiting conversation) and team (members, open count)."""
    oldest = (
        Conversation.objects.live()
        .filter(assignee_admin_id=OuterRef("intercom_id"), state=Conversation.OPEN, waiting_since__isnull=False)
        .order_by("waiting_since", "id")
        .values("intercom_id")[:1]
    )
    admins = list(Admin.objects.live().only(*ADMIN_COLUMNS).annotate(oldest_id=Subquery(oldest)).order_by("name", "id"))
    members = Admin.objects.live().only("intercom_id", "name", "email", "away_mode_enabled").order_by("name", "id")
    teams = list(Team.objects.live().only("intercom_id", "name").prefetch_related(Prefetch("admins", queryset=members)))
    by_admin, by_team, unassigned = open_counts()
    waiting = oldest_conversations([a.oldest_id for a in admins if a.oldest_id])
    for admin in admins:
        admin.open_count = by_admin.get(admin.intercom_id, 0)
        admin.oldest = waiting.get(admin.oldest_id)
    teams_of: dict[str, list[str]] = {}
    for team in teams:
        team.open_count = by_team.get(team.intercom_id, 0)
        for member in team.admins.all():
            teams_of.setdefault(member.intercom_id, []).append(str(team))
    for admin in admins:
        admin.team_names = teams_of.get(admin.intercom_id, [])
    return Board(
        admins=admins,
        teams=teams,
        unassigned=unassigned,
        open_total=sum(by_admin.values()) + sum(by_team.values()) + unassigned,
        away=sum(1 for a in admins if a.away_mode_enabled),
    )


def oldest_conversations(ids: list[str]) -> dict[str, Conversation]:
    """Return the conversations (with their customers) by intercom id, in one query."""
    if not ids:
        return {}
    rows = Conversation.objects.filter(intercom_id__in=ids).select_related("customer").only(*OLDEST_COLUMNS)
    now = timezone.now()
    found = {c.intercom_id: c for c in rows}
    for row in found.values():
        row.waited = ago(row.waiting_since, now)
    return found
