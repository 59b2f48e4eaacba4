"""`GET /counts`: every count computed from the current state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from .base import WorkspaceBase, invalid


class CountsMixin(WorkspaceBase):
    """`GET /counts`: every count computed from the current state."""

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
