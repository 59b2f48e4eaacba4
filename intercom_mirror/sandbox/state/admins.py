"""Admins and teams: lookups, the token's owner, away mode, activity logs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..records import Admin, Team
from .base import SandboxError, WorkspaceBase, as_object, flag, lookup, missing


class AdminsMixin(WorkspaceBase):
    """Admins and teams: lookups, the token's owner, away mode, activity logs."""

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
        body = as_object(body)
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
